"""Group `ingest`: `cambios` first (did anything change since the last refresh?), then each source folder read
by content into a SourceResult, with its row accounting checks."""

import os
from collections.abc import Callable
from datetime import date, datetime, timezone

import dagster as dg
import pandas as pd

from cies_pipeline.assets.common import (FRESCURA_MEMO, CiesResource, preview, publication_key,
                                         source_metadata)
from cies_pipeline.memo import changed_inputs, input_files, inputs_record, memo_key, version_codigo
from cies_pipeline.quality import crosssource
from cies_pipeline.warehouse.resource import WarehouseResource
from cies_pipeline.sources.common import SourceResult
from cies_pipeline.sources.reference import read_reference_dir
from cies_pipeline.sources.sesnsp import metodologia_overlaps, read_sesnsp_dir
from cies_pipeline.sources.state_reports import read_state_reports

GROUP = "ingest"
CAMBIOS_KEY = dg.AssetKey([GROUP, "cambios"])
# Settings read from the environment by the steps (suppression threshold, freshness limits, Data Docs links):
# a change to any of them must run the refresh again
SETTINGS_ENV = ("CIES_UMBRAL_SUPRESION", "CIES_MAX_EDAD_SESNSP_DIAS", "CIES_MAX_EDAD_CIE_DIAS",
                "CIES_DATA_DOCS_URL", "CIES_DATA_DOCS_PORT")


