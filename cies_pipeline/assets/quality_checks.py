"""Checks across sources and time (quality.crosssource) as Dagster asset checks, the coverage table
`quality.cobertura` (published with the warehouse), and the suites run on every table inside the publish step.

Severity, deliberately: everything here is WARN (a person should look: SESNSP's own files disagree at times,
a state is late, a figure jumps) except the blocking GX suites of the published tables (ERROR: bad data would
corrupt the warehouse; the publish step then writes nothing).
"""
from __future__ import annotations

import dagster as dg
import pandas as pd

from cies_pipeline.assets.common import FRESCURA_MEMO, CiesResource, preview
from cies_pipeline.assets.harmonized import Gobernanza
from cies_pipeline.assets.staging import outcome_metadata, suite_check, suite_spec
from cies_pipeline.harmonize.facts import Harmonized
from cies_pipeline.quality import crosssource
from cies_pipeline.quality.crosssource import MAX_EDAD_CIE_DIAS, MAX_EDAD_SESNSP_DIAS
from cies_pipeline.quality.gx import build_data_docs, validate_frame
from cies_pipeline.quality.suites import SUITES, TABLE_SUITES
from cies_pipeline.sources.common import SourceResult

WARN = dg.AssetCheckSeverity.WARN


def _key(*parts: str) -> dg.AssetKey:
    return dg.AssetKey(list(parts))


def _listing(asset: dg.AssetKey, name: str, frame: pd.DataFrame, description: str, **extra) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(asset_key=asset, check_name=name, passed=frame.empty, severity=WARN,
                               description=description,
                               metadata={"filas": len(frame), "detalle": preview(frame, limit=40), **extra})


# -- SESNSP against itself ------------------------------------------------------------------------------------
_ESTATAL = _key("staging", "sesnsp_carpetas_estatal")
_MUNICIPAL = _key("staging", "sesnsp_carpetas_municipal")


@dg.multi_asset_check(
    name="cruce_sesnsp_municipal_estatal",
    specs=[dg.AssetCheckSpec("municipal_vs_estatal", asset=_ESTATAL, additional_deps=[_MUNICIPAL],
                             description="WARN: carpetas de trata del archivo municipal sumadas por entidad contra "
                             "el archivo estatal (el SESNSP a veces no cuadra consigo mismo)")],
    ins={"estatal": dg.AssetIn(key=_ESTATAL),
         "municipal": dg.AssetIn(key=_MUNICIPAL)})
def cruce_sesnsp_municipal_estatal(estatal: pd.DataFrame, municipal: pd.DataFrame):
    """Suma municipal del SESNSP por entidad y mes contra su archivo estatal."""
    diff = crosssource.sesnsp_municipal_vs_estatal(estatal, municipal)
    yield _listing(_ESTATAL, "municipal_vs_estatal", diff,
                   f"{len(diff)} entidad-mes donde la suma municipal del SESNSP no es la cifra estatal "
                   "(diferencia = municipal - estatal)",
                   diferencia_absoluta=int(diff["diferencia"].abs().sum()) if len(diff) else 0)


# -- the state reports: totals rows, freshness; SESNSP freshness -----------------------------------------------
_REPORTES = _key("ingest", "reportes_cie")
_SESNSP = _key("ingest", "sesnsp")


@dg.multi_asset_check(
    name="revision_entradas",
    specs=[dg.AssetCheckSpec("totales_cie", asset=_REPORTES,
                             description="WARN: filas TOTAL de los reportes CIE que no son la suma de sus filas"),
           dg.AssetCheckSpec("frescura_cie", asset=_REPORTES,
                             description="WARN: entidades cuyo último periodo reportado terminó hace más de "
                             f"CIES_MAX_EDAD_CIE_DIAS días (por omisión {MAX_EDAD_CIE_DIAS})"),
           dg.AssetCheckSpec("frescura_sesnsp", asset=_SESNSP,
                             description="WARN: el último corte del SESNSP tiene más de CIES_MAX_EDAD_SESNSP_DIAS "
                             f"días (por omisión {MAX_EDAD_SESNSP_DIAS})")],
    ins={"reportes": dg.AssetIn(key=_REPORTES), "sesnsp": dg.AssetIn(key=_SESNSP)})
