"""The Dagster instance's default storage (SQLite files under $DAGSTER_HOME), reusing its SQLAlchemy engines.

Dagster's SQLite storages create a SQLAlchemy engine, connect, and dispose of the engine for every query and
every event they store: about 0.4 ms each on this machine, and a refresh stores about 600 events and runs
thousands of queries (half of the publish step's Dagster bookkeeping). These subclasses keep one engine per
database file. Nothing else changes: the same files and tables, the same locking (the event log's lock is held
around each connection, as in Dagster's), and still one new SQLite connection per use (NullPool), so the
webserver and a CLI run can share the files as before. `cli.prepare_dagster_home` writes the dagster.yaml
that selects it; the shared deployment uses PostgreSQL instead (docs/dagster.postgres.yaml).

It overrides `_connect` / `connect`, which are not public: dagster is pinned exactly in pyproject.toml, and
test_dagster_storage.py checks the instance it gives against the pinned release.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (SQLITE_BUSY_TIMEOUT_SECONDS,
                                                                      SqliteEventLogStorage)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (DagsterSqliteStorage, _event_logs_directory,
                                                  _runs_directory, _schedule_directory)
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool


class EventLogStorage(SqliteEventLogStorage):
    """One database per run plus the index, as Dagster's; one engine per database file for the process."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: dict[str, Any] = {}
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> "EventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = create_engine(self.conn_string_for_shard(shard), poolclass=NullPool,
                                       connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                self._engines[shard] = engine
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def dispose(self) -> None:
        super().dispose()
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


class RunStorage(SqliteRunStorage):
    """Dagster's run database, through one engine."""

    def __init__(self, conn_string: str, inst_data: Any = None):
        super().__init__(conn_string, inst_data)
        self._engine = create_engine(conn_string, poolclass=NullPool)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> "RunStorage":
        return cls.from_local(inst_data=inst_data, **config_value)

    @contextmanager
    def connect(self) -> Iterator[Any]:
        with self._engine.connect() as conn:
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()


class SqliteStorage(DagsterSqliteStorage):
    """Dagster's default storage (`storage: sqlite`) with the two storages above; the same folders
    (history/, history/runs/, schedules/ under `base_dir`)."""

    def __init__(self, base_dir: str, inst_data: Any = None):  # noqa: D107 - replaces the parent's storages
        self.base_dir = base_dir
        self._run_storage = RunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = EventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> "SqliteStorage":
        return cls.from_local(inst_data=inst_data, **config_value)