@dg.asset(key=CAMBIOS_KEY, group_name=GROUP, output_required=False, kinds={"python"})
def cambios(context: dg.AssetExecutionContext, cies: CiesResource, warehouse: WarehouseResource):
    """¿Cambió algo desde el último refresco? Si no, nada más se ejecuta.

    The refresh's first step. It compares the input files with those of the last refresh (memo.changed_inputs:
    a file with the same size, mtime and inode is unchanged; a new file or one of another size has changed and
    is not hashed here, its reader hashes what it parses; only a file of the same size that was rewritten is
    hashed), and the rest the refresh depends on: the code and crosswalk versions, the warehouse, the
    reconciliation start, the settings in SETTINGS_ENV and the month the run evaluates (domain.md section 10).
    The freshness checks count days: on another day they are evaluated again here, from what that refresh's
    checks read (memo FRESCURA_MEMO). When nothing changed, that refresh succeeded, its load is still the
    warehouse's latest (`warehouse.cargas`) and the same inputs are stale today as on the day it evaluated,
    this step yields no output: Dagster then skips every step downstream (shown as skipped in the UI; this
    step's observation and log say why), and `warehouse.cargas` gets this run's row, a copy of that load's.
    Otherwise the refresh runs (the materialization's `decision` says why), and inside it each step still
    reuses what did not change (memo.py)."""
    cache = cies.cache()
    wh = warehouse.get()
    hoy = cies.today()
    files = input_files([cies.sesnsp_dir, cies.reference_dir, cies.inbox_dir])
    # all the rest the refresh depends on
    contexto = memo_key(version_codigo(), wh.url_sin_clave(), f"{hoy:%Y-%m}", cies.reconciliacion_desde,
                        {name: os.environ.get(name) for name in SETTINGS_ENV})
    last = cache.memo.get("refresco", "ultimo")
    # a new file, or one of another size, is not hashed here: its reader hashes what it parses
    changed = changed_inputs(files, last["archivos"], cache.hashes) if last and last["contexto"] == contexto \
        else None
    record = {"run_id": context.run_id, "contexto": contexto, "archivos": inputs_record(files, cache.hashes)}
    cache.save()   # the readers take these sha256 instead of hashing the files again
    previous = context.instance.get_run_by_id(last["run_id"]) if last else None
    # a whole `refresh` (not a run of a few assets) that succeeded ...
    succeeded = (changed == [] and previous is not None and previous.status == dg.DagsterRunStatus.SUCCESS
                 and previous.job_name == "refresh" and not previous.asset_selection)
    # the run whose freshness checks were evaluated (a skipped refresh points to the one it repeated)
    evaluated = (last.get("frescura_de") or last["run_id"]) if last else ""
    frescura = cache.memo.get(FRESCURA_MEMO, evaluated) if succeeded else None
    if frescura:
        limits = crosssource.limites_frescura()
        then = crosssource.vencidas(frescura["entradas"], date.fromisoformat(frescura["hoy"]), *limits)
        now = crosssource.vencidas(frescura["entradas"], hoy, *limits)
    # ... and whose load is still the warehouse's latest: then this run's row in warehouse.cargas is a copy of
    # that load's, checked and written in one connection (the warehouse is opened once on a skipped night)
    repeated = bool(frescura) and then == now and wh.repeat_load(
        last["run_id"], context.run_id, datetime.now(timezone.utc), only_if_latest=True)
    meta = {"huella": memo_key(record["contexto"], record["archivos"])[:16], "archivos": len(files)}
    if not repeated:
        same = succeeded and wh.latest_run_id() == last["run_id"]
        cache.memo.put("refresco", "ultimo", record)
        if changed:
            why = (f"{len(changed)} archivos de entrada nuevos, cambiados o quitados desde la corrida "
                   f"{last['run_id'][:8]}: {', '.join(changed[:5])}" + (" …" if len(changed) > 5 else ""))
        elif changed is None:
            why = ("primer refresco, o código, crosswalks, mes, ajustes, almacén o inicio de la reconciliación "
                   "distintos de los del último refresco")
        elif not same:
            why = "el último refresco no terminó bien, no fue completo o su carga ya no es la última del almacén"
        else:
            why = ("la antigüedad de las entradas cambió de veredicto desde el "
                   f"{frescura['hoy']}: {_stale_text(then)} entonces, {_stale_text(now)} al {hoy.isoformat()}"
                   if frescura else "no se encontró lo que leyeron las revisiones de frescura de ese refresco")
        yield dg.Output(meta, metadata={**meta, "decision": f"refrescar: {why}",
                                        "archivos_cambiados": len(changed or [])})
        return
    cache.memo.put("refresco", "ultimo", {**record, "frescura_de": evaluated})
    why = (f"sin cambios: mismos archivos de entrada (sha256), versión de código, crosswalks, almacén, ajustes y "
           f"mes que la corrida {last['run_id'][:8]}, que terminó bien y cuya carga sigue siendo la última del "
           f"almacén; la frescura evaluada al {hoy.isoformat()} da lo mismo que al {frescura['hoy']} "
           f"({_stale_text(now)}); no se recalculó ni se reescribió nada (warehouse.cargas registra esta corrida)")
    # the warehouse holds what that publish wrote: the next publish compares its tables with it still
    published_key = publication_key(wh.url_sin_clave(), cies)
    published = cache.memo.get("publicacion", published_key)
    if published and published["ultima_carga"] == last["run_id"]:
        cache.memo.put("publicacion", published_key, {**published, "ultima_carga": context.run_id})
    context.log.info(why)
    yield dg.AssetObservation(asset_key=CAMBIOS_KEY, metadata={**meta, "omitido": why,
                                                                "corrida_anterior": last["run_id"]})


def _stale_text(stale: dict) -> str:
    cie = f"{len(stale['cie'])} entidades CIE vencidas" + (f" ({', '.join(stale['cie'])})" if stale["cie"] else "")
    return f"{cie}, SESNSP {'vencido' if stale['sesnsp'] else 'al día'}"


def accounting_check(result: SourceResult) -> dg.AssetCheckResult:
    """Every row read is loaded, quarantined or excluded with a reason: a reader must never lose rows."""
    table = result.contabilidad()
    balance = table["leidas"] - table["cargadas"] - table["en_cuarentena"] - table["excluidas"]
    broken = table[balance != 0]
    return dg.AssetCheckResult(
        check_name="contabilidad_filas", passed=bool(broken.empty), severity=dg.AssetCheckSeverity.ERROR,
        metadata={"archivos_hojas": len(table), "descuadres": len(broken),
                  "leidas": int(table["leidas"].sum()), "cargadas": int(table["cargadas"].sum()),
                  "en_cuarentena": int(table["en_cuarentena"].sum()), "excluidas": int(table["excluidas"].sum()),
                  "detalle": preview(broken if len(broken) else table, limit=40)})


