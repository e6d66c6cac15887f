"""warehouse/resource.py: atomic publish, append-only load log, the refresh lock, and the PostgreSQL COPY path."""
from __future__ import annotations

import fcntl
import os
import uuid
from pathlib import Path
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
import sqlalchemy as sa

from cies_pipeline.warehouse import resource
from cies_pipeline.warehouse.resource import PublishLockTimeout, Warehouse

T = pd.Timestamp


def reconciliacion(estatus: str) -> pd.DataFrame:
    return pd.DataFrame({"periodo": [T("2025-01-01"), T("2025-02-01")], "cve_ent": ["14", "14"],
                         "medida": ["carpetas", "carpetas"], "valor_cie": pd.array([3, None], dtype="Int64"),
                         "valor_sesnsp": [3, 0], "diferencia": pd.array([0, None], dtype="Int64"),
                         "estatus": [estatus, "sin_reporte_cie"]})


def entidad(nombre: str) -> pd.DataFrame:
    return pd.DataFrame({"cve_ent": ["14"], "nombre": [nombre], "nombre_corto": ["Jalisco"], "abreviatura": ["Jal."]})


def test_publish_replaces_tables_and_appends_the_load_log(tmp_path):
    wh = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    wh.publish({"warehouse.reconciliacion": reconciliacion("coincide"),
                "warehouse.cargas": pd.DataFrame({"run_id": ["r1"]})}, run_id="r1")
    written = wh.publish({"warehouse.reconciliacion": reconciliacion("discrepa"),
                          "warehouse.cargas": pd.DataFrame({"run_id": ["r2"]})}, run_id="r2")
    assert written == {"warehouse.reconciliacion": 2, "warehouse.cargas": 1}
    rec = wh.query("SELECT periodo, valor_cie, estatus, run_id FROM warehouse.reconciliacion ORDER BY periodo")
    assert rec["estatus"].tolist() == ["discrepa", "sin_reporte_cie"]
    assert rec["run_id"].tolist() == ["r2", "r2"]
    assert pd.isna(rec["valor_cie"][1])  # NULL stays NULL, never 0
    assert wh.query("SELECT run_id FROM warehouse.cargas ORDER BY run_id")["run_id"].tolist() == ["r1", "r2"]
    # read back in one statement: 2 rows replaced twice, the load log appended twice
    assert wh.table_counts() == {"warehouse.reconciliacion": 2, "warehouse.cargas": 2}
    assert Warehouse(f"duckdb:///{tmp_path}/vacio.duckdb").table_counts() == {}
    with pytest.raises(KeyError, match="warehouse.nope"):
        wh.publish({"warehouse.nope": pd.DataFrame()}, run_id="r3")


def test_every_row_carries_the_run_and_the_load_time_in_utc(tmp_path):
    wh = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    loaded = datetime(2026, 11, 28, 18, 5, 7, 123456, tzinfo=timezone(timedelta(hours=-6)))   # Mexico City
    wh.publish({"warehouse.reconciliacion": reconciliacion("coincide"), "warehouse.cargas": pd.DataFrame(
        {"run_id": ["r1"]})}, run_id="r1", loaded_at=loaded.astimezone(timezone.utc))
    rows = wh.query("SELECT run_id, cargado_en FROM warehouse.reconciliacion")
    # 18:05:07.123456 at UTC-6 is 00:05:07.123456 UTC the next day, stored without a zone, to the microsecond
    assert rows["run_id"].tolist() == ["r1", "r1"]
    assert [pd.Timestamp(v) for v in rows["cargado_en"]] == [T("2026-11-29 00:05:07.123456")] * 2
    empty = resource.conform(reconciliacion("coincide").iloc[0:0], resource.TABLES["warehouse.reconciliacion"],
                             "r2", loaded)
    assert len(empty) == 0 and str(empty["cargado_en"].dtype) == "datetime64[us]"


POBLACION = pd.DataFrame({"anio": [2025], "cve_ent": ["14"], "poblacion": [8_904_000]})