def revision_entradas(context, cies: CiesResource, reportes: SourceResult, sesnsp: SourceResult):
    """Totales escritos por los CIE y antigüedad de las entradas, evaluada en el 'hoy' de la corrida.

    What the freshness checks read is remembered for this run (memo "frescura"): on another day of the month
    with nothing changed, ingest/cambios evaluates freshness again from it and skips the refresh only if the
    same inputs are stale."""
    hoy = cies.today()
    max_cie, max_sesnsp = crosssource.limites_frescura()
    totales = crosssource.totales_discrepantes(reportes.totales)
    yield _listing(_REPORTES, "totales_cie", totales,
                   f"{len(totales)} de {len(reportes.totales)} filas de total no coinciden con la suma de las "
                   "filas de arriba (la fila de total nunca se carga)", filas_total_revisadas=len(reportes.totales))

    periodos = pd.concat([f[["cve_ent", "periodo"]] for k, f in reportes.frames.items()
                          if k in ("carpetas", "victimas") and len(f)]
                         or [pd.DataFrame(columns=["cve_ent", "periodo"])])
    stale = crosssource.cie_vencidos(periodos, hoy, max_cie)
    yield _listing(_REPORTES, "frescura_cie", stale,
                   f"{len(stale)} entidades cuyo último periodo terminó hace más de {max_cie} días "
                   f"(evaluado al {hoy.isoformat()})", hoy=hoy.isoformat(), max_dias=max_cie,
                   entidades_con_reporte=int(periodos["cve_ent"].nunique()))

    cortes = pd.concat([f["corte"] for f in sesnsp.frames.values() if len(f) and "corte" in f]
                       or [pd.Series(dtype="datetime64[ns]")])
    old = crosssource.sesnsp_vencido(cortes, hoy, max_sesnsp)
    yield _listing(_SESNSP, "frescura_sesnsp", old,
                   "el último corte del SESNSP tiene más de "
                   f"{max_sesnsp} días (evaluado al {hoy.isoformat()})" if len(old) else
                   f"el último corte del SESNSP tiene a lo más {max_sesnsp} días", hoy=hoy.isoformat(),
                   max_dias=max_sesnsp)
    cies.cache().memo.put(FRESCURA_MEMO, context.run.run_id, {
        "hoy": hoy.isoformat(), "entradas": crosssource.entradas_frescura(periodos, cortes)})


# -- month-over-month jumps --------------------------------------------------------------------------------------
_CARPETAS = _key("harmonized", "carpetas_trata")
_VICTIMAS = _key("harmonized", "victimas_trata")
_SALTO_REGLA = (f"más de {crosssource.SALTO_FACTOR} veces la mediana de los {crosssource.SALTO_VENTANA_MESES} "
                f"meses anteriores de la entidad (al menos {crosssource.SALTO_MINIMO_MESES} con cifra) y al "
                f"menos {crosssource.SALTO_MARGEN} por encima de ella")


@dg.multi_asset_check(
    name="saltos_mensuales",
    specs=[dg.AssetCheckSpec("saltos", asset=_CARPETAS, description=f"WARN: meses con un salto: {_SALTO_REGLA}"),
           dg.AssetCheckSpec("saltos", asset=_VICTIMAS, description=f"WARN: meses con un salto: {_SALTO_REGLA}")],
    ins={"carpetas": dg.AssetIn(key=_CARPETAS), "victimas": dg.AssetIn(key=_VICTIMAS)})
def saltos_mensuales(carpetas: Harmonized, victimas: Harmonized):
    """Saltos de un mes a otro en las cifras estatales de cada fuente (domain.md sección 10)."""
    for key, h, medida in ((_CARPETAS, carpetas, "carpetas"), (_VICTIMAS, victimas, "victimas")):
        found = crosssource.saltos(crosssource.serie_estatal(h.frame, medida))
        yield _listing(key, "saltos", found, f"{len(found)} meses con un salto ({_SALTO_REGLA})")


