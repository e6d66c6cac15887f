"""Group `harmonized`: crosswalks applied, facts of both sources in one shape, reconciliation, CIE status."""

from dataclasses import dataclass

import dagster as dg
import pandas as pd

from cies_pipeline import governance
from cies_pipeline.assets.ingest import CAMBIOS_KEY
from cies_pipeline.assets.common import CiesResource, freeze_checks, huella, preview, skip_reason, thaw_checks
from cies_pipeline.memo import memo_key, version_codigo
from cies_pipeline.assets.staging import suite_check, suite_spec
from cies_pipeline.harmonize.categories import dim_forma_explotacion
from cies_pipeline.harmonize.crosswalks import entidades
from cies_pipeline.harmonize.facts import (FACT_CATEGORICAL, Harmonized, concat_facts, harmonize_cie_carpetas, harmonize_cie_victimas,
                                           harmonize_sesnsp_carpetas, harmonize_sesnsp_victimas)
from cies_pipeline.harmonize.municipalities import build_dim_municipio
from cies_pipeline.harmonize.releases import latest_release
from cies_pipeline.indicators import indicadores as compute_indicadores
from cies_pipeline.reconcile import reconciliacion as reconcile

GROUP = "harmonized"


def _key(name: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, name])


def _staged(name: str) -> dg.AssetIn:
    return dg.AssetIn(key=dg.AssetKey(["staging", name]))


@dg.asset(key=_key("dim_municipio"), group_name=GROUP, kinds={"pandas"},
          ins={"municipios": _staged("municipios")},
          check_specs=[suite_spec(_key("dim_municipio"), "dim_municipio")])
def dim_municipio(cies: CiesResource, municipios: pd.DataFrame):
    """Municipios del catálogo AGEEML más los pseudo-municipios EE998/EE999 de cada entidad."""
    dim = build_dim_municipio(municipios)
    dim.attrs["huella"] = memo_key("dim_municipio", huella(municipios), version_codigo()) if huella(municipios) else ""
    check = suite_check(_key("dim_municipio"), "dim_municipio", dim, cies)  # the table warehouse.dim_municipio
    yield dg.Output(dim, metadata={"dagster/row_count": len(dim), "reales": int(dim["es_real"].sum()),
                                   "preview": preview(dim)})
    yield check


def _merge(parts: list[Harmonized]) -> Harmonized:
    frames = [p.frame for p in parts if len(p.frame)]
    sin_mapeo = [p.sin_mapeo for p in parts if len(p.sin_mapeo)]
    frame = concat_facts(frames) if frames else parts[0].frame
    for column in FACT_CATEGORICAL:
        if column in frame and len(frame) and not isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype("category")
    return Harmonized(frame=frame,
                      sin_mapeo=pd.concat(sin_mapeo, ignore_index=True) if sin_mapeo else parts[0].sin_mapeo)


def _unmapped_check(asset: dg.AssetKey, sin_mapeo: pd.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset, check_name="etiquetas_sin_mapeo", passed=sin_mapeo.empty,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(sin_mapeo)} etiquetas que ningún crosswalk conoce (sus filas se cargan)",
        metadata={"etiquetas": len(sin_mapeo),
                  "filas": int(sin_mapeo["filas"].sum()) if len(sin_mapeo) else 0,
                  "detalle": preview(sin_mapeo, limit=40)})


def _fact_metadata(h: Harmonized, measure: str) -> dict:
    """Rows per source, and each source's total at the level it reports fully (CIE municipal, SESNSP
    estatal). Masks over the columns, not filtered copies of the frame (336,000 rows at national scale)."""
    f = h.frame
    meta = {"dagster/row_count": len(f), "etiquetas_sin_mapeo": len(h.sin_mapeo), "preview": preview(f)}
    if not len(f):
        return {**meta, "filas_cie": 0, "filas_sesnsp": 0}
    fuente, nivel = f["fuente"], f["nivel"]
    values = pd.to_numeric(f[measure])
    for source, level in (("CIE", "municipal"), ("SESNSP", "estatal")):
        rows = (fuente == source).to_numpy()
        meta[f"filas_{source.lower()}"] = int(rows.sum())
        if rows.any():
            meta[f"{measure}_{source.lower()}_nivel_{level}"] = int(values[rows & (nivel == level).to_numpy()].sum())
    return meta


