"""The Dagster instance's default storage (SQLite files under $DAGSTER_HOME), reusing its engines and connections.

Dagster's SQLite storages create a SQLAlchemy engine, open a SQLite connection, and close both for every query
and every event they store, and ask before most of them whether a table, column or migration exists. A refresh
stores about 700 events: opening and closing the connections, and those questions, were most of Dagster's own
time in the steps (the publish step's 40 outputs took 0.4 s; 0.17 s now). These subclasses keep one engine per
database file, each with its SQLite connection kept open between uses (a pool of one, a few more for threads
that overlap), and remember the tables, columns and migrations found (migrations only add them). Nothing else
changes: the same files and tables in the write-ahead-log mode Dagster gives them, each use still one
transaction, and the event log's lock held around each use as in Dagster's. One setting differs:
`synchronous=NORMAL` on our connections (SQLite's advice for WAL), so a commit does not wait for an fsync; the
log is synced at each checkpoint. A killed process loses nothing committed; a power cut may lose the last
events, never corrupt the file (about 0.1 s less on the 11-year municipal path). An idle pooled connection
holds no lock, so the webserver and a CLI run share the files as before. Run databases other than the latest
few are closed (`RUN_ENGINES`), so a webserver that shows many runs does not keep a file open for each; a
forked child opens its own connections.
`cli.prepare_dagster_home` writes the dagster.yaml that selects it; the shared deployment uses PostgreSQL
instead (docs/dagster.postgres.yaml).

It overrides `_connect` / `connect` and the schema probes, which are not public: dagster is pinned exactly in
pyproject.toml, and test_dagster_storage.py checks the instance it gives against the pinned release.
"""
from __future__ import annotations

import os
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (INDEX_SHARD_NAME,
                                                                      SQLITE_BUSY_TIMEOUT_SECONDS,
                                                                      SqliteEventLogStorage)
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (DagsterSqliteStorage, _event_logs_directory,
                                                  _runs_directory, _schedule_directory)
from sqlalchemy import create_engine, event
from sqlalchemy.pool import QueuePool

RUN_ENGINES = 4  # run databases whose engine (and open connection) is kept besides the index's


def _engine(url: str, **connect_args: Any) -> Any:
    """An engine keeping its SQLite connection open between uses: a pool of one, and up to four more while
    threads overlap (each connection is used by one thread at a time, possibly not the one that opened it)."""
    engine = create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=4,
                           connect_args={"check_same_thread": False, **connect_args})
    event.listen(engine, "connect", _synchronous_normal)
    return engine


def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    """Each new SQLite connection: commits in WAL mode without an fsync (see the module docstring)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _after_fork(storage: weakref.ref) -> Callable[[], None]:
    """In a forked child, forget the parent's open connections without closing them (SQLAlchemy's advice):
    the child opens its own."""
    def reset() -> None:
        owner = storage()
        if owner is not None:
            for engine in owner.engines():
                engine.dispose(close=False)
    return reset


class EventLogStorage(SqliteEventLogStorage):
    """One database per run plus the index, as Dagster's; one engine per database file for the process."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: OrderedDict[str, Any] = OrderedDict()   # shard -> engine, the latest used last
        self._schema: set[tuple[str, str]] = set()  # tables, asset_keys columns and data migrations seen
        super().__init__(base_dir, inst_data=inst_data)
        os.register_at_fork(after_in_child=_after_fork(weakref.ref(self)))

    def engines(self) -> list[Any]:
        return list(self._engines.values())

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> "EventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Any]:
        with self._db_lock:
            engine = self._engines.get(shard)
            if engine is None:
                engine = _engine(self.conn_string_for_shard(shard), timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                self._engines[shard] = engine
                runs = [s for s in self._engines if s != INDEX_SHARD_NAME]
                for old in runs[:-RUN_ENGINES]:          # the runs used longest ago
                    self._engines.pop(old).dispose()
            else:
                self._engines.move_to_end(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    # Schema probes. Before most queries and stored events Dagster asks whether a table, an asset_keys column or
    # a data migration exists: a reflection or a query each time (about 40% of its bookkeeping in a refresh).
    # Migrations only ever add them, so a yes is kept for the life of this storage; a no is asked again.
    def _exists(self, key: tuple[str, str], probe: Callable[[], bool]) -> bool:
        if key in self._schema:
            return True
        found = bool(probe())
        if found:
            self._schema.add(key)
        return found

    def has_table(self, table_name: str) -> bool:
        return self._exists(("table", table_name), lambda: SqliteEventLogStorage.has_table(self, table_name))

    def has_secondary_index(self, name: str) -> bool:
        return self._exists(("migration", name), lambda: SqliteEventLogStorage.has_secondary_index(self, name))

    def has_asset_key_col(self, column_name: str) -> bool:
        return self._exists(("column", column_name),
                            lambda: SqliteEventLogStorage.has_asset_key_col(self, column_name))

    def _has_asset_key_col_on_connection(self, conn: Any, column_name: str) -> bool:
        return self._exists(("column", column_name),
                            lambda: SqliteEventLogStorage._has_asset_key_col_on_connection(self, conn, column_name))

    def wipe(self) -> None:
        # Dagster's wipe deletes the run databases: close their connections first (a pooled connection to a
        # deleted file would go on writing to it)
        with self._db_lock:
            for shard in [s for s in self._engines if s != INDEX_SHARD_NAME]:
                self._engines.pop(shard).dispose()
        super().wipe()
        self._schema.clear()

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
        self._engine = _engine(conn_string)
        os.register_at_fork(after_in_child=_after_fork(weakref.ref(self)))

    def engines(self) -> list[Any]:
        return [self._engine]

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
