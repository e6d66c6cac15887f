"""Who may read what on the PostgreSQL warehouse (domain.md section 6, end): `cies-pipeline setup-db`.

Two roles, both created if missing (names configurable, so tests use their own):
- the owner (default `cies_pipeline`): owns the schemas `staging`, `quality`, `warehouse` and `publicado`
  and every table and view in them; the pipeline connects as it (CIES_WAREHOUSE_URL).
- the analyst (default `cies_analista`), read-only: the `publicado` views (small victim counts suppressed),
  the dim_* tables, reconciliacion*, cie_estatus, cie_acuerdos, cargas and fact_carpetas_trata. Not
  fact_victimas_trata (nor its suppression flags), not `staging`, not `quality`: deny by default, so a new
  warehouse table is closed to analysts until it is added to ANALYST_TABLES.

Idempotent: running it again changes nothing that is already right. Grants survive refreshes because the
publish empties and refills tables (DELETE + COPY) and replaces views with CREATE OR REPLACE (see
warehouse/resource.py); ALTER DEFAULT PRIVILEGES also opens any view the owner creates in `publicado`.
Run it with an administrator's URL (a superuser, or a role with CREATEROLE that owns the database).
"""
from __future__ import annotations

import os

import sqlalchemy as sa
from psycopg import sql

from cies_pipeline.warehouse.resource import Warehouse
from cies_pipeline.warehouse.schema import TABLES

PIPELINE_SCHEMAS = ("staging", "quality", "warehouse", "publicado")
ANALYST_SCHEMAS = ("warehouse", "publicado")


def analyst_readable(qualified: str) -> bool:
    """The warehouse tables the analyst role reads directly (domain.md section 6)."""
    schema, name = qualified.split(".")
    return schema == "warehouse" and (name.startswith(("dim_", "reconciliacion")) or name in {
        "cie_estatus", "cie_acuerdos", "cargas", "fact_carpetas_trata"})


ANALYST_TABLES = [name for name in TABLES if analyst_readable(name)]


def _ensure_role(cur, role: str, password: str | None) -> bool:
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
    created = cur.fetchone() is None
    if created:
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(sql.Identifier(role)))
    if password:
        cur.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
    return created


def setup_database(admin_url: str, owner: str = "cies_pipeline", analyst: str = "cies_analista",
                   owner_password: str | None = None, analyst_password: str | None = None) -> dict:
    """Create roles, schemas, the (empty) tables and views, ownership and grants. Returns what it did."""
    wh = Warehouse(admin_url)
    if wh.dialect != "postgresql":
        raise ValueError(f"setup-db manages PostgreSQL roles; {admin_url.split('://')[0]} has none")
    owner_password = owner_password or os.environ.get("CIES_OWNER_PASSWORD") or None
    analyst_password = analyst_password or os.environ.get("CIES_ANALISTA_PASSWORD") or None
    raw = wh.engine.raw_connection()
    try:
        con = raw.driver_connection
        with con.transaction(), con.cursor() as cur:
            created = [r for r, p in ((owner, owner_password), (analyst, analyst_password))
                       if _ensure_role(cur, r, p)]
            for schema in PIPELINE_SCHEMAS:
                cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                    sql.Identifier(schema), sql.Identifier(owner)))
                cur.execute(sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(sql.Identifier(schema), sql.Identifier(owner)))
                cur.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(sql.Identifier(schema)))
    finally:
        raw.close()
    tables_created = wh.ensure_tables()  # so that grants have their tables before the first refresh
    raw = wh.engine.raw_connection()
    try:
        con = raw.driver_connection
        with con.transaction(), con.cursor() as cur:
            cur.execute("SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'v', 'm') "
                        "ORDER BY 1, 2", (list(PIPELINE_SCHEMAS),))
            relations = cur.fetchall()
            for schema, name, kind in relations:
                what = {"r": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW"}[kind]
                cur.execute(sql.SQL("ALTER {} {}.{} OWNER TO {}").format(
                    sql.SQL(what), sql.Identifier(schema), sql.Identifier(name), sql.Identifier(owner)))
            # Start from nothing, then grant exactly the contract: a re-run also takes back what was removed.
            for schema in PIPELINE_SCHEMAS:
                cur.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(
                    sql.Identifier(schema), sql.Identifier(analyst)))
                cur.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM {}").format(
                    sql.Identifier(schema), sql.Identifier(analyst)))
            for schema in ANALYST_SCHEMAS:
                cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                    sql.Identifier(schema), sql.Identifier(analyst)))
            for qualified in ANALYST_TABLES:
                schema, name = qualified.split(".")
                cur.execute(sql.SQL("GRANT SELECT ON {}.{} TO {}").format(
                    sql.Identifier(schema), sql.Identifier(name), sql.Identifier(analyst)))
            cur.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA publicado TO {}").format(sql.Identifier(analyst)))
            cur.execute(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA publicado GRANT SELECT ON TABLES TO {}")
                        .format(sql.Identifier(owner), sql.Identifier(analyst)))
            cur.execute("SELECT current_database()")
            database = cur.fetchone()[0]
            cur.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(owner)))
            cur.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(database), sql.Identifier(analyst)))
    finally:
        raw.close()
        wh.dispose()
    return {"roles_creados": created, "tablas_creadas": tables_created, "relaciones": len(relations),
            "tablas_analista": ANALYST_TABLES, "owner": owner, "analista": analyst}
