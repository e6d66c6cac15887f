"""dagster_storage.py: Dagster's SQLite storage with its engines reused, as cli.prepare_dagster_home selects it."""
from __future__ import annotations

import shutil
import weakref

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

from cies_pipeline import cli, dagster_storage
from cies_pipeline.settings import Settings

N = 12


@dg.asset
def origen():
    return 1


@dg.multi_asset(specs=[dg.AssetSpec(f"tabla_{i}", deps=[origen]) for i in range(N)],
                check_specs=[dg.AssetCheckSpec("revision", asset=f"tabla_{i}") for i in range(N)])
def tablas(context):
    context.log.debug("detalle que no se guarda")
    context.log.info("resumen que se guarda")
    for i in range(N):
        yield dg.MaterializeResult(asset_key=f"tabla_{i}", metadata={"filas": i})
    for i in range(N):
        yield dg.AssetCheckResult(asset_key=f"tabla_{i}", check_name="revision", passed=i != 3)


JOB = dg.Definitions(assets=[origen, tablas], jobs=[dg.define_asset_job(
    "todo", selection="*", executor_def=dg.in_process_executor)]).resolve_job_def("todo")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = cli.prepare_dagster_home(Settings(data_dir=tmp_path / "data", warehouse_url="", reconciliacion_desde=None))
    monkeypatch.setenv("DAGSTER_HOME", str(home))   # prepare_dagster_home set it for the process
    return home


