"""Tier 1: the code location loads; the job, schedule and sensor resolve; the sensor reacts to new files only."""
from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from cies_pipeline.assets.common import CiesResource
from cies_pipeline.automation import inbox_sensor
from cies_pipeline.definitions import build_definitions
from cies_pipeline.settings import Settings


def _defs(tmp_path: Path) -> dg.Definitions:
    return build_definitions(Settings(data_dir=tmp_path, warehouse_url=f"duckdb:///{tmp_path}/w.duckdb",
                                      reconciliacion_desde=None))


def test_definitions_load_with_groups_and_checks(tmp_path):
    defs = _defs(tmp_path)
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    groups = {graph.get(k).group_name for k in graph.materializable_asset_keys}
    assert {"ingest", "staging", "harmonized", "warehouse", "quality"} <= groups
    keys = {k.to_user_string() for k in graph.materializable_asset_keys}
    assert {"warehouse/reconciliacion", "warehouse/reconciliacion_municipal", "warehouse/fact_carpetas_trata",
            "quality/cuarentena", "staging/cie_carpetas", "ingest/reportes_cie"} <= keys
    for key in graph.materializable_asset_keys:
        node = graph.get(key)
        assert node.description, f"{key} has no description"
        assert node.kinds, f"{key} has no kinds"
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("staging/cie_carpetas", "gx_cie_carpetas") in checks
    assert ("ingest/reportes_cie", "contabilidad_filas") in checks
    assert ("harmonized/victimas_trata", "etiquetas_sin_mapeo") in checks


def test_job_schedule_sensor_resolve(tmp_path):
    defs = _defs(tmp_path)
    job = defs.resolve_job_def("refresh")
    assert job.executor_def is dg.in_process_executor
    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "America/Mexico_City"
    assert schedule.job_name == "refresh"
    # the inbox sensor starts a state's partition run, or the full refresh when a file's state is unknown
    assert {t.job_name for t in defs.resolve_sensor_def("inbox_sensor").targets} == {"refresh", "refresco_estado"}


def _evaluate(inbox_root: Path, cursor: str | None):
    context = dg.build_sensor_context(cursor=cursor, resources={"cies": CiesResource(data_dir=str(inbox_root))})
    result = inbox_sensor(context)
    # a SkipReason, or a list of run requests (one per changed state; here the files are not real reports,
    # so their state is unknown and the one request is the full refresh)
    if isinstance(result, list):
        assert len(result) == 1 and result[0].job_name == "refresh", result
        result = result[0]
    return result, context.cursor


def test_sensor_requests_a_run_for_new_or_changed_reports_only(tmp_path):
    inbox = tmp_path / "inbox" / "state_reports"
    inbox.mkdir(parents=True)
    result, cursor = _evaluate(tmp_path, None)
    assert isinstance(result, dg.SkipReason)

    (inbox / "jal_2025.xlsx").write_bytes(b"one")
    result, cursor = _evaluate(tmp_path, cursor)
    assert isinstance(result, dg.RunRequest)
    first_key = result.run_key
    assert first_key.startswith("inbox-")
    assert "jal_2025.xlsx" in result.tags["cies/archivos"]

    # unchanged file (even touched, same content): no run
    os.utime(inbox / "jal_2025.xlsx", (1, 1))
    result, cursor = _evaluate(tmp_path, cursor)
    assert isinstance(result, dg.SkipReason)

    # office lock files are ignored
    (inbox / "~$jal_2025.xlsx").write_bytes(b"lock")
    result, cursor = _evaluate(tmp_path, cursor)
    assert isinstance(result, dg.SkipReason)

    # changed content: a new run with a different key
    previous_cursor = cursor
    (inbox / "jal_2025.xlsx").write_bytes(b"two")
    result, cursor = _evaluate(tmp_path, cursor)
    assert isinstance(result, dg.RunRequest) and result.run_key != first_key
    assert set(json.loads(cursor)) == {"jal_2025.xlsx"}
    second_cursor = cursor

    # the same change evaluated again (e.g. a lost cursor update) gives the same run key: no duplicate run
    result_again, _ = _evaluate(tmp_path, json.dumps({"jal_2025.xlsx": {
        **json.loads(second_cursor)["jal_2025.xlsx"], "sha256": json.loads(previous_cursor)["jal_2025.xlsx"]["sha256"],
        "size": -1}}))
    assert result_again.run_key == result.run_key

    # going back to the first version is a new change: a new run, not the first run's key
    (inbox / "jal_2025.xlsx").write_bytes(b"one")
    result, _ = _evaluate(tmp_path, second_cursor)
    assert isinstance(result, dg.RunRequest) and result.run_key != first_key


def test_data_dictionary_in_docs_is_generated_from_the_schema():
    from cies_pipeline.warehouse.schema import data_dictionary_markdown

    committed = (Path(__file__).resolve().parents[1] / "docs" / "data_dictionary.md").read_text()
    assert committed == data_dictionary_markdown() + "\n", "run `make data-dictionary` and commit docs/"


def test_importing_the_package_makes_full_collections_rarer():
    """Once cies_pipeline is imported (before Dagster and GX are), a full collection waits for 100 collections
    of the middle generation instead of Python's 10, and the young generations are collected as before. A fresh
    interpreter, so that what this test session imported does not count."""
    import subprocess
    import sys
    code = ("import gc, json; before = gc.get_threshold(); import cies_pipeline; "
            "print(json.dumps([before, gc.get_threshold(), cies_pipeline.FULL_COLLECTION_AFTER]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, after, full_after = json.loads(out)
    assert before[2] == 10 and full_after == 100
    assert after == [before[0], before[1], 100]
