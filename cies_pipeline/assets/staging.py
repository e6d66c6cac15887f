"""Group `staging`: one asset per staged frame (canonical columns + lineage), each checked by its GX suite."""

import dagster as dg
import pandas as pd

from cies_pipeline.assets.common import CiesResource, freeze_checks, preview, skip_reason, thaw_checks
from cies_pipeline.memo import Memo, memo_key, table_fingerprint, version_codigo
from cies_pipeline.quality.gx import build_data_docs, validate_frame
from cies_pipeline.quality.data_docs import page_url
from cies_pipeline.quality.suites import SUITES
from cies_pipeline.sources.common import SourceResult

GROUP = "staging"


def suite_check(asset: dg.AssetKey, suite: str, frame: pd.DataFrame, cies: CiesResource) -> dg.AssetCheckResult:
    """Run a GX suite on a frame and report it as this asset's check (ERROR if the suite is blocking).

    Content-addressed: the same table (content hash), suite, code version and month as an earlier validation
    reuses that result, saying so (`omitido`). The result also travels with the frame (`mark_validated`): when
    the very same table reaches the publish step, its result is reported there instead of validating twice."""
    fingerprint = table_fingerprint(frame)
    memo, name = Memo(cies.cache_dir / "memo"), f"suite/{'/'.join(asset.path)}/{suite}"
    key = memo_key(name, fingerprint, version_codigo(), f"{cies.today():%Y-%m}") if fingerprint else ""
    stored = memo.get(name, key) if key else None
    if stored:
        why = (f"sin cambio: la misma tabla (huella de contenido {fingerprint[:12]}), suite, versión de código "
               "y mes ya se validaron; se reporta ese resultado sin validar de nuevo")
        check = thaw_checks([stored], why)[0]
        mark_validated(frame, suite, stored, fingerprint)
        return check
    # Data Docs are rendered once per run (reports/data_docs, after the publish) and right away for a failing
    # suite, so the engineer can go from the failed check to its page; rendering each validation costs ~0.4 s.
    outcome = validate_frame(frame, suite, cies.today(), cies.gx_dir, data_docs=False,
                             fingerprint=fingerprint)
    if not outcome.success:
        outcome.data_docs = build_data_docs(cies.gx_dir)
    severity = dg.AssetCheckSeverity.ERROR if SUITES[suite].blocking else dg.AssetCheckSeverity.WARN
    check = dg.AssetCheckResult(asset_key=asset, check_name=f"gx_{suite}", passed=bool(outcome.success),
                                severity=severity, metadata=outcome_metadata(outcome, cies))
    frozen = freeze_checks([check])[0]
    mark_validated(frame, suite, frozen, fingerprint)
    if key:
        memo.put(name, key, frozen)
    return check


def mark_validated(frame: pd.DataFrame, suite: str, frozen: dict, fingerprint: str | None = None) -> None:
    """Remember on the frame (its attrs, pickled with it) which suite validated it, with what result, and the
    content hash it had then: a later step may reuse the result only for a table with that same hash."""
    frame.attrs["validacion"] = {"suite": suite, "check": frozen,
                                 "huella": table_fingerprint(frame) if fingerprint is None else fingerprint}


def validation_of(frame: pd.DataFrame, suite: str, fingerprint: str) -> dict | None:
    """The frozen result of `suite` on this frame, if it was validated with exactly this content."""
    found = frame.attrs.get("validacion") if isinstance(frame, pd.DataFrame) else None
    if found and fingerprint and found["suite"] == suite and found["huella"] == fingerprint:
        return found["check"]
    return None


def outcome_metadata(outcome, cies: CiesResource) -> dict:
    """A suite outcome's metadata, with its Data Docs page as a path and as an http link (file:// links are
    blocked by browsers in the UI; `cies-pipeline ui` serves the site on loopback)."""
    meta = outcome.metadata()
    if outcome.data_docs:
        meta["data_docs"] = dg.MetadataValue.path(outcome.data_docs)
        url = page_url(outcome.data_docs, cies.gx_dir)
        if url:
            meta["data_docs_url"] = dg.MetadataValue.url(url)
    return meta


