"""The only writer of the warehouse: one SQLAlchemy URL, a bulk path per dialect, an atomic publish.

`Warehouse.publish` writes every table of a refresh in ONE transaction: either all tables change or none
does, so a failed or killed run leaves the previous tables intact and readable, and running twice gives the
same rows (tables are replaced, not appended to; only `append_only` tables such as `warehouse.cargas` grow).

Bulk paths: DuckDB registers the DataFrame and runs `INSERT … SELECT` (native, vectorised); PostgreSQL uses
`COPY … FROM STDIN` through psycopg 3. Other dialects fall back to SQLAlchemy `executemany` (slow; fine for
a small SQLite test, not for production). Refreshes are serialised: an `fcntl` lock file beside a DuckDB
database, `pg_advisory_xact_lock` on PostgreSQL. The refresh's own reads and writes of a DuckDB file
(`repeat_load`, `latest_run_id`, `publish`, `table_counts`) open it with duckdb itself, so that a refresh does
not pay for setting duckdb-engine up (about 0.04 s); `query`, `fingerprint` and an in-memory database go
through SQLAlchemy.

The `publicado` views (schema.VIEWS, what analysts read) are (re)created after the tables, inside the same
transaction, with CREATE OR REPLACE VIEW: on PostgreSQL that keeps the views' grants, and since tables are
emptied and refilled (DELETE + COPY) rather than dropped, the views never point at a dropped table. A
table whose columns changed is recreated; its grants are copied onto the new table in that transaction.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import duckdb_engine  # noqa: F401 - loaded with the module, not by the first step that opens the warehouse
import numpy as np
import pandas as pd
import sqlalchemy as sa
from pydantic import PrivateAttr

from cies_pipeline.sources.common import combined_key
from cies_pipeline.warehouse.schema import TABLES, VIEWS, Column, Table, View

_TYPES = {
    "duckdb": {"text": "VARCHAR", "bigint": "BIGINT", "double": "DOUBLE", "date": "DATE",
               "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"},
    "postgresql": {"text": "TEXT", "bigint": "BIGINT", "double": "DOUBLE PRECISION", "date": "DATE",
                   "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"},
}
_ADVISORY_KEY = 7_240_301  # arbitrary, constant: "cies refresh"


class PublishLockTimeout(RuntimeError):
    pass


def _dollar(sql: str) -> str:
    """A statement's `:name` parameters (SQLAlchemy's) as `$name` (duckdb's own API)."""
    return re.sub(r"(?<![:\w]):(\w+)", r"$\1", sql)


def _duckdb_runner(con) -> Callable[..., list]:
    """`run(sql, params)` on a duckdb connection, with SQLAlchemy's `:name` parameters: its rows."""
    return lambda sql, params=None: con.execute(_dollar(sql), params or {}).fetchall()


def _runner(conn: sa.Connection) -> Callable[..., list]:
    """`run(sql, params)` on a SQLAlchemy connection: one statement (`:name` parameters), its rows ([] if none)."""
    def run(sql: str, params: dict | None = None) -> list:
        result = conn.execute(sa.text(sql), params or {})
        return result.fetchall() if result.returns_rows else []
    return run


@contextlib.contextmanager
def _duckdb_transaction(con) -> Iterator[None]:
    """BEGIN … COMMIT on a DuckDB connection, ROLLBACK on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qualified(t: Table) -> str:
    return f"{_quote(t.schema)}.{_quote(t.name)}"


def _grantee(name: str) -> str:
    return "PUBLIC" if name == "PUBLIC" else _quote(name)


def _ensure_schema_postgres(cur, schema: str) -> None:
    # CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists: the owner role
    # of a deployment made by setup-db owns its schemas but need not create new ones.
    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    if cur.fetchone() is None:
        cur.execute(f"CREATE SCHEMA {_quote(schema)}")


def conform(frame: pd.DataFrame, t: Table, run_id: str, loaded_at: datetime) -> pd.DataFrame:
    """The frame with exactly the table's columns, in order, typed for a bulk load."""
    out = pd.DataFrame(index=range(len(frame)))
    frame = frame.reset_index(drop=True)
    for c in t.columns:
        if c.name == "run_id" and c.name not in frame:   # one label: categorical, scanned as an ENUM
            out[c.name] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[run_id])
        elif c.name == "cargado_en" and c.name not in frame:
            # one value for every row, without a Python datetime per row (0.05 s for the 336,000-row fact)
            out[c.name] = np.full(len(frame), np.datetime64(loaded_at.replace(tzinfo=None), "us"))
        elif c.name not in frame:
            out[c.name] = pd.Series([None] * len(frame), dtype="object")
        else:
            s = frame[c.name]
            if c.type in ("date", "timestamp"):
                s = pd.to_datetime(s, errors="coerce")
                if getattr(s.dt, "tz", None) is not None:
                    s = s.dt.tz_convert("UTC").dt.tz_localize(None)
                out[c.name] = s.astype("datetime64[us]")
            elif c.type == "bigint":
                out[c.name] = pd.to_numeric(s, errors="raise").astype("Int64")
            elif c.type == "boolean":
                out[c.name] = s.astype("boolean")
            elif c.type == "double":
                out[c.name] = pd.to_numeric(s, errors="raise").astype("Float64")
            else:
                out[c.name] = _text(s)
    return out