def test_the_instance_reuses_one_engine_per_database_and_stores_what_dagster_would(home, monkeypatch):
    created = []
    real = dagster_storage.create_engine
    monkeypatch.setattr(dagster_storage, "create_engine", lambda url, **kw: created.append(url) or real(url, **kw))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, dagster_storage.EventLogStorage)
        assert isinstance(instance.run_storage, dagster_storage.RunStorage)
        result = JOB.execute_in_process(instance=instance)
        assert result.success
        events = instance.all_logs(result.run_id)
        run_id = result.run_id
    # the run storage's engine, then one for the event index and one for this run's event database, however
    # many events and queries (Dagster's own storages create one per query: hundreds here)
    assert len(created) == 3 and len(set(created)) == 3
    assert len(events) > 4 * N
    materialized = {e.dagster_event.asset_key.to_user_string() for e in events
                    if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"}
    assert materialized == {"origen", *(f"tabla_{i}" for i in range(N))}
    # messages at DEBUG (Dagster's own for each output written, ours) are not stored; INFO ones and every
    # event are
    messages = [e.user_message for e in events if not e.dagster_event]
    assert "resumen que se guarda" in messages and "detalle que no se guarda" not in messages
    assert not any(m.startswith("Writing file at") for m in messages)
    assert sum(1 for e in events if e.dagster_event and e.dagster_event.event_type_value == "HANDLED_OUTPUT") == 1

    # the same files, read by Dagster's own SQLite storage (a webserver of another version of this file)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.get() as plain:
        assert type(plain.event_log_storage) is SqliteEventLogStorage
        assert type(plain.run_storage) is SqliteRunStorage
        assert plain.get_run_by_id(run_id).status == dg.DagsterRunStatus.SUCCESS
        assert len(plain.all_logs(run_id)) == len(events)
        checks = {e.asset_key.to_user_string(): e.passed for e in
                  (r.dagster_event.event_specific_data for r in plain.all_logs(run_id)
                   if r.dagster_event and r.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION")}
        assert checks == {f"tabla_{i}": i != 3 for i in range(N)}
        assert plain.get_latest_materialization_event(dg.AssetKey("tabla_7")).run_id == run_id


def _sqlite_connections(monkeypatch) -> list[str]:
    """The SQLite connections opened from now on (SQLAlchemy's pysqlite dialect calls sqlite3.dbapi2.connect)."""
    from sqlite3 import dbapi2

    opened, real = [], dbapi2.connect
    monkeypatch.setattr(dbapi2, "connect", lambda database, *a, **kw: opened.append(database) or real(database, *a, **kw))
    return opened


def test_connections_stay_open_between_uses(home, tmp_path, monkeypatch):
    """Ours opens a connection per database (a few more at most); Dagster's own one per query or event."""
    with dg.DagsterInstance.get() as instance:
        opened = _sqlite_connections(monkeypatch)
        run = JOB.execute_in_process(instance=instance)
        assert run.success
        ours = list(opened)
    stock = tmp_path / "stock"
    stock.mkdir()
    (stock / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(stock)) as plain:
        assert type(plain.event_log_storage) is SqliteEventLogStorage
        opened.clear()
        assert JOB.execute_in_process(instance=plain).success
        theirs = list(opened)
    # during the run: the event index and the run's own database (runs.db was opened with the instance);
    # Dagster's has_table asks the index through an engine of its own, once per table
    runs = home / "history" / "runs"
    assert set(ours) == {str(runs / "index.db"), str(runs / f"{run.run_id}.db")}
    assert len(ours) <= 5
    assert len(theirs) > 20 * len(ours)


def test_every_database_is_a_write_ahead_log_synchronised_at_checkpoints(home):
    """Dagster creates its SQLite files in WAL mode; ours also sets synchronous=NORMAL on each connection (a
    commit no longer waits for an fsync; the log is synced at each checkpoint, and a power cut can lose the last
    events but not corrupt the file). Dagster's own connections keep SQLite's default, FULL (2)."""
    import sqlite3
    with dg.DagsterInstance.get() as instance:
        run = JOB.execute_in_process(instance=instance)
        assert run.success
        storages = {"index": instance.event_log_storage._engines["index"],
                    "run": instance.event_log_storage._engines[run.run_id],
                    "runs": instance.run_storage._engine}
        for name, engine in storages.items():
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1, name
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal", name
    runs = home / "history" / "runs"
    with sqlite3.connect(runs / f"{run.run_id}.db") as plain:
        assert plain.execute("PRAGMA synchronous").fetchone() == (2,)
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_only_the_latest_run_databases_stay_open_and_wipe_closes_them(home):
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        runs = [JOB.execute_in_process(instance=instance).run_id for _ in range(dagster_storage.RUN_ENGINES + 2)]
        assert set(storage._engines) == {"index", *runs[-dagster_storage.RUN_ENGINES:]}
        # a run whose database was closed reads as before: opened again, and the least recently used closed
        assert len(instance.all_logs(runs[0])) == len(instance.all_logs(runs[-1]))
        assert set(storage._engines) == {"index", runs[0], *runs[-dagster_storage.RUN_ENGINES + 1:]}
        instance.wipe()
        assert set(storage._engines) <= {"index"}
        again = JOB.execute_in_process(instance=instance)
        assert again.success and len(instance.all_logs(again.run_id)) > 4 * N


def test_a_forked_child_forgets_the_parents_connections(home):
    with dg.DagsterInstance.get() as instance:
        assert JOB.execute_in_process(instance=instance).success
        for storage in (instance.event_log_storage, instance.run_storage):
            before = [e.pool for e in storage.engines()]
            dagster_storage._after_fork(weakref.ref(storage))()     # what os.fork runs in the child
            after = [e.pool for e in storage.engines()]
            assert len(after) == len(before) > 0
            assert all(new is not old for new, old in zip(after, before))   # new pools: nothing inherited
        assert JOB.execute_in_process(instance=instance).success


def test_dagster_yaml_replaces_earlier_ones_of_ours_follows_a_move_and_leaves_others_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    settings = Settings(data_dir=tmp_path / "data", warehouse_url="", reconciliacion_desde=None)
    config = settings.dagster_home / "dagster.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(cli._EARLIER_DAGSTER_YAML)
    cli.prepare_dagster_home(settings)
    ours = config.read_text()
    assert "class: SqliteStorage" in ours and f'base_dir: "{tmp_path / "data" / "dagster_home"}"' in ours
    # the data folder moved: base_dir follows it
    home = settings.dagster_home
    monkeypatch.delenv("DAGSTER_HOME")   # prepare_dagster_home sets it for the process
    moved = Settings(data_dir=tmp_path / "movida", warehouse_url="", reconciliacion_desde=None)
    shutil.copytree(home, moved.dagster_home)
    cli.prepare_dagster_home(moved)
    assert (moved.dagster_home / "dagster.yaml").read_text() == ours.replace(str(home), str(moved.dagster_home))
    with dg.DagsterInstance.from_config(str(moved.dagster_home)) as instance:   # no DAGSTER_HOME needed
        assert isinstance(instance.run_storage, dagster_storage.RunStorage)
        assert instance.run_storage._conn_string.startswith(f"sqlite:///{moved.dagster_home}")
    # an instance configured by hand (PostgreSQL, say) is never touched
    own = "telemetry:\n  enabled: false\nrun_queue:\n  max_concurrent_runs: 1\n"
    config.write_text(own)
    cli.prepare_dagster_home(settings)
    assert config.read_text() == own
