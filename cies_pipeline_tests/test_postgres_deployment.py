"""The shared deployment on PostgreSQL: roles and grants (setup-db), the Dagster instance of
docs/dagster.postgres.yaml, personal data nowhere (warehouse nor event log), SQL-looking labels verbatim.

One module-scoped deployment: a throw-away warehouse database prepared by `setup_database` with this
module's own role names, a throw-away Dagster database, the sample data plus one hostile state report, and
a full refresh run AS THE OWNER ROLE through an instance loaded from docs/dagster.postgres.yaml.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from pgtools import drop_roles, throwaway_database, unique_name
from test_pipeline import PII_VALUES, refresh
from cies_pipeline.cli import main as cli_main
from cies_pipeline.warehouse.resource import Warehouse
from cies_pipeline.warehouse.roles import ANALYST_TABLES, setup_database

DAGSTER_YAML = Path(__file__).resolve().parents[1] / "docs" / "dagster.postgres.yaml"

# Labels a state might write, that look like SQL: they must come out exactly as they went in.
HOSTILE = {
    "id_acuerdo": "CAM-1' OR '1'='1",
    "descripcion": "Robert'); DROP TABLE warehouse.cargas; --",
    "responsable": 'Fiscalía "Especializada"; DELETE FROM warehouse.dim_entidad; -- fin',
    "forma": "x'); DROP TABLE quality.cuarentena; -- \\ $$ ;",
    "municipio": 'San Juan"; SELECT pg_sleep(10); --',
}


def write_hostile_report(inbox: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "acuerdos"
    ws.append(["entidad", "id_acuerdo", "fecha_sesion", "descripcion", "responsable", "estatus",
               "fecha_compromiso"])
    ws.append(["Campeche", HOSTILE["id_acuerdo"], "2025-03-10", HOSTILE["descripcion"], HOSTILE["responsable"],
               "Pendiente", "2026-03-10"])
    ws = wb.create_sheet("victimas")
    ws.append(["periodo", "entidad", "municipio", "forma_explotacion", "sexo", "grupo_edad", "nacionalidad",
               "victimas"])
    ws.append(["2025-03", "Campeche", HOSTILE["municipio"], HOSTILE["forma"], "Mujer", "Adultos (18 y más)",
               "Mexicana", 2])
    wb.save(inbox / "Campeche_CIE_2025.xlsx")


def _as(url: str, role: str) -> str:
    return sa.engine.make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, sample_dir):
    owner, analyst = unique_name("cies_owner"), unique_name("cies_analista")
    data = tmp_path_factory.mktemp("deploy")
    shutil.copytree(sample_dir, data, dirs_exist_ok=True)
    write_hostile_report(data / "inbox" / "state_reports")
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    with throwaway_database("cies_wh") as admin, throwaway_database("cies_dagster") as dagster_db, \
            pytest.MonkeyPatch.context() as mp:
        try:
            first = setup_database(admin, owner=owner, analyst=analyst)
            # the CLI again: idempotent, nothing to create the second time
            assert cli_main(["setup-db", "--url", admin, "--owner", owner, "--analista", analyst]) == 0
            u = sa.engine.make_url(dagster_db)
            mp.setenv("DAGSTER_HOME", str(home))
            mp.setenv("CIES_DAGSTER_PG_USER", u.username)
            mp.setenv("CIES_DAGSTER_PG_PASSWORD", "no-se-usa-con-trust")
            mp.setenv("CIES_DAGSTER_PG_HOST", u.host)
            mp.setenv("CIES_DAGSTER_PG_PORT", str(u.port))
            mp.setenv("CIES_DAGSTER_PG_DB", u.database)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                result = refresh(data, _as(admin, owner), instance=instance)
                assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
                yield {"admin": admin, "dagster_db": dagster_db, "owner": owner, "analyst": analyst,
                       "data": data, "instance": instance, "result": result, "setup": first}
        finally:
            drop_roles(admin, owner, analyst)


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def test_setup_db_creates_roles_schemas_and_tables(deployment):
    setup = deployment["setup"]
    assert setup["roles_creados"] == [deployment["owner"], deployment["analyst"]]
    assert "warehouse.fact_victimas_trata" in setup["tablas_creadas"]
    assert "warehouse.fact_victimas_trata" not in ANALYST_TABLES
    wh = Warehouse(deployment["admin"])
    owners = wh.query("SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace "
                      "WHERE nspname IN ('staging', 'quality', 'warehouse', 'publicado') ORDER BY 1")
    assert owners.values.tolist() == [[s, deployment["owner"]] for s in ("publicado", "quality", "staging",
                                                                         "warehouse")]
    # the refresh ran as the owner: every table and view is its own
    others = wh.query("SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c "
                      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('quality', 'warehouse', "
                      "'publicado') AND c.relkind IN ('r', 'v') AND pg_get_userbyid(c.relowner) <> :o", o=deployment["owner"])
    assert others.empty, others
    wh.dispose()


def _analyst_reads(deployment) -> None:
    engine = _engine(_as(deployment["admin"], deployment["analyst"]))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT count(*), count(*) FILTER (WHERE suprimida), "
                                        "count(*) FILTER (WHERE suprimida AND victimas IS NOT NULL) "
                                        "FROM publicado.victimas_municipio")).one()
            assert rows[0] > 100 and rows[1] > 0 and rows[2] == 0
            rates = conn.execute(sa.text("SELECT count(*) FILTER (WHERE suprimida), count(*) FILTER (WHERE "
                                         "suprimida AND (valor IS NOT NULL OR tasa_100k IS NOT NULL)) "
                                         "FROM publicado.indicadores")).one()
            assert rates[0] > 0 and rates[1] == 0
            for qualified in ANALYST_TABLES:
                conn.execute(sa.text(f"SELECT count(*) FROM {qualified}")).one()
        for denied in ("staging.cualquiera", "quality.cuarentena", "quality.columnas_rechazadas",
                       "warehouse.fact_victimas_trata", "warehouse.victimas_municipio_supresion",
                       "warehouse.indicadores", "warehouse.indicadores_supresion"):
            with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.execute(sa.text(f"SELECT * FROM {denied} LIMIT 1"))
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("DELETE FROM warehouse.reconciliacion"))
    finally:
        engine.dispose()


def test_the_analyst_reads_publicado_and_is_denied_the_detail(deployment):
    # a table in staging, so that the denial is about the schema, not a missing table
    engine = _engine(_as(deployment["admin"], deployment["owner"]))
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS staging.cualquiera (x int)"))
    engine.dispose()
    _analyst_reads(deployment)


def test_grants_survive_another_refresh_and_setup_db_again(deployment):
    # (an ephemeral Dagster instance: this is about the warehouse's grants, and the PostgreSQL event log is slow)
    result = refresh(deployment["data"], _as(deployment["admin"], deployment["owner"]))
    assert result.success
    _analyst_reads(deployment)
    again = setup_database(deployment["admin"], owner=deployment["owner"], analyst=deployment["analyst"])
    assert again["roles_creados"] == [] and again["tablas_creadas"] == []
    _analyst_reads(deployment)


def test_the_run_is_stored_in_the_postgres_dagster_instance(deployment):
    instance, result = deployment["instance"], deployment["result"]
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    coordinator = instance.run_coordinator
    assert type(coordinator).__name__ == "QueuedRunCoordinator"
    assert coordinator.get_run_queue_config().max_concurrent_runs == 1
    assert coordinator.get_run_queue_config().tag_concurrency_limits == [{"key": "cies/refresco", "limit": 1}]
    assert result.dagster_run.tags["cies/refresco"] == "completo"
    db = Warehouse(deployment["dagster_db"])
    runs = db.query("SELECT run_id, pipeline_name, status FROM runs WHERE run_id = :r", r=result.run_id)
    assert runs.values.tolist() == [[result.run_id, "refresh", "SUCCESS"]]
    n = db.query("SELECT count(*) AS n FROM event_logs WHERE run_id = :r", r=result.run_id)["n"][0]
    assert n > 100
    db.dispose()


def test_credentials_come_from_the_environment_or_nothing(deployment, monkeypatch, tmp_path):
    shutil.copy(DAGSTER_YAML, tmp_path / "dagster.yaml")
    monkeypatch.delenv("CIES_DAGSTER_PG_PASSWORD")
    with pytest.raises(Exception, match="CIES_DAGSTER_PG_PASSWORD"):
        dg.DagsterInstance.from_config(str(tmp_path)).run_storage  # noqa: B018


def _text_columns(wh: Warehouse) -> list[tuple[str, str, str]]:
    f = wh.query("SELECT table_schema, table_name, column_name FROM information_schema.columns "
                 "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                 "AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')")
    return [tuple(r) for r in f.itertuples(index=False)]


def _needles() -> list[str]:
    # as written, and as JSON writes them with ensure_ascii (the event log stores serialised JSON)
    return sorted({v for value in PII_VALUES for v in (value, json.dumps(value)[1:-1])})


def test_personal_data_is_in_no_text_column_of_any_schema_nor_in_the_event_log(deployment):
    refused = Warehouse(deployment["admin"])
    assert refused.query("SELECT columna FROM quality.columnas_rechazadas WHERE motivo = 'dato_personal' "
                         "ORDER BY 1")["columna"].tolist() == ["CURP", "Nombre de la víctima"]
    for db_url, min_columns in ((deployment["admin"], 100), (deployment["dagster_db"], 20)):
        wh = Warehouse(db_url)
        columns = _text_columns(wh)
        assert len(columns) >= min_columns  # the search really covers the schemas
        for schema, table, column in columns:
            for needle in _needles():
                hits = wh.query(f'SELECT count(*) AS n FROM "{schema}"."{table}" WHERE "{column}"::text LIKE :v',
                                v=f"%{needle}%")
                assert int(hits["n"][0]) == 0, (db_url, schema, table, column)
        wh.dispose()
    # and the run's records as the instance returns them (metadata, previews, logs)
    records = deployment["instance"].all_logs(deployment["result"].run_id)
    assert len(records) > 100
    text = "\n".join(str(r) for r in records)
    assert "Tlaxcala_CIE_2025.xlsx" in text  # the file WAS read and reported
    for needle in _needles():
        assert needle not in text
    refused.dispose()


def test_labels_that_look_like_sql_are_stored_verbatim(deployment):
    wh = Warehouse(deployment["admin"])
    acuerdo = wh.query("SELECT id_acuerdo, descripcion, responsable FROM warehouse.cie_acuerdos WHERE cve_ent = '04'")
    assert acuerdo.values.tolist() == [[HOSTILE["id_acuerdo"], HOSTILE["descripcion"], HOSTILE["responsable"]]]
    labels = wh.query("SELECT columna, etiqueta FROM quality.etiquetas_sin_mapeo "
                      "WHERE archivo_origen = 'Campeche_CIE_2025.xlsx' ORDER BY 1")
    assert labels.values.tolist() == [["forma_explotacion", HOSTILE["forma"]], ["municipio", HOSTILE["municipio"]]]
    # nothing those labels "say" happened: the tables they name are there, with their rows
    assert wh.query("SELECT count(*) AS n FROM warehouse.dim_entidad")["n"][0] == 32
    assert wh.query("SELECT count(*) AS n FROM warehouse.cargas")["n"][0] >= 1
    victims = wh.query("SELECT cvegeo, forma_explotacion, victimas FROM warehouse.fact_victimas_trata "
                       "WHERE cve_ent = '04' AND fuente = 'CIE'")
    assert victims.values.tolist() == [["04998", "SIN_CLASIFICAR", 2]]
    wh.dispose()