@pytest.fixture
def database_rejects_poblacion(monkeypatch):
    """Make `warehouse.poblacion_estatal` fail INSIDE the database (a text in a BIGINT column), after the
    tables before it in the same publish were already replaced."""
    real_conform = resource.conform

    def broken(frame, t, run_id, loaded_at):
        out = real_conform(frame, t, run_id, loaded_at)
        if t.name == "poblacion_estatal":
            out["anio"] = pd.Series(["no es un año"] * len(out), dtype=object)
        return out

    monkeypatch.setattr(resource, "conform", broken)


def test_a_failure_inside_the_transaction_leaves_every_table_as_it_was(tmp_path, request):
    wh = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    wh.publish({"warehouse.reconciliacion": reconciliacion("coincide"),
                "warehouse.dim_entidad": entidad("Jalisco"), "warehouse.poblacion_estatal": POBLACION},
               run_id="good")
    request.getfixturevalue("database_rejects_poblacion")
    with pytest.raises(Exception, match="no es un año"):
        wh.publish({"warehouse.reconciliacion": reconciliacion("discrepa"),
                    "warehouse.dim_entidad": entidad("XXX"), "warehouse.poblacion_estatal": POBLACION},
                   run_id="bad")
    assert wh.query("SELECT DISTINCT run_id FROM warehouse.reconciliacion")["run_id"].tolist() == ["good"]
    assert wh.query("SELECT estatus FROM warehouse.reconciliacion ORDER BY periodo")["estatus"].tolist() == \
        ["coincide", "sin_reporte_cie"]
    assert wh.query("SELECT nombre FROM warehouse.dim_entidad")["nombre"].tolist() == ["Jalisco"]
    assert wh.query("SELECT poblacion FROM warehouse.poblacion_estatal")["poblacion"].tolist() == [8_904_000]


