"""Throw-away PostgreSQL databases and roles for tests (not a test module itself).

A test that needs PostgreSQL calls `require_postgres()`: it skips with the reason when no server answers,
except under CI (env CI set), where it fails loudly, so CI can never go green by skipping.
Server: env CIES_TEST_POSTGRES_URL, default postgresql+psycopg://root@127.0.0.1:5432/test (trust auth).
"""
from __future__ import annotations

import contextlib
import os
import uuid

import pytest
import sqlalchemy as sa


def admin_url() -> str:
    return os.environ.get("CIES_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def require_postgres() -> None:
    engine = sa.create_engine(admin_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL must answer in CI ({admin_url()}): {exc}") from exc
        pytest.skip(f"no PostgreSQL server answers at {admin_url()} (set CIES_TEST_POSTGRES_URL)")
    finally:
        engine.dispose()


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _admin_execute(*statements: str) -> None:
    engine = sa.create_engine(admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


@contextlib.contextmanager
def throwaway_database(prefix: str = "cies_test"):
    """Yields the SQLAlchemy URL (psycopg 3) of a new, empty database; drops it WITH (FORCE) afterwards."""
    require_postgres()
    name = unique_name(prefix)
    _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(admin_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_roles(url: str, *roles: str) -> None:
    """Roles are cluster-wide: a test drops its own (objects first, in the database that holds them)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            for role in roles:
                exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
                if exists:
                    conn.execute(sa.text(f'DROP OWNED BY "{role}" CASCADE'))
    finally:
        engine.dispose()
    _admin_execute(*[f'DROP ROLE IF EXISTS "{role}"' for role in roles])
