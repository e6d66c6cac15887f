"""`cies-pipeline`: refresh the whole pipeline in-process, write sample data, print the data dictionary."""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
from pathlib import Path

DAGSTER_YAML = """\
# Written by cies-pipeline on first use. Runs from the CLI and from `dagster dev` share this instance.
telemetry:
  enabled: false
# Dagster's SQLite storage in this folder, keeping one engine and its open connection per database file
# (cies_pipeline/dagster_storage.py; cies-pipeline rewrites this file if the folder moves or the text changes)
storage:
  custom:
    module: cies_pipeline.dagster_storage
    class: SqliteStorage
    config:
      base_dir: {home}
# Messages logged at DEBUG (Dagster's "Loading file from: …" / "Writing file at: …" for every input and output)
# are not stored in the event log: about 1.5 ms each, over a hundred per refresh. Events (steps, inputs,
# outputs, materializations, checks) are stored whatever the level. DEBUG here shows those messages again.
python_logs:
  python_log_level: INFO
"""
# what earlier versions wrote: replaced by DAGSTER_YAML (the same files, read the same way)
_EARLIER_DAGSTER_YAML = """\
# Written by cies-pipeline on first use. Runs from the CLI and from `dagster dev` share this instance.
telemetry:
  enabled: false
"""


def prepare_dagster_home(settings) -> Path:
    """DAGSTER_HOME (absolute) under the data directory unless set; shared by CLI runs and the UI."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    ours = DAGSTER_YAML.format(home=json.dumps(str(home)))
    found = config.read_text() if config.exists() else None
    # written anew when missing, when it is an earlier version of ours or ours for another folder; a file
    # written by hand (PostgreSQL storage, run queue…) is left alone
    if found is None or found == _EARLIER_DAGSTER_YAML or (
            found != ours and found.startswith(ours.split("\n", 1)[0]) and "cies_pipeline.dagster_storage" in found):
        config.write_text(ours)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def run_summary(result, elapsed_s: float) -> dict:
    """What happened in a refresh, from the run's own events: rows per asset, checks, files."""
    import dagster as dg

    assets: dict[str, dict] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        counts = {k: v.value for k, v in mat.metadata.items()
                  if isinstance(v, (dg.IntMetadataValue, dg.FloatMetadataValue))}
        assets[mat.asset_key.to_user_string()] = {k.replace("dagster/", ""): _jsonable(v) for k, v in counts.items()}
    checks = []
    for evaluation in result.get_asset_check_evaluations():
        checks.append({"name": evaluation.check_name, "asset": evaluation.asset_key.to_user_string(),
                       "passed": bool(evaluation.passed), "severity": evaluation.severity.value})
    files_read, rejected, quarantined = [], [], 0
    for key in ("reportes_cie", "sesnsp", "referencia"):
        try:
            source = result.asset_value(dg.AssetKey(["ingest", key]))
        except Exception:  # the step did not produce a value (failed run)
            continue
        files_read += [{"archivo": a["archivo_origen"], "sha256": a["archivo_sha256"], "tipo": a["tipo"]}
                       for a in source.archivos]
        rejected += [{"archivo": r["archivo_origen"], "hoja": r["hoja"], "motivo": r["motivo"]}
                     for r in source.rechazados]
        quarantined += len({(r["archivo_origen"], r["hoja"], r["fila_origen"]) for r in source.cuarentena})
    failed_steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    # ingest/cambios found nothing changed since the last refresh: every other step was skipped
    unchanged = [e.event_specific_data.asset_observation.metadata["omitido"].value
                 for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"
                 and e.asset_key == dg.AssetKey(["ingest", "cambios"])
                 and "omitido" in e.event_specific_data.asset_observation.metadata]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"run_id": result.run_id, "success": bool(result.success), "wall_time_s": round(elapsed_s, 2),
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "failed_steps": failed_steps, "assets": assets, "checks": checks,
            "sin_cambios": unchanged[0] if unchanged else None,
            "files": {"read": files_read, "rejected": rejected}, "rows_quarantined": quarantined}