def test_a_second_refresh_waits_for_the_lock_and_gives_up_with_a_clear_message(tmp_path):
    db = tmp_path / "w.duckdb"
    wh = Warehouse(f"duckdb:///{db}", lock_timeout_s=0.5)
    with open(f"{db}.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(PublishLockTimeout, match="another refresh"):
            wh.publish({"warehouse.dim_entidad": entidad("Jalisco")}, run_id="r1")
    wh.publish({"warehouse.dim_entidad": entidad("Jalisco")}, run_id="r1")
    assert wh.query("SELECT count(*) AS n FROM warehouse.dim_entidad")["n"][0] == 1


def _postgres_admin_url() -> str:
    return os.environ.get("CIES_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


@pytest.fixture
def postgres_url():
    admin = sa.create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL must answer in CI ({_postgres_admin_url()}): {exc}") from exc
        pytest.skip(f"no PostgreSQL server answers at {_postgres_admin_url()} (set CIES_TEST_POSTGRES_URL)")
    name = f"cies_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(_postgres_admin_url()).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_postgres_publish_by_copy_is_atomic_and_keeps_views(postgres_url, request):
    wh = Warehouse(postgres_url)
    wh.publish({"warehouse.reconciliacion": reconciliacion("coincide"),
                "warehouse.dim_entidad": entidad("Jalisco; DROP TABLE x; -- 'quoted'")}, run_id="r1")
    with wh.engine.begin() as conn:  # a view an analyst made must survive the next refresh
        conn.execute(sa.text("CREATE VIEW public.v AS SELECT estatus FROM warehouse.reconciliacion"))
    wh.publish({"warehouse.reconciliacion": reconciliacion("discrepa"),
                "warehouse.dim_entidad": entidad("Jalisco; DROP TABLE x; -- 'quoted'")}, run_id="r2")
    assert wh.query("SELECT estatus FROM public.v ORDER BY 1")["estatus"].tolist() == ["discrepa", "sin_reporte_cie"]
    assert wh.query("SELECT nombre FROM warehouse.dim_entidad")["nombre"].tolist() == \
        ["Jalisco; DROP TABLE x; -- 'quoted'"]
    rec = wh.query("SELECT valor_cie, run_id FROM warehouse.reconciliacion ORDER BY periodo")
    assert rec["run_id"].tolist() == ["r2", "r2"] and pd.isna(rec["valor_cie"][1])
    request.getfixturevalue("database_rejects_poblacion")
    with pytest.raises(Exception, match="no es un año"):
        wh.publish({"warehouse.reconciliacion": reconciliacion("coincide"),
                    "warehouse.poblacion_estatal": POBLACION}, run_id="r3")
    assert wh.query("SELECT DISTINCT run_id FROM warehouse.reconciliacion")["run_id"].tolist() == ["r2"]
    wh.dispose()


def test_postgres_copy_keeps_every_text_as_written_and_null_as_null(postgres_url, tmp_path):
    """The COPY payload is CSV written by DuckDB: an empty string, a literal \\N, quotes, commas, newlines and a
    categorical column must arrive exactly as in DuckDB's own load of the same frame."""
    values = ["", None, "\\N", 'dijo "sí", luego', "línea\nnueva\ty tab", "ñandú"]
    frame = pd.DataFrame({"archivo_origen": pd.Categorical(["a.csv", "b.csv"] * 3), "hoja": [None] * 6,
                          "fila_origen": pd.array([2, 3, None, 5, 6, 7], dtype="Int64"),
                          "columna": "Enero", "valor": values, "motivo": "conteo_no_numerico"})
    read = "SELECT archivo_origen, hoja, fila_origen, columna, valor, motivo FROM quality.cuarentena ORDER BY valor"
    results = []
    for url in (postgres_url, f"duckdb:///{tmp_path}/w.duckdb"):
        wh = Warehouse(url)
        wh.publish({"quality.cuarentena": frame}, run_id="r1")
        got = wh.query(read.replace("ORDER BY valor", "ORDER BY fila_origen NULLS FIRST"))
        results.append(got.astype(object).where(got.notna(), None).values.tolist())
        wh.dispose()
    assert results[0] == results[1]
    assert sorted((r[2], r[4]) for r in results[0] if r[2] is not None) == [
        (2, ""), (3, None), (5, 'dijo "sí", luego'), (6, "línea\nnueva\ty tab"), (7, "ñandú")]
    assert [r[4] for r in results[0] if r[2] is None] == ["\\N"]


def test_a_refresh_with_nothing_changed_repeats_the_last_load_row(postgres_url, tmp_path):
    """repeat_load (ingest/cambios found nothing to do): the previous load's files, release, versions and table
    sizes under the new run's id and time, on both backends; a load that is not there is an error."""
    first = pd.DataFrame({"run_id": ["r1"], "iniciado": [T("2026-11-28 08:00")], "terminado": [T("2026-11-28 08:01")],
                          "archivos": ['[{"archivo_origen": "a.csv", "archivo_sha256": "ab12"}]'],
                          "corte": [T("2025-10-01")], "versiones_crosswalk": ['{"formas": "v1"}'],
                          "version_codigo": ["0.1.0"], "filas": ['{"warehouse.reconciliacion": 1280}']})
    for url in (postgres_url, f"duckdb:///{tmp_path}/w.duckdb"):
        wh = Warehouse(url)
        assert wh.latest_run_id() is None            # no warehouse.cargas yet
        wh.publish({"warehouse.cargas": first}, run_id="r1")
        assert wh.latest_run_id() == "r1"
        wh.repeat_load("r1", "r2", datetime(2026, 11, 28, 15, 30, tzinfo=timezone.utc))
        rows = wh.query("SELECT * FROM warehouse.cargas ORDER BY iniciado")
        assert rows["run_id"].tolist() == ["r1", "r2"]
        assert pd.Timestamp(rows["iniciado"][1]) == T("2026-11-28 15:30") == pd.Timestamp(rows["terminado"][1])
        for column in ("archivos", "corte", "versiones_crosswalk", "version_codigo", "filas"):
            assert rows[column][0] == rows[column][1], (url, column)
        assert wh.latest_run_id() == "r2"
        with pytest.raises(ValueError, match="no load r9"):
            wh.repeat_load("r9", "r3", datetime.now(timezone.utc))
        # only if that load is still the latest: r1 is not (r2 is), r9 is not there; nothing written
        at = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)
        assert wh.repeat_load("r1", "r3", at, only_if_latest=True) is False
        assert wh.repeat_load("r9", "r3", at, only_if_latest=True) is False
        assert wh.query("SELECT run_id FROM warehouse.cargas")["run_id"].tolist() == ["r1", "r2"]
        assert wh.repeat_load("r2", "r3", at, only_if_latest=True) is True
        rows = wh.query("SELECT * FROM warehouse.cargas ORDER BY iniciado")
        assert rows["run_id"].tolist() == ["r1", "r2", "r3"] and wh.latest_run_id() == "r3"
        assert pd.Timestamp(rows["iniciado"][2]) == T("2026-11-29 02:00")
        assert rows["filas"][2] == rows["filas"][0] == '{"warehouse.reconciliacion": 1280}'
        wh.dispose()
    # an empty warehouse: nothing to repeat, nothing written
    empty = Warehouse(f"duckdb:///{tmp_path}/vacio.duckdb")
    assert empty.repeat_load("r1", "r2", datetime.now(timezone.utc), only_if_latest=True) is False
    assert empty.latest_run_id() is None
    empty.dispose()


def test_a_refresh_opens_a_duckdb_file_without_sqlalchemy(tmp_path):
    """repeat_load, latest_run_id, publish and table_counts on a DuckDB file go through duckdb itself (no
    SQLAlchemy engine, whose first connection sets duckdb-engine's dialect up), with the same statements:
    `:name` parameters become `$name`."""
    assert resource._dollar("SELECT CAST(:at AS TIMESTAMP), x::TEXT FROM t WHERE run_id = :previous") == \
        "SELECT CAST($at AS TIMESTAMP), x::TEXT FROM t WHERE run_id = $previous"
    url = f"duckdb:///{tmp_path}/w.duckdb"
    Warehouse(url).publish({"warehouse.cargas": pd.DataFrame({"run_id": ["r1"], "iniciado": [T("2026-11-28 08:00")],
                                                              "filas": ['{"a": 1}']})}, run_id="r1")
    wh = Warehouse(url)
    assert wh.latest_run_id() == "r1"
    assert wh.repeat_load("r1", "r2", datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc), only_if_latest=True)
    assert wh.latest_run_id() == "r2"
    assert wh.publish({"warehouse.reconciliacion": reconciliacion("coincide")}, run_id="r3") == \
        {"warehouse.reconciliacion": 2}
    assert wh.table_counts() == {"warehouse.reconciliacion": 2, "warehouse.cargas": 2}
    assert wh._engine is None
    rows = wh.query("SELECT run_id, iniciado, filas FROM warehouse.cargas ORDER BY iniciado")
    assert rows["run_id"].tolist() == ["r1", "r2"] and rows["filas"].tolist() == ['{"a": 1}', '{"a": 1}']
    assert pd.Timestamp(rows["iniciado"][1]) == T("2026-11-29 02:00")