def _fact_asset(name: str, measure: str, harmonize_cie, harmonize_sesnsp, description: str) -> dg.AssetsDefinition:
    """One fact of both sources: CIE rows (municipality resolved) and SESNSP rows (latest release), with the
    fact's GX suite and the labels no crosswalk knows. With the same inputs (their fingerprints), code,
    crosswalks and month as a past run, that run's result and check results are reused."""
    key = _key(name)
    suite = f"fact_{name}"

    @dg.asset(key=key, group_name=GROUP, kinds={"pandas"}, description=description,
              ins={"cie": _staged(f"cie_{measure}"), "estatal": _staged(f"sesnsp_{measure}_estatal"),
                   "municipal": _staged(f"sesnsp_{measure}_municipal"), "dim": dg.AssetIn(key=_key("dim_municipio"))},
              check_specs=[suite_spec(key, suite), dg.AssetCheckSpec("etiquetas_sin_mapeo", asset=key)])
    def _asset(context: dg.AssetExecutionContext, cies: CiesResource, cie: pd.DataFrame, estatal: pd.DataFrame,
               municipal: pd.DataFrame, dim: pd.DataFrame):
        inputs = [huella(v) for v in (cie, estatal, municipal, dim)]
        memo_name = f"harmonized/{name}"
        fingerprint = memo_key(memo_name, inputs, version_codigo(), f"{cies.today():%Y-%m}") if all(inputs) else ""
        cache = cies.cache()
        stored = cache.memo.get(memo_name, fingerprint) if fingerprint else None
        if stored:
            why = skip_reason(fingerprint, stored["run_id"])
            context.log.info(f"{name}: {why}")
            h = stored["value"]
            yield dg.Output(h, metadata={**_fact_metadata(h, measure), "omitido": why})
            yield from thaw_checks(stored["checks"], why)
            return
        h = _merge([harmonize_cie(cie, dim), harmonize_sesnsp(latest_release(estatal), latest_release(municipal))])
        h.huella = fingerprint
        # the suite's result travels with h.frame: the publish step reports it instead of validating again
        checks = [suite_check(key, suite, h.frame, cies), _unmapped_check(key, h.sin_mapeo)]
        yield dg.Output(h, metadata=_fact_metadata(h, measure))
        yield from checks
        if fingerprint:
            cache.memo.put(memo_name, fingerprint, {"run_id": context.run_id, "value": h,
                                                    "checks": freeze_checks(checks)})

    return _asset


carpetas_trata = _fact_asset(
    "carpetas_trata", "carpetas", harmonize_cie_carpetas, harmonize_sesnsp_carpetas,
    "Carpetas de trata de ambas fuentes en un solo formato (municipio resuelto, última publicación SESNSP).")
victimas_trata = _fact_asset(
    "victimas_trata", "victimas", harmonize_cie_victimas, harmonize_sesnsp_victimas,
    "Víctimas de trata de ambas fuentes, con forma de explotación, sexo, edad y nacionalidad canónicos.")


# the three tables of the reconciliation, each validated by the suite of its warehouse table (same name)
_RECONCILIACION = ("reconciliacion", "reconciliacion_municipal", "reconciliacion_forma")


@dg.asset(key=_key("reconciliacion"), group_name=GROUP, kinds={"pandas"},
          ins={"carpetas": dg.AssetIn(key=_key("carpetas_trata")),
               "victimas": dg.AssetIn(key=_key("victimas_trata"))},
          check_specs=[suite_spec(_key("reconciliacion"), suite) for suite in _RECONCILIACION])
def reconciliacion(cies: CiesResource, carpetas: Harmonized, victimas: Harmonized):
    """CIE contra SESNSP por entidad, municipio y forma de explotación (domain.md sección 5)."""
    tables = reconcile(carpetas.frame, victimas.frame, cies.reconciliacion_desde)
    checks = [suite_check(_key("reconciliacion"), suite, tables[suite], cies) for suite in _RECONCILIACION]
    estatal = tables["reconciliacion"]
    counts = estatal["estatus"].value_counts().to_dict() if len(estatal) else {}
    yield dg.Output(tables, metadata={
        "dagster/row_count": len(estatal), "filas_municipal": len(tables["reconciliacion_municipal"]),
        "filas_forma": len(tables["reconciliacion_forma"]),
        **{f"estatus_{k}": int(v) for k, v in counts.items()},
        "discrepancias": preview(estatal[estatal["estatus"] == "discrepa"] if len(estatal) else estatal, 20)})
    yield from checks


