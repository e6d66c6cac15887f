"""Faults, on DuckDB and on PostgreSQL, with the real command line (`cies-pipeline refresh` subprocesses).

- Two refreshes started at the same moment against the same warehouse both end and the tables equal a single
  run's: the second waits for the first (the data directory's refresh lock, runlock.py; beneath it the publish
  lock: a lock file beside DuckDB, an advisory lock on PostgreSQL).
- The same refresh again gives identical contents: row count and sha256 of every table, without run_id,
  cargado_en and the load log (`Warehouse.fingerprint`).
- A refresh killed with SIGKILL in the middle of writing the warehouse leaves the previous tables intact
  and readable, and the next refresh completes. Injection: a `sitecustomize` module put on the killed
  subprocess's PYTHONPATH (the CLI itself is unchanged) wraps the step that creates the publicado views,
  which runs after every table has been written and before COMMIT: it writes a marker file and sleeps. The
  test waits for the marker, checks that the refresh holds the publish lock (non-blocking flock on
  `<db>.lock` fails / pg_locks shows the advisory lock granted), and sends SIGKILL. The killed run had
  different inputs (one state report removed), so a committed write would be visible.
"""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from pgtools import throwaway_database
from test_pipeline import HOY
from cies_pipeline.warehouse.resource import _ADVISORY_KEY, Warehouse

CLI = str(Path(sys.executable).with_name("cies-pipeline"))
REMOVED = "CIE_Jalisco_2025.xlsx"  # the killed (and the following) refresh run without this report

SITECUSTOMIZE = textwrap.dedent('''
    import os, time
    from cies_pipeline.warehouse import resource

    def _stall(original):
        def wrapper(self, *args, **kwargs):
            open(os.environ["CIES_TEST_MARKER"], "w").write(str(os.getpid()))
            time.sleep(600)  # the test kills us here: every table written, nothing committed
            return original(self, *args, **kwargs)
        return wrapper

    resource.Warehouse._create_views_duckdb = _stall(resource.Warehouse._create_views_duckdb)
    resource.Warehouse._create_views_postgres = _stall(resource.Warehouse._create_views_postgres)
''')


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse_url(request, tmp_path):
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path}/cies.duckdb"
    else:
        with throwaway_database("cies_faults") as url:
            yield url


def _env(data: Path, url: str, home: Path, **extra) -> dict:
    env = {**os.environ, "CIES_DATA_DIR": str(data), "CIES_WAREHOUSE_URL": url, "DAGSTER_HOME": str(home),
           "GX_ANALYTICS_ENABLED": "False", **extra}
    return env


def _start(data: Path, url: str, home: Path, **extra) -> subprocess.Popen:
    return subprocess.Popen([CLI, "refresh", "--hoy", HOY], env=_env(data, url, home, **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    return out


def _cargas(wh: Warehouse) -> int:
    return int(wh.query("SELECT count(*) AS n FROM warehouse.cargas")["n"][0])


def _holds_publish_lock(url: str, pid: int) -> bool:
    wh = Warehouse(url)
    try:
        if wh.dialect == "duckdb":
            with open(sa.engine.make_url(url).database + ".lock", "w") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(handle, fcntl.LOCK_UN)
                return False
        held = wh.query("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND objid = :k AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                        k=_ADVISORY_KEY)
        return int(held["n"][0]) == 1
    finally:
        wh.dispose()


def test_concurrent_refreshes_a_rerun_and_a_killed_refresh(warehouse_url, sample_dir, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    home = tmp_path / "dagster_home"
    home.mkdir()

    # (b) two refreshes at the same moment: both succeed, one after the other
    first, second = _start(data, warehouse_url, home), _start(data, warehouse_url, home)
    outputs = [_finish(first), _finish(second)]
    assert sum("another refresh of" in out and "waiting for it to finish" in out for out in outputs) == 1, outputs
    wh = Warehouse(warehouse_url)
    after_two = wh.fingerprint()
    assert _cargas(wh) == 2
    assert after_two["warehouse.reconciliacion"][0] > 0 and after_two["warehouse.fact_victimas_trata"][0] > 0
    wh.dispose()  # DuckDB: one process at a time; the test opens the file only between refreshes

    # (c) the same refresh once more, alone: identical contents
    _finish(_start(data, warehouse_url, home))
    assert wh.fingerprint() == after_two
    assert _cargas(wh) == 3
    wh.dispose()

    # (a) SIGKILL while the publish transaction has written every table and not committed
    (data / "inbox" / "state_reports" / REMOVED).unlink()
    marker = tmp_path / "inside_publish"
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SITECUSTOMIZE)
    killed = _start(data, warehouse_url, home, PYTHONPATH=str(hook), CIES_TEST_MARKER=str(marker))
    deadline = time.monotonic() + 600
    while not marker.exists():
        assert killed.poll() is None, killed.communicate()[0]
        assert time.monotonic() < deadline, "the refresh never reached the warehouse write"
        time.sleep(0.1)
    assert _holds_publish_lock(warehouse_url, killed.pid)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL

    # the previous tables are intact and readable (the killed run would have removed Jalisco's rows)
    time.sleep(0.5)
    assert wh.fingerprint() == after_two
    assert _cargas(wh) == 3
    jalisco = wh.query("SELECT count(*) AS n FROM warehouse.fact_carpetas_trata WHERE fuente = 'CIE' AND "
                       "archivo_origen = :a", a=REMOVED)
    assert int(jalisco["n"][0]) > 0
    wh.dispose()

    # the next refresh completes, with the new inputs
    _finish(_start(data, warehouse_url, home))
    after = wh.fingerprint()
    assert after != after_two and _cargas(wh) == 4
    assert int(wh.query("SELECT count(*) AS n FROM warehouse.fact_carpetas_trata WHERE archivo_origen = :a",
                        a=REMOVED)["n"][0]) == 0
    wh.dispose()


def test_the_refresh_lock_gives_up_with_a_message_naming_the_lock(tmp_path):
    from cies_pipeline.runlock import RefreshLockTimeout, refresh_lock

    with refresh_lock(tmp_path, timeout_s=5):
        with pytest.raises(RefreshLockTimeout, match=r"another refresh has held .*\.refresh\.lock"):
            with refresh_lock(tmp_path, timeout_s=0.3, poll_s=0.05):
                pass
    with refresh_lock(tmp_path, timeout_s=0.3):  # released: the next one gets it at once
        pass