def _print_summary(summary: dict, settings) -> None:
    rec = summary["assets"].get("warehouse/reconciliacion", {})
    lines = [
        f"cies-pipeline refresh {'OK' if summary['success'] else 'FAILED'} in {summary['wall_time_s']} s, "
        f"peak RSS {summary['peak_rss_mb']} MB (run {summary['run_id']})",
        f"  warehouse: {settings.warehouse_url}",
        f"  files read: {len(summary['files']['read'])}, rejected: {len(summary['files']['rejected'])}, "
        f"rows quarantined: {summary['rows_quarantined']}",
    ]
    if summary.get("sin_cambios"):
        lines.append(f"  nothing to do: {summary['sin_cambios']}")
        lines.append(f"  report (unchanged): {settings.data_dir / 'reporte' / 'index.html'}")
    for r in summary["files"]["rejected"]:
        lines.append(f"    rejected {r['archivo']}{' / ' + r['hoja'] if r['hoja'] else ''}: {r['motivo']}")
    if rec:
        lines.append(f"  reconciliacion: {rec.get('row_count', 0)} rows")
    for key in ("harmonized/reconciliacion",):
        meta = summary["assets"].get(key, {})
        statuses = {k.removeprefix("estatus_"): v for k, v in meta.items() if k.startswith("estatus_")}
        if statuses:
            lines.append("  state-month-measure statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    failed = [c for c in summary["checks"] if not c["passed"]]
    lines.append(f"  checks: {len(summary['checks'])} evaluated, {len(failed)} not passed")
    for c in failed:
        lines.append(f"    {c['severity']:5} {c['asset']} :: {c['name']}")
    for step in summary["failed_steps"]:
        lines.append(f"  FAILED step: {step}")
    if "reports/reporte_conciliacion" in summary["assets"]:
        lines.append(f"  report: {settings.data_dir / 'reporte' / 'index.html'}")
    print("\n".join(lines))


def cmd_refresh(args) -> int:
    from cies_pipeline.settings import get_settings

    settings = get_settings()
    prepare_dagster_home(settings)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import dagster as dg

    from cies_pipeline.definitions import build_definitions

    started = time.monotonic()
    defs = build_definitions(settings, hoy=args.hoy)
    job = defs.resolve_job_def("refresh")
    import contextlib
    import uuid

    from cies_pipeline.progress import RunProgress, step_count, wants_progress

    from cies_pipeline.runlock import refresh_lock

    # When ingest/cambios finds nothing changed, Dagster warns on stderr, for each skipped step with a blocking
    # check, that the check "emitted no result": the step did not run, which the summary already says.
    logging.getLogger("dagster._core.execution.plan.active").addFilter(
        lambda record: "emitted no result" not in record.getMessage())
    run_id = str(uuid.uuid4())
    # One refresh per data directory at a time: a second one waits here (see runlock.py).
    with refresh_lock(settings.data_dir), dg.DagsterInstance.get() as instance:
        # Per-asset progress only on a terminal; piped, the output is just the summary below.
        watch = RunProgress(instance, run_id, step_count(job)) if wants_progress(sys.stdout) \
            else contextlib.nullcontext()
        with watch:
            result = job.execute_in_process(
                instance=instance, raise_on_error=False, run_id=run_id,
                run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}})
        summary = run_summary(result, time.monotonic() - started)
    if args.summary:
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary).write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    _print_summary(summary, settings)
    return 0 if summary["success"] else 1


def cmd_sample_data(args) -> int:
    from cies_pipeline.sample_data import write_sample_data

    info = write_sample_data(Path(args.dir))
    print(f"wrote {len(info['files'])} sample files under {args.dir}")
    return 0


def cmd_ui(args) -> int:
    """`dagster dev` on workspace.yaml with the same DAGSTER_HOME as `refresh`, so runs show in the UI, and the
    GX Data Docs folder served on loopback (CIES_DATA_DOCS_PORT, default 3001): browsers block the file://
    links a check could carry, so checks link to http://127.0.0.1:<port>/<page>. Both stop together."""
    import subprocess

    from cies_pipeline.quality.data_docs import DataDocsServer
    from cies_pipeline.settings import get_settings

    settings = get_settings()
    prepare_dagster_home(settings)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    docs = DataDocsServer(settings.data_dir / "gx").start()
    print(f"Data Docs: {docs.url}/index.html (carpeta {docs.directory})", flush=True)
    dagster = Path(sys.executable).with_name("dagster")
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    process = subprocess.Popen([str(dagster), "dev", "-w", str(workspace), "-h", args.host, "-p", str(args.port)])
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches dagster too (same process group): let it shut down cleanly
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.terminate()
            return process.wait()
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait()
        docs.stop()


def cmd_data_dictionary(args) -> int:
    from cies_pipeline.warehouse.schema import data_dictionary_markdown

    text = data_dictionary_markdown()
    if args.out:
        Path(args.out).write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


def cmd_setup_db(args) -> int:
    """Roles, schemas, tables, views and grants of the PostgreSQL warehouse (warehouse/roles.py)."""
    from cies_pipeline.settings import get_settings
    from cies_pipeline.warehouse.roles import setup_database

    url = args.url or get_settings().warehouse_url
    try:
        done = setup_database(url, owner=args.owner, analyst=args.analista)
    except ValueError as exc:
        print(f"cies-pipeline setup-db: {exc}", file=sys.stderr)
        return 2
    print(f"setup-db OK: owner {done['owner']}, analyst {done['analista']}; roles created: "
          f"{', '.join(done['roles_creados']) or 'none'}; tables created: {len(done['tablas_creadas'])}; "
          f"analyst reads publicado.* and {len(done['tablas_analista'])} warehouse tables")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cies-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("refresh", help="materialize every asset and run every check, in-process")
    p.add_argument("--summary", help="write a JSON summary of the run to this path")
    p.add_argument("--hoy", help="evaluate the run as of this date (YYYY-MM-DD); default today in Mexico City")
    p.add_argument("--log-level", default="WARNING", help="Dagster console log level (default WARNING)")
    p.set_defaults(func=cmd_refresh)
    p = sub.add_parser("sample-data", help="write the deterministic sample inputs into DIR")
    p.add_argument("dir")
    p.set_defaults(func=cmd_sample_data)
    p = sub.add_parser("ui", help="start the Dagster UI (dagster dev) on the shared instance")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)
    p = sub.add_parser("setup-db", help="PostgreSQL: create the owner and read-only analyst roles, schemas, "
                                        "tables, publicado views and grants (idempotent)")
    p.add_argument("--url", help="administrator's SQLAlchemy URL (default CIES_WAREHOUSE_URL)")
    p.add_argument("--owner", default="cies_pipeline", help="role that owns the pipeline's schemas")
    p.add_argument("--analista", default="cies_analista", help="read-only role of the analysts")
    p.set_defaults(func=cmd_setup_db)
    p = sub.add_parser("data-dictionary", help="write the warehouse data dictionary (Markdown)")
    p.add_argument("out", nargs="?")
    p.set_defaults(func=cmd_data_dictionary)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
