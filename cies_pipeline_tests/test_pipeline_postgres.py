"""Tier 3 on PostgreSQL: the SAME end-to-end tests as test_pipeline.py, against a throw-away database.

The test functions of test_pipeline.py are re-collected here; only the module-scoped `run` fixture differs:
it refreshes the sample into a fresh PostgreSQL database (dropped WITH (FORCE) afterwards). Under CI=true
these tests run (pgtools.require_postgres fails loudly when no server answers).
"""
from __future__ import annotations

import shutil

import pytest

from pgtools import throwaway_database
from test_pipeline import *  # noqa: F401,F403  the same tests, on PostgreSQL
from test_publicado import *  # noqa: F401,F403  and the publicado views, on PostgreSQL
from test_pipeline import Warehouse, refresh
from test_pipeline import test_cli_refresh_writes_summary_and_shares_the_dagster_instance as _cli_duckdb

# The CLI test checks the default embedded warehouse (no CIES_WAREHOUSE_URL): it belongs to DuckDB only;
# the CLI against PostgreSQL is exercised by test_faults.py.
del _cli_duckdb
del test_cli_refresh_writes_summary_and_shares_the_dagster_instance  # noqa: F821


@pytest.fixture
def warehouse_url():
    with throwaway_database("cies_gate") as url:
        yield url


@pytest.fixture(scope="module")
def run(tmp_path_factory, sample_dir):
    data = tmp_path_factory.mktemp("e2e_pg")
    shutil.copytree(sample_dir, data, dirs_exist_ok=True)
    with throwaway_database("cies_e2e") as url:
        result = refresh(data, url)
        assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        wh = Warehouse(url)
        assert wh.dialect == "postgresql"
        yield data, url, wh, result
        wh.dispose()