def listing_check(name: str, frame: pd.DataFrame, what: str) -> dg.AssetCheckResult:
    """A warning that lists what a person should look at (rejected files, quarantined cells, …)."""
    return dg.AssetCheckResult(check_name=name, passed=frame.empty, severity=dg.AssetCheckSeverity.WARN,
                               description=f"{len(frame)} {what}",
                               metadata={"filas": len(frame), "detalle": preview(frame, limit=40)})


def metodologias_check(result: SourceResult) -> dg.AssetCheckResult:
    """A 2015-2025 file and a RNID-2026 file publishing the same months would count them twice."""
    overlaps = metodologia_overlaps(result.publicaciones)
    return dg.AssetCheckResult(
        check_name="metodologias_sin_traslape", passed=bool(overlaps.empty), severity=dg.AssetCheckSeverity.ERROR,
        description=f"{len(overlaps)} meses publicados a la vez por un archivo 2015-2025 y uno RNID-2026",
        metadata={"meses_traslapados": len(overlaps), "detalle": preview(overlaps, limit=40)})


def _source_asset(name: str, description: str, read: Callable[[CiesResource], SourceResult],
                  kinds: set[str], extra_checks: tuple = ()) -> dg.AssetsDefinition:
    """`extra_checks`: (AssetCheckSpec keyword arguments, function of the result) for this source only."""
    key = dg.AssetKey([GROUP, name])
    checks = [*(dg.AssetCheckSpec(asset=key, **spec) for spec, _ in extra_checks),
        dg.AssetCheckSpec("contabilidad_filas", asset=key, blocking=True,
                          description="leídas = cargadas + en cuarentena + excluidas, por archivo y hoja"),
        dg.AssetCheckSpec("archivos_rechazados", asset=key, description="archivos u hojas ilegibles"),
        dg.AssetCheckSpec("cuarentena", asset=key, description="celdas que no pasaron la validación"),
        dg.AssetCheckSpec("columnas_rechazadas", asset=key,
                          description="datos personales rechazados y columnas ocultas o desconocidas"),
    ]

    @dg.asset(key=key, group_name=GROUP, description=description, kinds=kinds, check_specs=checks,
              deps=[CAMBIOS_KEY])
    def _asset(context: dg.AssetExecutionContext, cies: CiesResource):
        result = read(cies)
        yield dg.Output(result, metadata=source_metadata(result))
        yield accounting_check(result)
        yield listing_check("archivos_rechazados", result.table("rechazados"), "archivos u hojas rechazados")
        yield listing_check("cuarentena", result.table("cuarentena"), "celdas en cuarentena")
        yield listing_check("columnas_rechazadas", result.table("columnas_rechazadas"), "columnas rechazadas")
        for _, check in extra_checks:
            yield check(result)

    return _asset


reportes_cie = _source_asset(
    "reportes_cie", "Reportes de los CIE estatales en inbox/state_reports (xlsx o juegos de CSV), leídos por "
    "contenido.", lambda cies: read_state_reports(cies.inbox_dir, cies.today(), cache=cies.cache()), {"excel", "csv"})
sesnsp = _source_asset(
    "sesnsp", "Datos abiertos del SESNSP (2015-2025 y RNID-2026: delitos y víctimas, estatales y municipales): "
    "filas de trata.",
    lambda cies: read_sesnsp_dir(cies.sesnsp_dir, cache=cies.cache()), {"csv"},
    extra_checks=(({"name": "metodologias_sin_traslape", "blocking": True,
                    "description": "ningún mes lo publican a la vez un archivo 2015-2025 y uno RNID-2026"},
                   metodologias_check),))
referencia = _source_asset(
    "referencia", "Catálogo AGEEML de INEGI y población estatal de CONAPO.",
    lambda cies: read_reference_dir(cies.reference_dir, cache=cies.cache()), {"csv"})

ASSETS = [cambios, reportes_cie, sesnsp, referencia]