def origins(frame: pd.DataFrame, columns: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(origin of each row, 0..k-1 in order of first appearance; the row where each origin first appears):
    the distinct combinations of `columns` (a missing value is a value)."""
    origen, _ = pd.factorize(combined_key(frame[list(columns)]))
    first = pd.Series(origen).drop_duplicates().index.to_numpy()
    return origen.astype(np.int32), first


def _as_text(v):
    return v if v is None or isinstance(v, str) else str(v)


def _text(s: pd.Series) -> pd.Series:
    """Text values as Python str with None for missing, without a Python call per row where the column is
    already text (categorical labels are converted once per category)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        # kept categorical (DuckDB reads it as an ENUM, ~10x faster than Python strings) when its labels are
        # already distinct texts; else each row gets its label's text
        if all(isinstance(v, str) for v in s.cat.categories):
            return s.reset_index(drop=True)
        labels = np.array([_as_text(v) for v in s.cat.categories], dtype=object)
        codes = s.cat.codes.to_numpy()
        values = np.where(codes >= 0, labels[np.maximum(codes, 0)] if len(labels) else None, None)
        return pd.Series(values, dtype=object)
    values = s.astype("object").where(s.notna(), None)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return values.reset_index(drop=True)
    mapped = values.map(_as_text).astype(object)
    return mapped.where(mapped.notna(), None).reset_index(drop=True)


DUCKDB_CONFIG = {"threads": 2, "memory_limit": "1GB"}


def _copy_postgres(cur, t: Table, frame: pd.DataFrame) -> None:
    """COPY a conformed frame into `t`. DuckDB encodes it as CSV (in C++, ~30x faster than adapting each row
    in Python): NULL is an unquoted \\N and every text value is quoted, so an empty string or a literal
    '\\N' stays text. The file is streamed to PostgreSQL in 1 MB blocks."""
    import duckdb

    cols = ", ".join(_quote(c) for c in t.column_names)
    types = _TYPES["duckdb"]
    select = ", ".join(f"CAST({_quote(c.name)} AS {types[c.type]}) AS {_quote(c.name)}" for c in t.columns)
    text = [_quote(c.name) for c in t.columns if c.type == "text"]
    force = f", FORCE_QUOTE ({', '.join(text)})" if text else ""
    with tempfile.TemporaryDirectory(prefix="cies-copy-") as tmp:
        path = Path(tmp) / "tabla.csv"
        con = duckdb.connect()
        try:
            con.execute("SET threads = 2; SET enable_progress_bar = false; SET memory_limit = '512MB'; "
                        "SET preserve_insertion_order = false")     # the CSV on both threads, rows in any order
            con.register("tabla", frame)
            con.execute(f"COPY (SELECT {select} FROM tabla) TO '{path}' "
                        f"(FORMAT csv, HEADER false, NULLSTR '\\N'{force})")
        finally:
            con.close()
        with cur.copy(f"COPY {_qualified(t)} ({cols}) FROM STDIN (FORMAT csv, NULL '\\N')") as copy, \
                open(path, "rb") as f:
            while block := f.read(1 << 20):
                copy.write(block)


class Warehouse:
    """Plain (Dagster-free) access to the warehouse at `url`."""

    def __init__(self, url: str, lock_timeout_s: float = 900.0):
        self.url = url
        self.lock_timeout_s = lock_timeout_s
        self._engine: sa.Engine | None = None
        self._lock_depth = 0  # the process lock is re-entrant within one Warehouse (publish -> read back)
        self._session: Any = None  # the DuckDB connection of an open `session()`

    @property
    def dialect(self) -> str:
        return sa.engine.make_url(self.url).get_backend_name()

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            # DuckDB may otherwise take 80% of the machine's memory and print progress bars (engineering.md)
            connect_args = {"config": DUCKDB_CONFIG} if self.dialect == "duckdb" else {}
            self._engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool, connect_args=connect_args)
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # -- reading --------------------------------------------------------------------------------
    def query(self, sql: str, **params) -> pd.DataFrame:
        # DuckDB: one process at a time may open the file, readers included, so a read waits for another
        # refresh's publish instead of failing with "Could not set lock on file".
        with self._process_lock(), self.engine.connect() as conn:
            result = conn.execute(sa.text(sql), params)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def url_sin_clave(self) -> str:
        """The URL without its password (what identifies this warehouse in the cache of past publishes)."""
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def _duckdb_file(self) -> str | None:
        """The DuckDB file of this warehouse (None for PostgreSQL, other dialects and `:memory:`)."""
        database = sa.engine.make_url(self.url).database if self.dialect == "duckdb" else None
        return database if database and database != ":memory:" else None

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """The reads and writes inside run on one DuckDB connection, under the process lock held throughout:
        each open of the file costs 20-30 ms, and a publish reads the latest load, writes, then reads the counts
        back. Nothing changes on other databases (each use has its own connection) or inside another session."""
        if self._duckdb_file() is None or self._session is not None:
            yield
            return
        with self._duckdb() as con:
            self._session = con
            try:
                yield
            finally:
                self._session = None

    @contextlib.contextmanager
    def _duckdb(self) -> Iterator[Any]:
        """A DuckDB file opened with duckdb itself, under the process lock (the session's connection inside
        `session()`). A process's first SQLAlchemy connection to DuckDB also sets duckdb-engine's dialect up
        (about 0.04 s): the refresh's own reads and writes (repeat_load, latest_run_id, publish, table_counts)
        do without it."""
        if self._session is not None:
            yield self._session
            return
        database = self._duckdb_file()
        with self._process_lock(), contextlib.closing(duckdb.connect(database, config=DUCKDB_CONFIG)) as con:
            con.execute("SET enable_progress_bar = false")
            yield con

    def _read(self, read: Callable[[Callable[..., list]], Any]) -> Any:
        """`read(run)` in one connection under the refresh lock: a DuckDB file opened with duckdb itself, any
        other database through the engine; `run(sql, params)` takes `:name` parameters and returns the rows."""
        if self._duckdb_file():
            with self._duckdb() as con:
                return read(_duckdb_runner(con))
        with self._process_lock(), self.engine.connect() as conn:
            return read(_runner(conn))

    def latest_run_id(self) -> str | None:
        """run_id of the latest load recorded in warehouse.cargas (None when there is none)."""
        return self._read(self._latest_run_id)

    @staticmethod
    def _latest_run_id(run: Callable[..., list]) -> str | None:
        """`run(sql, params)` executes one statement (`:name` parameters) and returns its rows."""
        t = TABLES["warehouse.cargas"]
        # information_schema, not SQLAlchemy's inspector: duckdb-engine's reflection takes ~0.2 s
        exists = run("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s AND table_name = :t",
                     {"s": t.schema, "t": t.name})[0][0]
        rows = run(f"SELECT run_id FROM {_qualified(t)} ORDER BY iniciado DESC LIMIT 1") if exists else []
        return str(rows[0][0]) if rows else None

    def table_counts(self) -> dict[str, int]:
        # Under the refresh lock: on DuckDB a reader process would collide with another refresh's writer.
        # One connection (on DuckDB each opens the file) and one statement for every table (reflection and one
        # query per table cost ~0.1 s each).
        def counts(run: Callable[..., list]) -> dict[str, int]:
            present = {tuple(r) for r in run("SELECT table_schema, table_name FROM information_schema.tables")}
            tables = [t for t in TABLES.values() if (t.schema, t.name) in present]
            if not tables:
                return {}
            sql = " UNION ALL ".join(f"SELECT '{t.qualified}' AS tabla, count(*) AS n FROM {_qualified(t)}"
                                     for t in tables)
            return {str(k): int(n) for k, n in run(sql)}

        return self._read(counts)

    def fingerprint(self, exclude: tuple[str, ...] = ("run_id", "cargado_en")) -> dict[str, tuple[int, str]]:
        """{table: (rows, sha256)} of every existing table but the append-only load log, over all columns
        except `exclude`, rows sorted: equal fingerprints mean the same rows, whatever order or run."""
        import hashlib

        out = {}
        with self._process_lock():
            inspector = sa.inspect(self.engine)
            for t in TABLES.values():
                if t.append_only or not inspector.has_table(t.name, schema=t.schema):
                    continue
                cols = [c for c in t.column_names if c not in exclude]
                frame = self.query(f"SELECT {', '.join(_quote(c) for c in cols)} FROM {_qualified(t)}")
                rows = sorted(json.dumps([None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                                          for v in row], ensure_ascii=False)
                              for row in frame.astype(object).itertuples(index=False, name=None))
                out[t.qualified] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
        return out

    # -- locking --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _process_lock(self):
        """Serialise refreshes of an embedded database across processes (DuckDB: one writer)."""
        database = self._duckdb_file()
        if database is None or self._lock_depth:
            yield
            return
        lock_path = Path(database + ".lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)   # every use of the file starts here
        with open(lock_path, "w") as handle:
            deadline = time.monotonic() + self.lock_timeout_s
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise PublishLockTimeout(
                            f"another refresh has held {lock_path} for more than "
                            f"{self.lock_timeout_s:.0f} s; not publishing") from None
                    time.sleep(0.2)
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- writing --------------------------------------------------------------------------------
    def repeat_load(self, previous_run_id: str, run_id: str, at: datetime, only_if_latest: bool = False) -> bool:
        """Record in warehouse.cargas a refresh that found nothing to change: the row of the load
        `previous_run_id` (same files, release, versions and table sizes) with this run's id and times.

        One connection and one transaction (ingest/cambios runs it on every refresh that skips). A DuckDB file is
        opened with duckdb itself: a process's first SQLAlchemy connection also sets duckdb-engine's dialect up
        (about 0.04 s, half of a skipped refresh). With `only_if_latest`, the row is copied only if that load is
        still the warehouse's latest (False otherwise: nothing written); a load that is not there is an error."""
        t = TABLES["warehouse.cargas"]
        table = _qualified(t)
        new = {"run_id": "CAST(:run_id AS VARCHAR)", "iniciado": "CAST(:at AS TIMESTAMP)",
               "terminado": "CAST(:at AS TIMESTAMP)", "cargado_en": "CAST(:at AS TIMESTAMP)"}
        insert = (f"INSERT INTO {table} ({', '.join(_quote(c) for c in t.column_names)}) "
                  f"SELECT {', '.join(new.get(c, _quote(c)) for c in t.column_names)} FROM {table} "
                  f"WHERE run_id = :previous ORDER BY iniciado DESC LIMIT 1")
        params = {"run_id": run_id, "at": at.astimezone(timezone.utc).replace(tzinfo=None),
                  "previous": previous_run_id}

        def repeat(run: Callable[..., list]) -> bool:
            if only_if_latest:   # an empty warehouse, or a later load: nothing to repeat
                if self._latest_run_id(run) != previous_run_id:
                    return False
            elif not run(f"SELECT count(*) FROM {table} WHERE run_id = :previous",
                         {"previous": previous_run_id})[0][0]:
                raise ValueError(f"warehouse.cargas has no load {previous_run_id} to repeat")
            run(insert, params)
            return True

        if self._duckdb_file():
            with self._duckdb() as con, _duckdb_transaction(con):
                return repeat(_duckdb_runner(con))
        with self._process_lock(), self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})
            return repeat(_runner(conn))

    def publish(self, frames: dict[str, pd.DataFrame], run_id: str,
                loaded_at: datetime | None = None) -> dict[str, int]:
        """Replace (or, for append-only tables, extend) every given table in one transaction.

        `frames` maps a qualified table name of schema.TABLES to its new contents. Returns rows written.
        """
        loaded_at = loaded_at or datetime.now(timezone.utc)
        unknown = set(frames) - set(TABLES)
        if unknown:
            raise KeyError(f"not tables of the warehouse contract: {sorted(unknown)}")
        conformed = {name: conform(frame, TABLES[name], run_id, loaded_at) for name, frame in frames.items()}
        with self._process_lock():
            if self.dialect == "duckdb":
                self._publish_duckdb(conformed)
            elif self.dialect == "postgresql":
                self._publish_postgres(conformed)
            else:
                self._publish_generic(conformed)
        return {name: len(frame) for name, frame in conformed.items()}

    def _ddl(self, t: Table) -> str:
        types = _TYPES.get(self.dialect, _TYPES["postgresql"])
        cols = ", ".join(f"{_quote(c.name)} {types[c.type]}" for c in t.columns)
        return f"CREATE TABLE {_qualified(t)} ({cols})"

    def _publish_duckdb(self, frames: dict[str, pd.DataFrame]) -> None:
        if self._duckdb_file():
            with self._duckdb() as duck:
                self._write_duckdb(duck, frames)
            return
        raw = self.engine.raw_connection()     # an in-memory database lives in the engine's connection
        try:
            self._write_duckdb(raw.driver_connection, frames)
        finally:
            raw.close()

    def _write_duckdb(self, duck, frames: dict[str, pd.DataFrame]) -> None:
        class _Con:  # DuckDB 2 refuses new work while a result is unread: always drain it.
            @staticmethod
            def execute(sql, params=None):
                return duck.execute(sql, params).fetchall() if params else duck.execute(sql).fetchall()

            register, unregister = duck.register, duck.unregister

        con = _Con()
        # One thread: DuckDB then compresses each table's row groups as it inserts them. On two threads
        # (rows in any order) the insert of the 336,000-row fact took 0.15 s instead of 0.27 s, but left the
        # compression to the checkpoint when the file is closed (0.15-0.2 s): the whole publish, close
        # included, took 0.46-0.58 s, and 0.38-0.41 s on one thread (benchmarks/municipal.py data, 11 years).
        # A checkpoint threshold of 1 MB: the commit writes the tables into the database file (a checkpoint)
        # instead of logging the smaller ones (under a row group each) to the write-ahead log, which the close
        # then copied into the file again. The 11-year publish: no 11 MB log left, 0.29 s instead of 0.31 s.
        threads, threshold = (con.execute(f"SELECT current_setting('{name}')")[0][0]
                              for name in ("threads", "checkpoint_threshold"))
        con.execute("SET enable_progress_bar = false; SET threads = 1; SET checkpoint_threshold = '1MB'")
        try:
            self._insert_duckdb(con, frames)
        finally:   # the caller's connection (and database) keep their own settings
            con.execute(f"SET threads = {int(threads)}; SET checkpoint_threshold = '{threshold}'")

    def _insert_duckdb(self, con, frames: dict[str, pd.DataFrame]) -> None:
        with _duckdb_transaction(con):
            for i, (name, frame) in enumerate(frames.items()):
                t = TABLES[name]
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(t.schema)}")
                found = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = ? "
                                    "AND table_name = ?", [t.schema, t.name])
                kind = found[0][0] if found else None      # 'BASE TABLE', 'VIEW' or None
                if t.por_origen:
                    self._insert_duckdb_split(con, t, frame, kind, f"__cies_publish_{i}")
                    continue
                if kind == "VIEW":
                    con.execute(f"DROP VIEW {_qualified(t)}")
                    kind = None
                if not t.append_only or not kind:
                    con.execute(f"DROP TABLE IF EXISTS {_qualified(t)}")
                    con.execute(self._ddl(t))
                self._insert_frame_duckdb(con, _qualified(t), t.columns, frame, f"__cies_publish_{i}")
            self._create_views_duckdb(con)

    @staticmethod
    def _insert_frame_duckdb(con, table: str, columns, frame: pd.DataFrame, view: str) -> None:
        types = _TYPES["duckdb"]
        con.register(view, frame)
        select = ", ".join(f"CAST({_quote(c.name)} AS {types[c.type]})" for c in columns)
        con.execute(f"INSERT INTO {table} ({', '.join(_quote(c.name) for c in columns)}) SELECT {select} "
                    f"FROM {view}")
        con.unregister(view)

    def _insert_duckdb_split(self, con, t: Table, frame: pd.DataFrame, kind: str | None, view: str) -> None:
        """A table with `por_origen` columns, as a view over two tables (DuckDB only): `<name>__filas`
        (the other columns and `origen`) and `<name>__origen` (`origen` and those columns, one row per distinct
        combination). Analysts read the view: the contract's name, columns and types. Why: DuckDB spends its
        commit analysing and compressing each text column, however few its values (0.02-0.04 s per column of
        the 330,000-row fact, a constant one included): the 11-year fact, written alone, took 0.31-0.40 s as
        one table and 0.10-0.12 s without those columns."""
        rows_table, origin_table = (f"{_quote(t.schema)}.{_quote(name)}" for name in t.tablas_duckdb)
        if kind == "VIEW":
            con.execute(f"DROP VIEW {_qualified(t)}")
        elif kind:
            con.execute(f"DROP TABLE {_qualified(t)}")       # written before tables were split
        con.execute(f"DROP TABLE IF EXISTS {rows_table}")
        con.execute(f"DROP TABLE IF EXISTS {origin_table}")
        origen, first = origins(frame, t.por_origen)
        per_origin = [c for c in t.columns if c.name in t.por_origen]
        per_row = [c for c in t.columns if c.name not in t.por_origen]
        key = Column("origen", "bigint", "")
        types = _TYPES["duckdb"]
        for table, columns in ((origin_table, (key, *per_origin)), (rows_table, (*per_row, key))):
            con.execute(f"CREATE TABLE {table} ("
                        + ", ".join(f"{_quote(c.name)} {types[c.type]}" for c in columns) + ")")
        origin_frame = frame.iloc[first][[c.name for c in per_origin]].reset_index(drop=True)
        origin_frame.insert(0, "origen", np.arange(len(first), dtype=np.int32))
        rows_frame = frame[[c.name for c in per_row]].assign(origen=origen)
        self._insert_frame_duckdb(con, origin_table, (key, *per_origin), origin_frame, view)
        self._insert_frame_duckdb(con, rows_table, (*per_row, key), rows_frame, view)
        select = ", ".join(f"{'o' if c.name in t.por_origen else 'f'}.{_quote(c.name)}" for c in t.columns)
        con.execute(f"CREATE VIEW {_qualified(t)} AS SELECT {select} FROM {rows_table} AS f "
                    f"JOIN {origin_table} AS o ON f.origen = o.origen")

    def _publish_postgres(self, frames: dict[str, pd.DataFrame]) -> None:
        raw = self.engine.raw_connection()
        try:
            con = raw.driver_connection  # psycopg 3
            with con.transaction():
                with con.cursor() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_KEY,))
                    view_grants = self._view_grants_postgres(cur)  # a CASCADE below may drop a view
                    for name, frame in frames.items():
                        t = TABLES[name]
                        _ensure_schema_postgres(cur, t.schema)
                        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema "
                                    "= %s AND table_name = %s ORDER BY ordinal_position", (t.schema, t.name))
                        existing = [r[0] for r in cur.fetchall()]
                        if existing != t.column_names:
                            # A changed table is recreated; whoever could read it still can.
                            cur.execute("SELECT grantee, privilege_type FROM information_schema.role_table_grants "
                                        "WHERE table_schema = %s AND table_name = %s AND grantee <> "
                                        "current_user", (t.schema, t.name))
                            grants = cur.fetchall()
                            cur.execute(f"DROP TABLE IF EXISTS {_qualified(t)} CASCADE")
                            cur.execute(self._ddl(t))
                            for grantee, privilege in grants:
                                cur.execute(f"GRANT {privilege} ON {_qualified(t)} TO {_grantee(grantee)}")
                        elif not t.append_only:
                            # DELETE, not TRUNCATE: MVCC-safe for readers; views and grants stay valid.
                            cur.execute(f"DELETE FROM {_qualified(t)}")
                        _copy_postgres(cur, t, frame)
                    self._create_views_postgres(cur, view_grants)
        finally:
            raw.close()

    def _create_views_duckdb(self, con) -> None:
        """Every view of schema.VIEWS whose tables exist, in the publish transaction (DuckDB binds a view's
        tables by name, so replacing it after the tables were recreated is enough)."""
        existing = {f"{s}.{n}" for s, n in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables")}
        for v in VIEWS.values():
            if all(source in existing for source in v.sources):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(v.schema)}")
                con.execute(self._view_ddl(v))

    def _view_ddl(self, v: View) -> str:
        return f"CREATE OR REPLACE VIEW {_quote(v.schema)}.{_quote(v.name)} AS {v.sql}"

    @staticmethod
    def _view_grants_postgres(cur) -> dict[str, list[tuple[str, str]]]:
        grants: dict[str, list[tuple[str, str]]] = {}
        for v in VIEWS.values():
            cur.execute("SELECT grantee, privilege_type FROM information_schema.role_table_grants "
                        "WHERE table_schema = %s AND table_name = %s AND grantee <> current_user",
                        (v.schema, v.name))
            grants[v.qualified] = cur.fetchall()
        return grants

    def _create_views_postgres(self, cur, grants: dict[str, list[tuple[str, str]]]) -> None:
        """Every view of schema.VIEWS whose tables exist, in the publish transaction. CREATE OR REPLACE
        keeps a view's grants; a view that had to go (its columns changed, or a recreated table dropped it
        by CASCADE) is created again with the grants it had when the transaction began."""
        for v in VIEWS.values():
            present = True
            for source in v.sources:
                schema, name = source.split(".")
                cur.execute("SELECT to_regclass(%s)", (f"{_quote(schema)}.{_quote(name)}",))
                present = present and cur.fetchone()[0] is not None
            if not present:
                continue
            _ensure_schema_postgres(cur, v.schema)
            cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                        "AND table_name = %s ORDER BY ordinal_position", (v.schema, v.name))
            existing = [r[0] for r in cur.fetchall()]
            if existing and existing != [c.name for c in v.columns]:
                cur.execute(f"DROP VIEW {_quote(v.schema)}.{_quote(v.name)}")  # PostgreSQL cannot replace it
            cur.execute(self._view_ddl(v))
            for grantee, privilege in grants.get(v.qualified, []):
                cur.execute(f"GRANT {privilege} ON {_quote(v.schema)}.{_quote(v.name)} TO {_grantee(grantee)}")

    def ensure_tables(self) -> list[str]:
        """Create (empty) every table of the contract that does not exist yet, and the views over them, in
        one transaction; existing tables are untouched. Returns the tables created. PostgreSQL and DuckDB."""
        empty = {name: conform(pd.DataFrame(), t, "", datetime.now(timezone.utc)) for name, t in TABLES.items()}
        with self._process_lock():
            inspector = sa.inspect(self.engine)
            missing = {name: frame for name, frame in empty.items()
                       if not inspector.has_table(TABLES[name].name, schema=TABLES[name].schema)}
            if self.dialect == "duckdb":
                self._publish_duckdb(missing)
            elif self.dialect == "postgresql":
                self._publish_postgres(missing)
            else:
                self._publish_generic(missing)
        return sorted(missing)

    def _publish_generic(self, frames: dict[str, pd.DataFrame]) -> None:
        metadata = sa.MetaData()
        with self.engine.begin() as conn:
            for name, frame in frames.items():
                t = TABLES[name]
                table = sa.Table(t.name, metadata, *[sa.Column(c.name, sa.Text) for c in t.columns],
                                 schema=t.schema)
                if not t.append_only:
                    table.drop(conn, checkfirst=True)
                table.create(conn, checkfirst=True)
                records = frame.astype(object).where(frame.notna(), None).to_dict("records")
                if records:
                    conn.execute(table.insert(), records)


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse, by SQLAlchemy URL (env CIES_WAREHOUSE_URL; default DuckDB under CIES_DATA_DIR)."""

    url: str
    _warehouse: Warehouse | None = PrivateAttr(default=None)

    def get(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse(self.url)
        return self._warehouse

    def teardown_after_execution(self, context) -> None:
        if self._warehouse is not None:
            self._warehouse.dispose()


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