def test_a_session_reads_writes_and_reads_back_a_duckdb_file_on_one_connection(tmp_path, monkeypatch, request):
    """Inside `session()` the latest load, the publish and the counts share one open of the file (each open
    costs 20-30 ms), under the lock held throughout; a publish that fails inside it rolls back and the
    connection goes on serving; outside it each use opens the file again."""
    import duckdb

    db = tmp_path / "w.duckdb"
    wh = Warehouse(f"duckdb:///{db}", lock_timeout_s=0.3)
    wh.publish({"warehouse.reconciliacion": reconciliacion("coincide"),
                "warehouse.cargas": pd.DataFrame({"run_id": ["r1"], "iniciado": [T("2026-11-28 08:00")]})},
               run_id="r1")
    opened = []
    real_connect = duckdb.connect
    monkeypatch.setattr(resource.duckdb, "connect",
                        lambda *a, **k: opened.append(a[0] if a else k.get("database")) or real_connect(*a, **k))
    with wh.session():
        assert wh.latest_run_id() == "r1"
        wh.publish({"warehouse.reconciliacion": reconciliacion("discrepa"),
                    "warehouse.cargas": pd.DataFrame({"run_id": ["r2"], "iniciado": [T("2026-11-29 08:00")]})},
                   run_id="r2")
        # another refresh of the same file waits for the lock, held for the whole session
        with pytest.raises(PublishLockTimeout):
            Warehouse(f"duckdb:///{db}", lock_timeout_s=0.3).table_counts()
        request.getfixturevalue("database_rejects_poblacion")
        with pytest.raises(Exception, match="no es un año"):
            wh.publish({"warehouse.reconciliacion": reconciliacion("coincide"),
                        "warehouse.poblacion_estatal": POBLACION}, run_id="r3")
        assert wh.latest_run_id() == "r2"
        assert wh.table_counts() == {"warehouse.reconciliacion": 2, "warehouse.cargas": 2}
    assert opened == [str(db)]
    assert wh.table_counts() == {"warehouse.reconciliacion": 2, "warehouse.cargas": 2}
    assert wh.latest_run_id() == "r2" and opened == [str(db)] * 3
    monkeypatch.undo()
    assert wh.query("SELECT DISTINCT estatus FROM warehouse.reconciliacion ORDER BY 1")["estatus"].tolist() == \
        ["discrepa", "sin_reporte_cie"]