_DIMENSIONES = _key("dimensiones")
DIMENSION_TABLES = {"warehouse.dim_entidad": "dim_entidad", "warehouse.dim_forma_explotacion": "dim_forma_explotacion"}


@dg.asset(key=_DIMENSIONES, group_name=GROUP, kinds={"pandas"}, deps=[CAMBIOS_KEY],
          check_specs=[suite_spec(_DIMENSIONES, suite) for suite in DIMENSION_TABLES.values()])
def dimensiones(cies: CiesResource):
    """Entidades y formas de explotación de los crosswalks: las dimensiones que no vienen de un archivo."""
    tables = {"warehouse.dim_entidad": entidades(), "warehouse.dim_forma_explotacion": dim_forma_explotacion()}
    checks = [suite_check(_DIMENSIONES, DIMENSION_TABLES[name], frame, cies) for name, frame in tables.items()]
    yield dg.Output(tables, metadata={f"filas_{name.split('.')[1]}": len(f) for name, f in tables.items()})
    yield from checks


@dataclass
class Gobernanza:
    cie_estatus: pd.DataFrame
    cie_acuerdos: pd.DataFrame


@dg.asset(key=_key("gobernanza_cie"), group_name=GROUP, kinds={"pandas"},
          ins={"comite": _staged("cie_comite"), "acuerdos": _staged("cie_acuerdos"),
               "carpetas": _staged("cie_carpetas"), "victimas": _staged("cie_victimas")},
          check_specs=[suite_spec(_key("gobernanza_cie"), "cie_estatus")])
def gobernanza_cie(cies: CiesResource, comite: pd.DataFrame, acuerdos: pd.DataFrame, carpetas: pd.DataFrame,
                   victimas: pd.DataFrame):
    """Estatus de cada CIE (siempre 32 entidades) y sus acuerdos: los compromisos de 2023. The agreements are
    the staged table itself, validated in staging by the same suite as warehouse.cie_acuerdos."""
    estatus = governance.cie_estatus(comite, acuerdos, [carpetas, victimas])
    check = suite_check(_key("gobernanza_cie"), "cie_estatus", estatus, cies)
    value = Gobernanza(cie_estatus=estatus, cie_acuerdos=acuerdos)
    yield dg.Output(value, metadata={
        "dagster/row_count": len(estatus),
        "instalados": int(estatus["instalado"].fillna(False).sum()),
        "sin_informacion": int(estatus["instalado"].isna().sum()),
        "acuerdos": len(acuerdos), "preview": preview(estatus, 32)})
    yield check


@dg.asset(key=_key("indicadores"), group_name=GROUP, kinds={"pandas"},
          ins={"carpetas": dg.AssetIn(key=_key("carpetas_trata")),
               "victimas": dg.AssetIn(key=_key("victimas_trata")),
               "poblacion_estatal": _staged("poblacion_estatal"),
               "poblacion_municipal": _staged("poblacion_municipal")})
def indicadores(carpetas: Harmonized, victimas: Harmonized, poblacion_estatal: pd.DataFrame,
                poblacion_municipal: pd.DataFrame) -> dg.Output:
    """Carpetas y víctimas por 100,000 habitantes, por entidad y año y por municipio y año, de cada fuente."""
    frame = compute_indicadores(carpetas.frame, victimas.frame, poblacion_estatal, poblacion_municipal)
    sin_poblacion = frame[frame["poblacion"].isna()] if len(frame) else frame
    return dg.Output({"warehouse.indicadores": frame}, metadata={
        "dagster/row_count": len(frame),
        "filas_sin_poblacion": len(sin_poblacion),
        "anios": ", ".join(str(a) for a in sorted(frame["anio"].unique())) if len(frame) else "",
        "preview": preview(frame[frame["nivel"] == "estatal"] if len(frame) else frame, 20)})


ASSETS = [dim_municipio, dimensiones, carpetas_trata, victimas_trata, reconciliacion, gobernanza_cie, indicadores]