# -- coverage ----------------------------------------------------------------------------------------------------
_COBERTURA = _key("harmonized", "cobertura")


@dg.asset(key=_COBERTURA, group_name="harmonized", kinds={"pandas"},
          ins={"carpetas": dg.AssetIn(key=_CARPETAS), "victimas": dg.AssetIn(key=_VICTIMAS),
               "gobernanza": dg.AssetIn(key=_key("harmonized", "gobernanza_cie"))},
          check_specs=[dg.AssetCheckSpec("faltantes_ultimo_mes", asset=_COBERTURA,
                                         description="WARN: entidades sin reporte CIE del último mes cerrado "
                                         "(el anterior al mes en curso), si el SESNSP ya lo publicó"),
                       suite_spec(_COBERTURA, "quality_cobertura")])
def cobertura(cies: CiesResource, carpetas: Harmonized, victimas: Harmonized, gobernanza: Gobernanza):
    """Por entidad y mes reconciliado: ¿reportó el CIE (con o sin cifras), publicó el SESNSP, está instalado?"""
    frame = crosssource.cobertura(carpetas.frame, victimas.frame, gobernanza.cie_estatus, cies.reconciliacion_desde)
    check = suite_check(_COBERTURA, "quality_cobertura", frame, cies)  # the table quality.cobertura
    estados = frame["estado_cie"].value_counts().to_dict() if len(frame) else {}
    yield dg.Output({"quality.cobertura": frame}, metadata={
        "dagster/row_count": len(frame), **{f"estado_{k}": int(v) for k, v in estados.items()},
        "preview": preview(frame)})
    month, missing = crosssource.faltantes_ultimo_mes(frame, cies.today())
    if missing is None:
        yield dg.AssetCheckResult(
            check_name="faltantes_ultimo_mes", passed=True, severity=WARN,
            description=f"{month:%Y-%m} está fuera del rango del SESNSP: todavía no hay con qué comparar",
            metadata={"mes": f"{month:%Y-%m}"})
    else:
        yield dg.AssetCheckResult(
            check_name="faltantes_ultimo_mes", passed=missing.empty, severity=WARN,
            description=f"{len(missing)} entidades no reportaron {month:%Y-%m}",
            metadata={"mes": f"{month:%Y-%m}", "entidades": len(missing),
                      "detalle": preview(missing, limit=32)})
    yield check


# -- the quality tables of a refresh --------------------------------------------------------------------------------
_TABLAS_CALIDAD = _key("harmonized", "tablas_calidad")
QUALITY_TABLES = ("quality.cuarentena", "quality.archivos_rechazados", "quality.columnas_rechazadas",
                   "quality.filas_excluidas", "quality.contabilidad_filas", "quality.etiquetas_sin_mapeo")


def _records(results: list[SourceResult], name: str) -> pd.DataFrame:
    frames = [r.table(name) for r in results]
    return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)


def quality_tables(results: list[SourceResult], sin_mapeo: list[pd.DataFrame]) -> dict[str, pd.DataFrame]:
    contabilidad = [r.contabilidad() for r in results]
    unmapped = [f for f in sin_mapeo if len(f)]
    return {
        "quality.cuarentena": _records(results, "cuarentena"),
        "quality.archivos_rechazados": _records(results, "rechazados"),
        "quality.columnas_rechazadas": _records(results, "columnas_rechazadas"),
        "quality.filas_excluidas": _records(results, "excluidas"),
        "quality.contabilidad_filas": pd.concat(contabilidad, ignore_index=True),
        "quality.etiquetas_sin_mapeo": pd.concat(unmapped, ignore_index=True) if unmapped
        else pd.DataFrame(columns=["archivo_origen", "columna", "etiqueta", "filas"]),
    }