def test_an_in_memory_duckdb_warehouse_is_written_and_read_in_the_engines_connection():
    """`duckdb:///:memory:` has no file to open again: publish goes through the SQLAlchemy engine's
    connection (each NullPool connection is a new empty database, so the counts read afterwards are empty)."""
    wh = Warehouse("duckdb:///:memory:")
    assert wh.publish({"warehouse.reconciliacion": reconciliacion("coincide")}, run_id="r1") == \
        {"warehouse.reconciliacion": 2}
    assert wh._engine is not None
    assert wh.table_counts() == {} and wh.latest_run_id() is None


def test_the_duckdb_write_runs_on_one_thread_and_gives_the_connection_back_as_it_was(tmp_path):
    """The publish inserts on one thread (DuckDB then compresses as it inserts, instead of at the checkpoint
    when the file closes) and resets that setting, also when the write fails: a connection that goes on
    serving queries keeps its threads."""
    import duckdb
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("SET threads = 3")
    seen = []
    wh = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    original = wh._insert_duckdb

    def spy(c, frames):
        seen.append(c.execute("SELECT current_setting('threads')")[0][0])
        original(c, frames)
    wh._insert_duckdb = spy
    frame = resource.conform(reconciliacion("coincide"), resource.TABLES["warehouse.reconciliacion"], "r1",
                             datetime(2026, 11, 29, tzinfo=timezone.utc))
    wh._write_duckdb(con, {"warehouse.reconciliacion": frame})
    assert seen == [1]
    assert con.execute("SELECT current_setting('threads'), count(*) FROM warehouse.reconciliacion").fetchone() \
        == (3, 2)
    with pytest.raises(KeyError):
        wh._write_duckdb(con, {"warehouse.no_existe": pd.DataFrame()})
    assert seen == [1, 1]
    assert con.execute("SELECT current_setting('threads')").fetchone() == (3,)
    con.close()