def suite_spec(asset: dg.AssetKey, suite: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(f"gx_{suite}", asset=asset, blocking=SUITES[suite].blocking,
                             description=SUITES[suite].description)


def _staging(source: str, frames: dict[str, tuple[str, str | None, str]]) -> dg.AssetsDefinition:
    """frames: output name -> (SourceResult frame kind, GX suite or None, description)."""
    keys = {name: dg.AssetKey([GROUP, name]) for name in frames}
    outs = {name: dg.AssetOut(key=keys[name], description=desc, kinds={"pandas"}, group_name=GROUP,
                              is_required=True)
            for name, (_, _, desc) in frames.items()}
    checks = [suite_spec(keys[name], suite) for name, (_, suite, _) in frames.items() if suite]

    @dg.multi_asset(name=f"staging_{source}", outs=outs, check_specs=checks,
                    ins={"result": dg.AssetIn(key=dg.AssetKey(["ingest", source]))})
    def _assets(context: dg.AssetExecutionContext, cies: CiesResource, result: SourceResult):
        # The suites depend on the frames, the code and the month (`today` sets the date limits): with the
        # same fingerprint as a past run, its check results are reused instead of validating again.
        cache = cies.cache()
        key = memo_key("staging", source, result.huella, version_codigo(), f"{cies.today():%Y-%m}") \
            if result.huella else ""
        stored = cache.memo.get(f"staging/{source}", key) if key else None
        checks = []
        for name, (kind, suite, _) in frames.items():
            frame = result.frames.get(kind, pd.DataFrame())
            frame.attrs["huella"] = memo_key(result.huella, name) if result.huella else ""
            meta = {"dagster/row_count": len(frame), "preview": preview(frame)}
            if "archivo_origen" in frame:
                meta["archivos"] = int(frame["archivo_origen"].nunique())
            if stored:
                meta["omitido"] = skip_reason(key, stored["run_id"])
                for frozen in stored["checks"]:
                    if suite and frozen["asset"] == list(keys[name].path):
                        mark_validated(frame, suite, frozen)
            elif suite:   # before the output is stored, so that the result travels with the frame
                checks.append(suite_check(keys[name], suite, frame, cies))
            yield dg.Output(frame, output_name=name, metadata=meta)
            if suite and not stored:
                yield checks[-1]
        if stored:
            context.log.info(f"staging_{source}: {skip_reason(key, stored['run_id'])}")
            yield from thaw_checks(stored["checks"], skip_reason(key, stored["run_id"]))
        elif key:
            cache.memo.put(f"staging/{source}", key, {"run_id": context.run_id, "checks": freeze_checks(checks)})

    return _assets


staging_cie = _staging("reportes_cie", {
    "cie_carpetas": ("carpetas", "cie_carpetas", "Carpetas de trata reportadas por los CIE, una fila por fila "
                     "del reporte."),
    "cie_victimas": ("victimas", "cie_victimas", "Víctimas de trata reportadas por los CIE, con etiquetas tal "
                     "como se escribieron."),
    "cie_comite": ("comite", "cie_comite", "Instalación, sesiones y SINTRA de cada CIE."),
    "cie_acuerdos": ("acuerdos", "cie_acuerdos", "Acuerdos de los CIE y su estatus."),
})
staging_sesnsp = _staging("sesnsp", {
    "sesnsp_carpetas_estatal": ("sesnsp_carpetas_estatal", "sesnsp_carpetas_estatal",
                                "Carpetas de trata por entidad y mes (SESNSP, formato largo)."),
    "sesnsp_victimas_estatal": ("sesnsp_victimas_estatal", "sesnsp_victimas_estatal",
                                "Víctimas de trata por entidad, mes, sexo y edad (SESNSP)."),
    "sesnsp_carpetas_municipal": ("sesnsp_carpetas_municipal", "sesnsp_carpetas_municipal",
                                  "Carpetas de trata por municipio y mes (SESNSP)."),
    "sesnsp_victimas_municipal": ("sesnsp_victimas_municipal", "sesnsp_victimas_municipal",
                                  "Víctimas de trata por municipio, mes, sexo y edad (SESNSP, desde 2026)."),
})
staging_referencia = _staging("referencia", {
    "municipios": ("municipios", "ageeml", "Catálogo de municipios AGEEML (INEGI)."),
    "poblacion_estatal": ("poblacion_estatal", "poblacion_estatal", "Población a mitad de año por entidad (CONAPO)."),
    "poblacion_municipal": ("poblacion_municipal", "poblacion_municipal",
                            "Población a mitad de año por municipio (CONAPO, proyecciones municipales)."),
})

ASSETS = [staging_cie, staging_sesnsp, staging_referencia]