@dg.asset(key=_TABLAS_CALIDAD, group_name="harmonized", kinds={"pandas"},
          ins={"reportes": dg.AssetIn(key=_REPORTES), "sesnsp": dg.AssetIn(key=_SESNSP),
               "referencia": dg.AssetIn(key=_key("ingest", "referencia")),
               "carpetas": dg.AssetIn(key=_CARPETAS), "victimas": dg.AssetIn(key=_VICTIMAS)},
          check_specs=[suite_spec(_TABLAS_CALIDAD, TABLE_SUITES[t]) for t in QUALITY_TABLES if t in TABLE_SUITES])
def tablas_calidad(cies: CiesResource, reportes: SourceResult, sesnsp: SourceResult, referencia: SourceResult,
                   carpetas: Harmonized, victimas: Harmonized):
    """Las tablas del esquema quality de este refresco (cuarentena, rechazos, exclusiones, contabilidad de filas,
    etiquetas sin mapeo), cada una con la suite de su tabla."""
    tables = quality_tables([reportes, sesnsp, referencia], [carpetas.sin_mapeo, victimas.sin_mapeo])
    checks = [suite_check(_TABLAS_CALIDAD, TABLE_SUITES[name], frame, cies)
              for name, frame in tables.items() if name in TABLE_SUITES]
    yield dg.Output(tables, metadata={f"filas_{name.split('.')[1]}": len(f) for name, f in tables.items()})
    yield from checks


# -- the published tables' suites (run by assets/warehouse.py before anything is written) -----------------------
def table_suite_specs(tables: list[str]) -> list[dg.AssetCheckSpec]:
    """`gx_<table>` on each published table that has a suite (TABLE_SUITES)."""
    specs = []
    for qualified in tables:
        suite = TABLE_SUITES.get(qualified)
        if suite:
            schema, name = qualified.split(".", 1)
            specs.append(dg.AssetCheckSpec(f"gx_{name}", asset=_key(schema, name), blocking=SUITES[suite].blocking,
                                           description=SUITES[suite].description))
    return specs


def validate_tables(frames: dict[str, pd.DataFrame], tables: list[str], cies: CiesResource,
                    huellas: dict[str, str] | None = None) -> tuple[list[dg.AssetCheckResult], list[str]]:
    """Validate each table of `tables` that has a suite; (check results, tables whose blocking suite failed).
    A table declared but missing from `frames` fails its check (it would not be published). `huellas`: the
    tables' content hashes, when the caller has them (GX records them instead of hashing each table)."""
    results, blocking_failed = [], []
    outcomes = {}
    for qualified in tables:
        suite = TABLE_SUITES.get(qualified)
        if suite and qualified in frames:
            outcomes[qualified] = validate_frame(frames[qualified], suite, cies.today(), cies.gx_dir,
                                                 data_docs=False, fingerprint=(huellas or {}).get(qualified))
    if outcomes:
        build_data_docs(cies.gx_dir)  # every page exists before a link to it is shown
    for qualified in tables:
        suite = TABLE_SUITES.get(qualified)
        if not suite:
            continue
        schema, name = qualified.split(".", 1)
        blocking = SUITES[suite].blocking
        severity = dg.AssetCheckSeverity.ERROR if blocking else WARN
        if qualified not in outcomes:
            results.append(dg.AssetCheckResult(asset_key=_key(schema, name), check_name=f"gx_{name}",
                                               passed=False, severity=severity,
                                               description=f"{qualified}: ninguna tabla recibida para publicar"))
            if blocking:
                blocking_failed.append(qualified)
            continue
        outcome = outcomes[qualified]
        if not outcome.success and blocking:
            blocking_failed.append(qualified)
        results.append(dg.AssetCheckResult(asset_key=_key(schema, name), check_name=f"gx_{name}",
                                           passed=bool(outcome.success), severity=severity,
                                           metadata=outcome_metadata(outcome, cies)))
    return results, blocking_failed


ASSETS = [cruce_sesnsp_municipal_estatal, revision_entradas, saltos_mensuales, cobertura, tablas_calidad]
