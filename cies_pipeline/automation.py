"""The full refresh job, its nightly schedule, and the sensor on the state-report inbox."""

import hashlib
import json
from pathlib import Path

import dagster as dg

from cies_pipeline.assets.common import CiesResource
from cies_pipeline.settings import TIMEZONE
from cies_pipeline.sources.common import sha256_of

# DuckDB allows one writer process at a time: run every step of a refresh in one process.
refresh_job = dg.define_asset_job(
    "refresh", selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor,
    # The queued run coordinator of a shared instance (docs/dagster.postgres.yaml) allows one run per tag.
    tags={"cies/refresco": "completo"},
    description="Refresco completo: ingesta, staging, armonización, reconciliación y publicación.")

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


@dg.sensor(job=refresh_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Lanza un refresco cuando llega un reporte estatal nuevo o cambiado al inbox.")
def inbox_sensor(context: dg.SensorEvaluationContext, cies: CiesResource):
    previous = json.loads(context.cursor) if context.cursor else {}
    cursor, changed = scan_inbox(cies.inbox_dir, previous)
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    if not changed:
        return dg.SkipReason(f"sin reportes nuevos o cambiados en {cies.inbox_dir}")
    # The run key comes from the files' content change (old hash -> new hash): evaluating the same change
    # twice never starts a second run, while going back to an earlier version of a file still does.
    key = hashlib.sha256("\n".join(f"{rel}:{old}->{new}" for rel, old, new in changed).encode()).hexdigest()
    return dg.RunRequest(run_key=f"inbox-{key[:32]}",
                         tags={"cies/archivos": ", ".join(rel for rel, _, _ in changed)[:1000]})