def test_the_duckdb_publish_commits_into_the_file_not_the_write_ahead_log(tmp_path):
    """A publish of tables under a row group each (the sizes of warehouse.indicadores at national scale) is
    checkpointed by its commit: nothing is left in the write-ahead log for the close (or the next opener) to
    copy into the file again. The connection's threshold is given back as it was."""
    import duckdb
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("SET checkpoint_threshold = '64MiB'")
    n = 40_000    # about 2 MB of rows: under the default threshold (16 MB) they would stay in the log
    frame = pd.DataFrame({"periodo": pd.date_range("1900-01-01", periods=n, freq="D"),
                          "cve_ent": [f"{1 + i % 32:02d}" for i in range(n)], "medida": ["carpetas"] * n,
                          "valor_cie": pd.array(range(n), dtype="Int64"), "valor_sesnsp": list(range(n)),
                          "diferencia": pd.array([0] * n, dtype="Int64"), "estatus": ["coincide"] * n})
    conformed = resource.conform(frame, resource.TABLES["warehouse.reconciliacion"], "r1",
                                 datetime(2026, 11, 29, tzinfo=timezone.utc))
    Warehouse(f"duckdb:///{path}")._write_duckdb(con, {"warehouse.reconciliacion": conformed})
    wal = Path(f"{path}.wal")
    assert not wal.exists() or wal.stat().st_size < 100_000
    assert con.execute("SELECT current_setting('checkpoint_threshold'), count(*), sum(valor_sesnsp) "
                       "FROM warehouse.reconciliacion").fetchone() == ("64.0 MiB", n, n * (n - 1) // 2)
    con.close()
    assert duckdb.connect(str(path)).execute("SELECT count(*) FROM warehouse.reconciliacion").fetchone() == (n,)


def test_a_warehouse_in_a_folder_not_made_yet_gets_it_on_first_use(tmp_path):
    """Every use of a DuckDB file starts with its lock file beside it: the folder is made there, whether the
    first use reads (duckdb itself or SQLAlchemy) or writes."""
    assert Warehouse(f"duckdb:///{tmp_path}/a/b/w.duckdb").latest_run_id() is None
    assert Warehouse(f"duckdb:///{tmp_path}/c/w.duckdb").query("SELECT 41 + 1 AS n")["n"].tolist() == [42]
    wh = Warehouse(f"duckdb:///{tmp_path}/d/e/w.duckdb")
    assert wh.publish({"warehouse.cargas": pd.DataFrame({"run_id": ["r1"]})}, run_id="r1") == {"warehouse.cargas": 1}
    assert wh.table_counts() == {"warehouse.cargas": 1}


def _fact_rows() -> pd.DataFrame:
    """Four rows of warehouse.fact_carpetas_trata from two files (one CIE workbook, one SESNSP release)."""
    return pd.DataFrame({
        "periodo": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-01", "2025-01-01"]),
        "cve_ent": ["09", "09", "09", "15"], "cvegeo": ["09002", "09002", None, "15106"],
        "nivel": ["municipal", "municipal", "estatal", "municipal"], "fuente": ["CIE", "CIE", "SESNSP", "CIE"],
        "metodologia": ["CNSP-38-15"] * 4, "carpetas": pd.array([3, None, 7, 1], dtype="Int64"),
        "municipio_regla": ["codigo", "codigo", None, "exacta"],
        "versiones_crosswalk": [None] * 4,
        "archivo_origen": ["cdmx.xlsx", "cdmx.xlsx", "IDEFC_NM.csv", "cdmx.xlsx"],
        "archivo_sha256": ["a" * 64, "a" * 64, "b" * 64, "a" * 64],
        "hoja": ["carpetas", "carpetas", None, "carpetas"], "fila_origen": [5, 6, 2, 7],
        "corte": pd.to_datetime([None, None, "2025-10-01", None]),
    })


def test_a_fact_on_duckdb_is_a_view_over_its_rows_and_their_origins(tmp_path):
    """DuckDB stores the columns that repeat per file (schema.Table.por_origen) once per distinct combination:
    the fact the analysts read is a view with the contract's columns, types and rows, over
    `fact_carpetas_trata__filas` (the other columns and `origen`) and `fact_carpetas_trata__origen`."""
    import duckdb
    path = tmp_path / "w.duckdb"
    wh = Warehouse(f"duckdb:///{path}")
    wh.publish({"warehouse.fact_carpetas_trata": _fact_rows()}, run_id="r1",
               loaded_at=datetime(2026, 11, 29, 6, tzinfo=timezone.utc))
    con = duckdb.connect(str(path))
    t = resource.TABLES["warehouse.fact_carpetas_trata"]
    assert con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = 'warehouse' AND "
                       "table_name = 'fact_carpetas_trata'").fetchall() == [("VIEW",)]
    described = con.execute("DESCRIBE warehouse.fact_carpetas_trata").fetchall()
    assert [(r[0], r[1]) for r in described] == [(c.name, resource._TYPES["duckdb"][c.type]) for c in t.columns]
    rows = con.execute("SELECT cvegeo, carpetas, municipio_regla, archivo_origen, hoja, fila_origen, corte, "
                       "run_id, cargado_en FROM warehouse.fact_carpetas_trata ORDER BY fila_origen").fetchall()
    at = datetime(2026, 11, 29, 6)
    assert rows == [
        (None, 7, None, "IDEFC_NM.csv", None, 2, date(2025, 10, 1), "r1", at),
        ("09002", 3, "codigo", "cdmx.xlsx", "carpetas", 5, None, "r1", at),
        ("09002", None, "codigo", "cdmx.xlsx", "carpetas", 6, None, "r1", at),
        ("15106", 1, "exacta", "cdmx.xlsx", "carpetas", 7, None, "r1", at),
    ]
    # three origins: cdmx.xlsx with rule 'codigo', the SESNSP file, cdmx.xlsx with rule 'exacta'
    assert con.execute("SELECT origen, municipio_regla, archivo_origen FROM warehouse.fact_carpetas_trata__origen "
                       "ORDER BY origen").fetchall() == [(0, "codigo", "cdmx.xlsx"), (1, None, "IDEFC_NM.csv"),
                                                         (2, "exacta", "cdmx.xlsx")]
    assert [r[0] for r in con.execute("DESCRIBE warehouse.fact_carpetas_trata__filas").fetchall()] == \
        ["periodo", "cve_ent", "cvegeo", "carpetas", "fila_origen", "origen"]
    assert con.execute("SELECT origen FROM warehouse.fact_carpetas_trata__filas ORDER BY fila_origen").fetchall() \
        == [(1,), (0,), (0,), (2,)]
    con.close()
    assert wh.table_counts()["warehouse.fact_carpetas_trata"] == 4


