"""The full refresh job and its nightly schedule; the partition jobs (a state's report, a SESNSP year); the
sensor on the state-report inbox, and the sensor that follows a partition run with the national refresh."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from cies_pipeline.assets.common import CiesResource
from cies_pipeline.assets.partitions import (GROUP as PARTICIONES, REPORTE_ESTADO_KEY, SESNSP_ANUAL_KEY,
                                             estados_por_archivo)
from cies_pipeline.settings import TIMEZONE
from cies_pipeline.sources.common import sha256_of
from cies_pipeline.sources.state_reports import read_state_reports

# DuckDB allows one writer process at a time: run every step of a refresh in one process. A job cannot mix
# partitions definitions: the full refresh is unpartitioned, the partitioned assets have jobs of their own.
refresh_job = dg.define_asset_job(
    "refresh", selection=dg.AssetSelection.all() - dg.AssetSelection.groups(PARTICIONES),
    executor_def=dg.in_process_executor,
    # The queued run coordinator of a shared instance (docs/dagster.postgres.yaml) allows one run per tag.
    tags={"cies/refresco": "completo"},
    description="Refresco completo: ingesta, staging, armonización, reconciliación y publicación.")

# A new report from one state refreshes that state's partition (then the national tables, by the sensor below).
refresco_estado_job = dg.define_asset_job(
    "refresco_estado", selection=dg.AssetSelection.assets(REPORTE_ESTADO_KEY), executor_def=dg.in_process_executor,
    description="El reporte CIE de una entidad (partición = cve_ent); al terminar con éxito, el sensor "
                "particion_a_nacional lanza el refresco nacional.")
sesnsp_por_anio_job = dg.define_asset_job(
    "sesnsp_por_anio", selection=dg.AssetSelection.assets(SESNSP_ANUAL_KEY), executor_def=dg.in_process_executor,
    description="Las cifras del SESNSP de un año (partición = año); al terminar con éxito, el sensor "
                "particion_a_nacional lanza el refresco nacional.")
PARTITION_JOBS = (refresco_estado_job, sesnsp_por_anio_job)
PARTITION_ASSETS = frozenset({REPORTE_ESTADO_KEY, SESNSP_ANUAL_KEY})

nightly_refresh = dg.ScheduleDefinition(
    name="nightly_refresh", job=refresh_job, cron_schedule="0 2 * * *", execution_timezone=TIMEZONE,
    description="Refresco completo cada noche a las 02:00 (hora de la Ciudad de México).")


def _inbox_files(inbox: Path) -> list[Path]:
    if not inbox.is_dir():
        return []
    # Office lock files (~$x.xlsx) and hidden files are not reports.
    return sorted(p for p in inbox.rglob("*") if p.is_file() and not p.name.startswith(("~$", ".")))


def scan_inbox(inbox: Path, previous: dict) -> tuple[dict, list[tuple[str, str, str]]]:
    """(new cursor, [(relative path, previous sha256 or '', sha256)] of new or changed files). Hashes only
    files whose size or modification time moved; a file touched without a content change triggers nothing."""
    cursor, changed = {}, []
    for path in _inbox_files(inbox):
        rel = path.relative_to(inbox).as_posix()
        stat = path.stat()
        old = previous.get(rel)
        if old and old["size"] == stat.st_size and old["mtime_ns"] == stat.st_mtime_ns:
            digest = old["sha256"]
        else:
            digest = sha256_of(path)
            if not old or old["sha256"] != digest:
                changed.append((rel, old["sha256"] if old else "", digest))
        cursor[rel] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    return cursor, changed


def _change_key(changes: list[tuple[str, str, str]]) -> str:
    return hashlib.sha256("\n".join(f"{rel}:{old}->{new}" for rel, old, new in changes).encode()).hexdigest()


def states_of_changes(cies: CiesResource, changed: list[tuple[str, str, str]]) -> dict[str, set[str]]:
    """{changed file: its states}: the inbox read through the cache (unchanged files are not parsed again,
    and the partition run that follows reuses what is parsed here). A file without a state (rejected or
    unreadable) is absent; so are all files if the inbox cannot be read at all."""
    today = cies.today()
    rels = {rel for rel, _, _ in changed}
    try:
        result = read_state_reports(cies.inbox_dir, today, cache=cies.cache())
        found = estados_por_archivo(result, cies.inbox_dir, today, solo=rels)
    except Exception:   # the national refresh reads (and reports) whatever went wrong
        return {}
    return {rel: found[rel] for rel in rels if found.get(rel)}


@dg.sensor(jobs=[refresh_job, refresco_estado_job], minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.STOPPED,
           description="Cuando llega un reporte estatal nuevo o cambiado al inbox, lanza refresco_estado para la "
                       "partición (entidad) de ese reporte; si no se reconoce la entidad del archivo (rechazado o "
                       "ilegible), lanza el refresco nacional completo.")
def inbox_sensor(context: dg.SensorEvaluationContext, cies: CiesResource):
    previous = json.loads(context.cursor) if context.cursor else {}
    cursor, changed = scan_inbox(cies.inbox_dir, previous)
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    if not changed:
        return dg.SkipReason(f"sin reportes nuevos o cambiados en {cies.inbox_dir}")
    states = states_of_changes(cies, changed)
    by_state: dict[str, list[tuple[str, str, str]]] = {}
    unknown = []
    for change in changed:
        for cve in sorted(states.get(change[0], ())):
            by_state.setdefault(cve, []).append(change)
        if change[0] not in states:
            unknown.append(change)
    # The run key comes from the files' content change (old hash -> new hash): evaluating the same change
    # twice never starts a second run, while going back to an earlier version of a file still does.
    requests = [dg.RunRequest(job_name=refresco_estado_job.name, partition_key=cve,
                              run_key=f"inbox-{_change_key(changes)[:32]}-{cve}",
                              tags={"cies/archivos": ", ".join(rel for rel, _, _ in changes)[:1000]})
                for cve, changes in sorted(by_state.items())]
    if unknown:   # no state to refresh: the full refresh, as before partitions
        requests.append(dg.RunRequest(job_name=refresh_job.name, run_key=f"inbox-{_change_key(unknown)[:32]}",
                                      tags={"cies/archivos": ", ".join(rel for rel, _, _ in unknown)[:1000]}))
    return requests


@dg.run_status_sensor(
    name="particion_a_nacional", run_status=dg.DagsterRunStatus.SUCCESS, request_job=refresh_job,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Tras una corrida exitosa de una partición (refresco_estado, sesnsp_por_anio, o una "
                "materialización o backfill de particiones/* lanzado desde la UI), lanza el refresco nacional: "
                "con la caché solo lee lo que cambió y republica solo las tablas que cambiaron.")
def particion_a_nacional(context: dg.RunStatusSensorContext):
    # Every job of the code location is watched (no monitored_jobs): a materialization or backfill launched
    # from an asset's page runs in Dagster's implicit asset job, not in refresco_estado / sesnsp_por_anio.
    run = context.dagster_run
    selected = set(run.asset_selection or ())
    if run.job_name not in {job.name for job in PARTITION_JOBS} and not selected & PARTITION_ASSETS:
        return dg.SkipReason(f"la corrida {run.run_id[:8]} ({run.job_name}) no es de una partición")
    tags = {"cies/origen": run.run_id}
    particion = run.tags.get("dagster/partition") or "…".join(
        t for t in (run.tags.get("dagster/asset_partition_range_start"),
                    run.tags.get("dagster/asset_partition_range_end")) if t)
    if particion:
        tags["cies/particion"] = particion[:200]
    return dg.RunRequest(run_key=f"particion-{run.run_id}", tags=tags)
