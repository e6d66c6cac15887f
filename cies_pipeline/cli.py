"""`cies-pipeline`: refresh the whole pipeline in-process, write sample data, print the data dictionary."""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

DAGSTER_YAML = """\
# Written by cies-pipeline on first use. Runs from the CLI and from `dagster dev` share this instance.
telemetry:
  enabled: false
"""


def prepare_dagster_home(settings) -> Path:
    """DAGSTER_HOME (absolute) under the data directory unless set; shared by CLI runs and the UI."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DAGSTER_YAML)
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
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"run_id": result.run_id, "success": bool(result.success), "wall_time_s": round(elapsed_s, 2),
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "failed_steps": failed_steps, "assets": assets, "checks": checks,
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
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance, raise_on_error=False,
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
    """`dagster dev` on workspace.yaml with the same DAGSTER_HOME as `refresh`, so runs show in the UI."""
    from cies_pipeline.settings import get_settings

    prepare_dagster_home(get_settings())
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    dagster = Path(sys.executable).with_name("dagster")
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    os.execv(str(dagster), [str(dagster), "dev", "-w", str(workspace), "-h", args.host, "-p", str(args.port)])


def cmd_data_dictionary(args) -> int:
    from cies_pipeline.warehouse.schema import data_dictionary_markdown

    text = data_dictionary_markdown()
    if args.out:
        Path(args.out).write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
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
    p = sub.add_parser("data-dictionary", help="write the warehouse data dictionary (Markdown)")
    p.add_argument("out", nargs="?")
    p.set_defaults(func=cmd_data_dictionary)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