def test_a_fact_written_as_a_table_by_an_earlier_version_becomes_the_view(tmp_path):
    """A DuckDB file from before the split (the fact a plain table) is rewritten as the view at the next
    publish, in the same transaction: a publish that fails after the fact was written leaves the table as it
    was."""
    import duckdb
    path = tmp_path / "w.duckdb"
    t = resource.TABLES["warehouse.fact_carpetas_trata"]
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA warehouse")
    con.execute(f"CREATE TABLE warehouse.fact_carpetas_trata ("
                + ", ".join(f"{c.name} {resource._TYPES['duckdb'][c.type]}" for c in t.columns) + ")")
    con.execute("INSERT INTO warehouse.fact_carpetas_trata (cve_ent, fila_origen) VALUES ('01', 99)")
    con.close()
    wh = Warehouse(f"duckdb:///{path}")
    with pytest.MonkeyPatch.context() as patch:
        real_conform = resource.conform
        patch.setattr(resource, "conform", lambda f, t, *a: real_conform(f, t, *a).assign(
            anio=pd.Series(["no es un año"] * len(f), dtype=object)) if t.name == "poblacion_estatal"
            else real_conform(f, t, *a))
        with pytest.raises(Exception, match="no es un año"):
            wh.publish({"warehouse.fact_carpetas_trata": _fact_rows(), "warehouse.poblacion_estatal": POBLACION},
                       "r0")
    assert wh.query("SELECT fila_origen FROM warehouse.fact_carpetas_trata")["fila_origen"].tolist() == [99]
    assert not wh.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_name LIKE "
                        "'fact_carpetas_trata__%'")["n"][0]
    wh.publish({"warehouse.fact_carpetas_trata": _fact_rows()}, run_id="r1")
    assert sorted(wh.query("SELECT fila_origen FROM warehouse.fact_carpetas_trata")["fila_origen"]) == [2, 5, 6, 7]
    wh.publish({"warehouse.fact_carpetas_trata": _fact_rows().iloc[:1]}, run_id="r2")    # the view replaced
    assert wh.query("SELECT fila_origen, run_id FROM warehouse.fact_carpetas_trata").values.tolist() == [[5, "r2"]]


def test_origins_are_the_distinct_combinations_in_order_of_first_appearance():
    frame = pd.DataFrame({"a": pd.Categorical(["x", None, "x", "y", None]), "b": ["p", "q", "p", "p", "q"],
                          "c": pd.to_datetime(["2025-01-01", None, "2025-01-01", "2025-01-01", None])})
    origen, first = resource.origins(frame, ("a", "b", "c"))
    assert origen.tolist() == [0, 1, 0, 2, 1] and first.tolist() == [0, 1, 3]
    origen, first = resource.origins(frame.iloc[:0], ("a", "b", "c"))
    assert origen.tolist() == [] and first.tolist() == []
    # columns with one value in every row (a load's time, a release month, all missing): the same origins
    constant = frame.assign(d=pd.Timestamp("2026-11-30 02:00"), e=pd.NaT, f=7)
    origen, first = resource.origins(constant, ("a", "d", "b", "e", "c", "f"))
    assert origen.tolist() == [0, 1, 0, 2, 1] and first.tolist() == [0, 1, 3]
    wide = pd.DataFrame({f"k{i}": [str(j % (i + 2)) for j in range(500)] for i in range(40)})  # renumbers
    origen, first = resource.origins(wide, tuple(wide.columns))
    assert len(first) == len(wide.drop_duplicates()) and (origen == pd.factorize(
        pd.MultiIndex.from_frame(wide))[0]).all()
