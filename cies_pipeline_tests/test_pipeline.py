"""Tier 3: the whole graph, checks included, on the sample data, into a temporary DuckDB warehouse.

Every expected figure below is a planted fact of `cies_pipeline.sample_data` (its docstring lists them),
checked by hand against the sample files in test_sample_data.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from cies_pipeline.definitions import build_definitions
from cies_pipeline.settings import Settings
from cies_pipeline.warehouse.resource import Warehouse
from cies_pipeline.warehouse.schema import TABLES
HOY = "2026-11-28"  # the refreshes are evaluated as of this date

T = pd.Timestamp
PII_VALUES = ["María Fernanda Gómez Ramírez", "GORM990412MTLMMR03"]


def refresh(data_dir: Path, url: str, instance: dg.DagsterInstance | None = None, hoy: str = HOY):
    defs = build_definitions(Settings(data_dir=data_dir, warehouse_url=url, reconciliacion_desde=None), hoy=hoy)
    job = defs.resolve_job_def("refresh")
    return job.execute_in_process(instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory, sample_dir):
    data = tmp_path_factory.mktemp("e2e")
    shutil.copytree(sample_dir, data, dirs_exist_ok=True)
    url = f"duckdb:///{data}/cies.duckdb"
    result = refresh(data, url)
    assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    wh = Warehouse(url)
    yield data, url, wh, result
    wh.dispose()


def q(wh: Warehouse, sql: str) -> pd.DataFrame:
    return wh.query(sql)


def rec(wh, cve_ent, periodo, medida):
    frame = q(wh, f"SELECT valor_cie, valor_sesnsp, diferencia, estatus FROM warehouse.reconciliacion "
                  f"WHERE cve_ent = '{cve_ent}' AND periodo = DATE '{periodo}' AND medida = '{medida}'")
    assert len(frame) == 1
    row = frame.iloc[0]
    return [None if pd.isna(v) else (int(v) if not isinstance(v, str) else v) for v in row]


def test_planted_discrepancies_and_matches(run):
    _, _, wh, _ = run
    assert rec(wh, "11", "2025-03-01", "carpetas") == [6, 4, 2, "discrepa"]      # Guanajuato
    assert rec(wh, "07", "2025-06-01", "victimas") == [4, 5, -1, "discrepa"]     # Chiapas
    assert rec(wh, "05", "2025-09-01", "carpetas") == [2, 3, -1, "discrepa"]     # Coahuila
    assert rec(wh, "14", "2025-04-01", "carpetas") == [7, 7, 0, "coincide"]      # Jalisco
    assert rec(wh, "09", "2025-02-01", "carpetas") == [12, 12, 0, "coincide"]    # Ciudad de México
    assert rec(wh, "19", "2025-08-01", "victimas") == [6, 6, 0, "coincide"]      # Nuevo León
    assert rec(wh, "20", "2025-10-01", "carpetas") == [3, 3, 0, "coincide"]      # Oaxaca, by codes
    # Puebla re-sent its report: the newer file's corrected 5 wins over the older 4
    assert rec(wh, "21", "2025-03-01", "carpetas") == [5, 5, 0, "coincide"]
    # Hidalgo left July's count blank: not reported, never a zero
    assert rec(wh, "13", "2025-07-01", "carpetas") == [None, 2, None, "sin_reporte_cie"]
    # only the three planted state-months disagree
    statuses = q(wh, "SELECT estatus, count(*) AS n FROM warehouse.reconciliacion GROUP BY 1")
    assert dict(zip(statuses.estatus, statuses.n))["discrepa"] == 3


def test_reconciled_months_and_states_without_report(run):
    _, _, wh, _ = run
    months = q(wh, "SELECT DISTINCT periodo FROM warehouse.reconciliacion ORDER BY 1")["periodo"]
    # first CIE period (2025-01) .. the last month SESNSP published (the RNID release of August 2026)
    assert [str(m)[:7] for m in months] == [f"2025-{m:02d}" for m in range(1, 13)] + \
        [f"2026-{m:02d}" for m in range(1, 9)]
    # every state has a SESNSP figure (0 included) for both measures in each of the 20 months
    assert int(q(wh, "SELECT count(*) AS n FROM warehouse.reconciliacion")["n"][0]) == 32 * 20 * 2
    for cve in ("04", "10", "18", "26", "27", "32"):  # Campeche, Durango, Nayarit, Sonora, Tabasco, Zacatecas
        f = q(wh, f"SELECT DISTINCT estatus FROM warehouse.reconciliacion WHERE cve_ent = '{cve}'")
        assert f["estatus"].tolist() == ["sin_reporte_cie"]
    # Aguascalientes sent a headers-only victims sheet: not reported
    f = q(wh, "SELECT DISTINCT estatus FROM warehouse.reconciliacion WHERE cve_ent = '01' AND medida = 'victimas'")
    assert f["estatus"].tolist() == ["sin_reporte_cie"]
    # Guerrero's only file was rejected: nothing reported
    f = q(wh, "SELECT DISTINCT estatus FROM warehouse.reconciliacion WHERE cve_ent = '12'")
    assert f["estatus"].tolist() == ["sin_reporte_cie"]


def test_municipal_reconciliation_veracruz(run):
    _, _, wh, _ = run
    f = q(wh, "SELECT cvegeo, valor_cie, valor_sesnsp, estatus FROM warehouse.reconciliacion_municipal "
              "WHERE periodo = DATE '2025-05-01' AND cve_ent = '30' AND medida = 'carpetas' ORDER BY cvegeo")
    got = {r.cvegeo: (None if pd.isna(r.valor_cie) else int(r.valor_cie), int(r.valor_sesnsp), r.estatus)
           for r in f.itertuples()}
    # Veracruz 2, Xalapa 1 reported by the state; Coatzacoalcos 1 only in SESNSP's municipal file
    assert got["30193"] == (2, 2, "coincide")
    assert got["30087"] == (1, 1, "coincide")
    assert got["30039"] == (None, 1, "sin_reporte_cie")
    # the state file says 3: CIE 3 matches at state level
    assert rec(wh, "30", "2025-05-01", "carpetas") == [3, 3, 0, "coincide"]


def test_rnid_2026_forms_municipal_victims_and_releases(run):
    _, _, wh, _ = run
    # Jalisco 2026-02: 3 carpetas, 4 victims, the CIE matches SESNSP in total, by form and by municipality
    assert rec(wh, "14", "2026-02-01", "carpetas") == [3, 3, 0, "coincide"]
    assert rec(wh, "14", "2026-02-01", "victimas") == [4, 4, 0, "coincide"]
    forma = q(wh, "SELECT cve_ent, periodo, forma_explotacion, valor_cie, valor_sesnsp, diferencia, estatus "
                  "FROM warehouse.reconciliacion_forma WHERE (cve_ent = '14' AND periodo = DATE '2026-02-01') "
                  "OR (cve_ent = '19' AND periodo = DATE '2026-03-01') ORDER BY 1, 3")
    got = {(r.cve_ent, r.forma_explotacion): (None if pd.isna(r.valor_cie) else int(r.valor_cie),
                                              int(r.valor_sesnsp), r.estatus) for r in forma.itertuples()}
    assert got[("14", "EXPLOTACION_SEXUAL")] == (3, 3, "coincide")
    assert got[("14", "EXPLOTACION_LABORAL")] == (1, 1, "coincide")
    # Nuevo León 2026-03: the state totals agree (3 victims) but the CIE wrote the laboral victim as sexual
    assert rec(wh, "19", "2026-03-01", "victimas") == [3, 3, 0, "coincide"]
    assert got[("19", "EXPLOTACION_SEXUAL")] == (3, 2, "discrepa")
    assert got[("19", "EXPLOTACION_LABORAL")] == (None, 1, "sin_reporte_cie")
    # forms are reconciled only where SESNSP has them: 2026 onwards
    first = q(wh, "SELECT min(periodo) AS p FROM warehouse.reconciliacion_forma")["p"][0]
    assert str(first)[:7] == "2026-01"
    mun = q(wh, "SELECT cvegeo, valor_cie, valor_sesnsp, estatus FROM warehouse.reconciliacion_municipal "
                "WHERE medida = 'victimas' AND cve_ent = '14' AND periodo = DATE '2026-02-01' AND valor_sesnsp > 0 "
                "ORDER BY cvegeo")
    assert [(r.cvegeo, int(r.valor_cie), int(r.valor_sesnsp), r.estatus) for r in mun.itertuples()] == [
        ("14039", 2, 2, "coincide"), ("14101", 1, 1, "coincide"), ("14120", 1, 1, "coincide")]
    # no municipal victims before 2026 (SESNSP did not publish them)
    n = q(wh, "SELECT count(*) AS n FROM warehouse.reconciliacion_municipal WHERE medida = 'victimas' "
              "AND periodo < DATE '2026-01-01'")["n"][0]
    assert int(n) == 0
    # the March release said 1 for Jalisco January; August's revision (2) wins, and the CIE's 2 matches
    assert rec(wh, "14", "2026-01-01", "carpetas") == [2, 2, 0, "coincide"]
    # 2026 figures carry their methodology and the finer age range
    f = q(wh, "SELECT DISTINCT metodologia FROM warehouse.fact_victimas_trata WHERE periodo >= DATE '2026-01-01'")
    assert f["metodologia"].tolist() == ["RNID-2026"]
    f = q(wh, "SELECT grupo_edad, victimas FROM warehouse.fact_victimas_trata WHERE fuente = 'SESNSP' AND "
              "nivel = 'municipal' AND cvegeo = '14101' AND periodo = DATE '2026-02-01' AND victimas > 0")
    assert f.values.tolist() == [["Menores de edad (0-17)", 1]]


def test_indicadores_rates_with_the_population_used(run):
    from cies_pipeline.sample_data import poblacion_municipal
    _, _, wh, _ = run
    f = q(wh, "SELECT valor, poblacion, tasa_100k FROM warehouse.indicadores WHERE nivel = 'municipal' AND "
              "fuente = 'SESNSP' AND medida = 'victimas' AND cvegeo = '14039' AND anio = 2026")
    valor, poblacion, tasa = f.iloc[0]
    sumado = q(wh, "SELECT sum(victimas) AS v FROM warehouse.fact_victimas_trata WHERE fuente = 'SESNSP' AND "
                   "nivel = 'municipal' AND cvegeo = '14039' AND periodo >= DATE '2026-01-01'")["v"][0]
    assert int(valor) == int(sumado) and int(poblacion) == poblacion_municipal("14039", 2026)
    assert tasa == pytest.approx(int(valor) * 100_000 / poblacion_municipal("14039", 2026))
    f = q(wh, "SELECT poblacion FROM warehouse.indicadores WHERE nivel = 'estatal' AND cve_ent = '14' "
              "AND anio = 2025 AND fuente = 'SESNSP' AND medida = 'carpetas'")
    assert int(f["poblacion"][0]) == 8_904_000   # CONAPO 2025 Jalisco (the sample's state file)
    versions = q(wh, "SELECT DISTINCT versiones_crosswalk FROM warehouse.fact_carpetas_trata WHERE fuente = 'CIE'")
    assert len(versions) == 1 and versions["versiones_crosswalk"][0].startswith("entidades@")


def test_quarantine_rejections_and_unknown_labels(run):
    _, _, wh, _ = run
    cuarentena = q(wh, "SELECT archivo_origen, hoja, fila_origen, columna, valor, motivo FROM quality.cuarentena "
                       "ORDER BY fila_origen")
    assert [tuple(r) for r in cuarentena.itertuples(index=False)] == [
        ("EDOMEX_CIE_2025.xlsx", "Carpetas de investigación", 7, "Número de carpetas (D)", "doce",
         "conteo_no_numerico"),
        ("EDOMEX_CIE_2025.xlsx", "Carpetas de investigación", 12, "Periodo (A)", "2030-05", "periodo_futuro"),
    ]
    rejected = q(wh, "SELECT archivo_origen, hoja, motivo FROM quality.archivos_rechazados")
    assert rejected["archivo_origen"].tolist() == ["CIE_Guerrero_2025.xlsx"]
    assert "HTML" in rejected["motivo"][0]
    unmapped = q(wh, "SELECT archivo_origen, columna, etiqueta, filas FROM quality.etiquetas_sin_mapeo "
                     "ORDER BY columna, archivo_origen")
    assert [tuple(r) for r in unmapped.itertuples(index=False)] == [
        # the unknown RNID subtype: one line per file (Puebla, Mujer, 18 a 29 años), January..August
        ("RNID-Victimas_Estatal-2026-ago2026.csv", "forma_explotacion",
         "Trata de personas - Finalidad no catalogada", 8),
        ("RNID-Victimas_Municipal-2026-ago2026.csv", "forma_explotacion",
         "Trata de personas - Finalidad no catalogada", 8),
        ("queretaro_cie_2025_victimas.csv", "forma_explotacion", "captación por redes sociales", 1),
        ("QRoo_CIE_2025.xlsx", "grupo_edad", "adolescente o joven", 1),
        ("michoacan_cie_2025_carpetas.csv", "municipio", "Municipio Inventado", 1),
        ("NL_CIE_2025.xlsx", "sexo", "Se reserva", 1),
    ]
    # their rows still load, under the catch-all categories
    f = q(wh, "SELECT cvegeo, carpetas, municipio_regla FROM warehouse.fact_carpetas_trata WHERE fuente = 'CIE' "
              "AND archivo_origen = 'michoacan_cie_2025_carpetas.csv' AND municipio_regla = 'sin_resolver'")
    assert f.values.tolist() == [["16998", 1, "sin_resolver"]]
    f = q(wh, "SELECT victimas FROM warehouse.fact_victimas_trata WHERE forma_explotacion = 'SIN_CLASIFICAR' "
              "AND fuente = 'CIE'")
    assert f["victimas"].tolist() == [1]
    f = q(wh, "SELECT periodo, cve_ent, sum(victimas) AS v FROM warehouse.fact_victimas_trata WHERE "
              "forma_explotacion = 'SIN_CLASIFICAR' AND fuente = 'SESNSP' AND nivel = 'estatal' GROUP BY 1, 2 "
              "HAVING sum(victimas) > 0")
    assert [(str(r.periodo)[:7], r.cve_ent, int(r.v)) for r in f.itertuples()] == [("2026-05", "21", 1)]
    excluded = q(wh, "SELECT motivo, count(*) AS n FROM quality.filas_excluidas GROUP BY 1")
    excluded = dict(zip(excluded.motivo, excluded.n))
    assert excluded["total"] == 3 and excluded["encabezado_repetido"] == 1 and excluded["fila_rota"] == 1
    assert excluded["reemplazada"] > 0
    old_puebla = q(wh, "SELECT DISTINCT archivo_origen FROM quality.filas_excluidas WHERE motivo = 'reemplazada'")
    assert old_puebla["archivo_origen"].tolist() == ["Puebla_CIE_2025-01_a_2025-06.xlsx"]


def test_row_accounting_balances_for_every_file(run):
    _, _, wh, _ = run
    f = q(wh, "SELECT * FROM quality.contabilidad_filas")
    assert len(f) > 50
    assert (f.leidas == f.cargadas + f.en_cuarentena + f.excluidas).all()
    edomex = f[(f.archivo_origen == "EDOMEX_CIE_2025.xlsx") & (f.hoja == "Carpetas de investigación")].iloc[0]
    assert edomex.en_cuarentena == 2


def test_personal_data_is_nowhere_in_the_warehouse(run):
    data, _, wh, result = run
    refused = q(wh, "SELECT archivo_origen, hoja, columna, motivo FROM quality.columnas_rechazadas "
                    "WHERE motivo = 'dato_personal' ORDER BY columna")
    assert refused.values.tolist() == [["Tlaxcala_CIE_2025.xlsx", "Víctimas", "CURP", "dato_personal"],
                                       ["Tlaxcala_CIE_2025.xlsx", "Víctimas", "Nombre de la víctima",
                                        "dato_personal"]]
    for t in TABLES.values():
        for column in (c.name for c in t.columns if c.type == "text"):
            for value in PII_VALUES:
                hits = wh.query(f'SELECT count(*) AS n FROM {t.schema}."{t.name}" WHERE "{column}" LIKE :v',
                         v=f"%{value}%")
                assert int(hits["n"][0]) == 0, (t.qualified, column)
    # nor in the run's events (metadata, previews, logs)
    events = json.dumps([str(e) for e in result.all_events], ensure_ascii=False)
    for value in PII_VALUES:
        assert value not in events
    # Tlaxcala's other columns loaded
    n = q(wh, "SELECT sum(victimas) AS n FROM warehouse.fact_victimas_trata WHERE fuente = 'CIE' AND cve_ent = '29'")
    assert int(n["n"][0]) > 0


def test_lineage_columns_carry_the_source_file_sha256(run):
    data, _, wh, result = run
    inbox = data / "inbox" / "state_reports"
    f = q(wh, "SELECT DISTINCT archivo_origen, archivo_sha256 FROM warehouse.fact_carpetas_trata WHERE fuente = 'CIE'")
    assert len(f) >= 20
    for row in f.itertuples():
        assert row.archivo_sha256 == hashlib.sha256((inbox / row.archivo_origen).read_bytes()).hexdigest()
    ses = q(wh, "SELECT DISTINCT archivo_origen, archivo_sha256, corte FROM warehouse.fact_carpetas_trata "
                "WHERE fuente = 'SESNSP'")
    for row in ses.itertuples():
        assert row.archivo_sha256 == hashlib.sha256((data / "sesnsp" / row.archivo_origen).read_bytes()).hexdigest()
        # the March 2026 release is entirely superseded by August's: only the latest release reaches the facts
        assert str(row.corte)[:7] == ("2026-08" if row.archivo_origen.startswith("RNID") else "2025-12")
    assert sorted(ses["archivo_origen"]) == ["IDEFC_NM_dic25.csv", "Municipal-Delitos-2015-2025_dic2025.csv",
                                             "RNID-Delitos_Estatal-2026-ago2026.csv",
                                             "RNID-Delitos_Municipal-2026-ago2026.csv"]
    # a row points at its spreadsheet row: Jalisco April 2025 sums to 7 over its rows
    f = q(wh, "SELECT fila_origen, carpetas FROM warehouse.fact_carpetas_trata WHERE fuente = 'CIE' "
              "AND cve_ent = '14' AND periodo = DATE '2025-04-01'")
    assert int(f["carpetas"].sum()) == 7 and f["fila_origen"].notna().all()
    assert q(wh, "SELECT count(DISTINCT run_id) AS n FROM warehouse.fact_carpetas_trata")["n"][0] == 1
    assert q(wh, "SELECT run_id FROM warehouse.fact_carpetas_trata LIMIT 1")["run_id"][0] == result.run_id


def test_cie_status_and_cargas(run):
    _, _, wh, result = run
    estatus = q(wh, "SELECT cve_ent, instalado, acuerdos_total FROM warehouse.cie_estatus ORDER BY cve_ent")
    assert len(estatus) == 32
    by = estatus.set_index("cve_ent")
    assert by.loc["06", "instalado"] == False  # noqa: E712  Colima: not installed
    assert pd.isna(by.loc["04", "instalado"])  # Campeche never reported
    cargas = q(wh, "SELECT run_id, corte, archivos, versiones_crosswalk FROM warehouse.cargas")
    assert cargas["run_id"].tolist() == [result.run_id]
    assert str(cargas["corte"][0])[:7] == "2026-08"
    assert len(json.loads(cargas["archivos"][0])) == 65
    assert "formas_explotacion" in json.loads(cargas["versiones_crosswalk"][0])


def test_every_check_ran_and_only_warnings_failed(run):
    _, _, _, result = run
    evaluations = result.get_asset_check_evaluations()
    failed = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed}
    assert all(e.severity == dg.AssetCheckSeverity.WARN for e in evaluations if not e.passed)
    assert failed == {("ingest/reportes_cie", "archivos_rechazados"), ("ingest/reportes_cie", "cuarentena"),
                      ("ingest/reportes_cie", "columnas_rechazadas"), ("harmonized/carpetas_trata",
                      "etiquetas_sin_mapeo"), ("harmonized/victimas_trata", "etiquetas_sin_mapeo"),
                      # issue 4's warnings: as of HOY the inputs are stale, SESNSP disagrees with itself
                      # (Veracruz 2025-05), and some sample months jump (test_quality_checks.py)
                      ("ingest/sesnsp", "frescura_sesnsp"), ("ingest/reportes_cie", "frescura_cie"),
                      ("staging/sesnsp_carpetas_estatal", "municipal_vs_estatal"),
                      ("harmonized/carpetas_trata", "saltos"), ("harmonized/victimas_trata", "saltos")}
    names = {e.check_name for e in evaluations}
    assert {"gx_cie_carpetas", "gx_sesnsp_carpetas_municipal", "gx_fact_victimas_trata", "contabilidad_filas",
            "gx_reconciliacion", "tablas_publicadas"} <= names


def _snapshot(wh: Warehouse) -> dict[str, list]:
    """Every table's rows, without run_id/cargado_en, sorted: what 'the same rows' means."""
    out = {}
    for t in TABLES.values():
        if t.append_only:
            continue
        cols = [c for c in t.column_names if c not in ("run_id", "cargado_en")]
        frame = q(wh, f'SELECT {", ".join(cols)} FROM {t.schema}."{t.name}"').astype(object).map(repr)
        out[t.qualified] = sorted(map(tuple, frame.values.tolist()))
    return out


def _steps(result, event: str) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == event}


def _decision(result) -> str:
    """Why ingest/cambios let the refresh run (its materialization's `decision`)."""
    [decision] = [e.materialization.metadata["decision"].value for e in result.get_asset_materialization_events()
                  if e.asset_key == dg.AssetKey(["ingest", "cambios"])]
    return decision


def _observations(result) -> list:
    return [e.event_specific_data.asset_observation for e in result.all_events
            if e.event_type_value == "ASSET_OBSERVATION"]


@pytest.fixture
def warehouse_url(tmp_path):
    """The warehouse of a test that refreshes its own copy of the sample (PostgreSQL in test_pipeline_postgres)."""
    return f"duckdb:///{tmp_path}/cies.duckdb"


def test_a_refresh_with_nothing_changed_runs_nothing(tmp_path, sample_dir, monkeypatch, warehouse_url):
    """Same inputs, code, warehouse and month as the last refresh, which succeeded, and the same inputs stale:
    only ingest/cambios runs, every other step is skipped, the reason is on its observation, and
    warehouse.cargas records the run. A file rewritten with the same bytes, or another day on which the
    freshness checks would find the same inputs stale, changes nothing; a changed setting, a day on which an
    input becomes stale, or a removed file runs the refresh."""
    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    url = warehouse_url
    instance = dg.DagsterInstance.ephemeral()   # the runs of one deployment: the gate looks up the last one
    first = refresh(data, url, instance)
    assert first.success
    wh = Warehouse(url)
    try:
        before = _snapshot(wh)
        second = refresh(data, url, instance)
        assert second.success
        assert _steps(second, "STEP_START") == {"ingest__cambios"}
        assert {"ingest__sesnsp", "staging_sesnsp", "harmonized__carpetas_trata", "publicar_warehouse",
                "reports__reporte_conciliacion"} <= _steps(second, "STEP_SKIPPED")
        assert second.get_asset_materialization_events() == []
        [observation] = _observations(second)
        assert observation.asset_key == dg.AssetKey(["ingest", "cambios"])
        assert f"la corrida {first.run_id[:8]}" in observation.metadata["omitido"].value
        cargas = q(wh, "SELECT run_id, archivos, corte, versiones_crosswalk, filas FROM warehouse.cargas "
                       "ORDER BY iniciado")
        assert list(cargas["run_id"]) == [first.run_id, second.run_id]
        for column in ("archivos", "corte", "versiones_crosswalk", "filas"):
            assert cargas[column][0] == cargas[column][1], column
        assert _snapshot(wh) == before

        municipal = next((data / "sesnsp").glob("Municipal-*"))
        municipal.write_bytes(municipal.read_bytes())      # new mtime, same bytes
        assert _steps(refresh(data, url, instance), "STEP_START") == {"ingest__cambios"}

        monkeypatch.setenv("CIES_UMBRAL_SUPRESION", "5")   # a setting the steps read: the refresh runs
        assert "publicar_warehouse" in _steps(refresh(data, url, instance), "STEP_START")
        monkeypatch.delenv("CIES_UMBRAL_SUPRESION")        # back as before: not what the last refresh used
        assert "publicar_warehouse" in _steps(refresh(data, url, instance), "STEP_START")

        # The next night (same month): the sample's last SESNSP release (corte 2026-08-01) is 119 days old on
        # HOY and 120 on 11-29, and the 25 states with a readable report last reported 2026-03 at the latest, a
        # period that ended on 2026-04-01, more than 100 days before both dates: the freshness checks would find
        # the same inputs stale, so nothing runs and the observation says so.
        all_stale = ("25 entidades CIE vencidas (01, 02, 03, 05, 06, 07, 08, 09, 11, 13, 14, 15, 16, 17, 19, 20, "
                     "21, 22, 23, 24, 25, 28, 29, 30, 31)")
        next_night = refresh(data, url, instance, hoy="2026-11-29")
        assert _steps(next_night, "STEP_START") == {"ingest__cambios"}
        [observation] = _observations(next_night)
        assert (f"la frescura evaluada al 2026-11-29 da lo mismo que al 2026-11-28 ({all_stale}, SESNSP vencido)"
                in observation.metadata["omitido"].value)

        # With at most 119 days for SESNSP, the release is fresh on HOY and stale on 11-29: that night runs, each
        # step on its stored results (the tables are what the first refresh wrote; the skipped runs' cargas rows
        # do not hide that), and the night after, stale as well, runs nothing again.
        monkeypatch.setenv("CIES_MAX_EDAD_SESNSP_DIAS", "119")
        fresh = refresh(data, url, instance)
        checks = {e.check_name: e for e in fresh.get_asset_check_evaluations()}
        assert checks["frescura_sesnsp"].passed
        stale = refresh(data, url, instance, hoy="2026-11-29")
        assert stale.success and "publicar_warehouse" in _steps(stale, "STEP_START")
        decision = _decision(stale)
        assert decision == ("refrescar: la antigüedad de las entradas cambió de veredicto desde el 2026-11-28: "
                            f"{all_stale}, SESNSP al día entonces, {all_stale}, SESNSP vencido al 2026-11-29")
        checks = {e.check_name: e for e in stale.get_asset_check_evaluations()}
        assert not checks["frescura_sesnsp"].passed
        assert checks["frescura_sesnsp"].metadata["hoy"].value == "2026-11-29"
        meta = {e.asset_key.to_user_string(): e.materialization.metadata
                for e in stale.get_asset_materialization_events()}
        assert "tabla sin cambio" in meta["warehouse/fact_carpetas_trata"]["omitido"].value
        assert f"la corrida {first.run_id[:8]}" in meta["harmonized/carpetas_trata"]["omitido"].value
        assert _steps(refresh(data, url, instance, hoy="2026-11-30"), "STEP_START") == {"ingest__cambios"}

        # a removed file (nothing else changed: same settings, month and freshness verdicts) runs the refresh
        rejected = next((data / "inbox" / "state_reports").rglob("CIE_Guerrero_2025.xlsx"))
        rejected.unlink()
        fifth = refresh(data, url, instance, hoy="2026-11-30")
        assert fifth.success and {"ingest__reportes_cie", "publicar_warehouse"} <= _steps(fifth, "STEP_START")
        decision = _decision(fifth)
        assert decision.startswith("refrescar: 1 archivos de entrada nuevos, cambiados o quitados desde la corrida")
        assert decision.endswith(f": {rejected.relative_to(data / 'inbox').as_posix()}")
        assert q(wh, "SELECT count(*) AS n FROM quality.archivos_rechazados")["n"][0] == 0
        assert len(q(wh, "SELECT run_id FROM warehouse.cargas")) == 10
    finally:
        wh.dispose()


def test_second_refresh_gives_the_same_rows_and_a_blocking_failure_keeps_them(run, tmp_path):
    data, url, wh, _ = run
    before = _snapshot(wh)
    again = refresh(data, url)
    assert again.success
    assert _snapshot(wh) == before
    assert len(q(wh, "SELECT run_id FROM warehouse.cargas")) == 2  # the load log grows, the tables do not

    # Nothing changed: the inputs were not read again, the checks not evaluated again and the tables not
    # rewritten; each says so, with the run whose result it reused (domain.md section 10, memo.py).
    first_run = q(wh, "SELECT run_id FROM warehouse.cargas ORDER BY iniciado")["run_id"][0]
    meta = {e.asset_key.to_user_string(): e.materialization.metadata
            for e in again.get_asset_materialization_events()}
    assert meta["ingest/sesnsp"]["archivos_reutilizados"].value == 9
    # every report, the rejected one too (same bytes, same rejection)
    assert meta["ingest/reportes_cie"]["archivos_reutilizados"].value == 52
    for asset in ("staging/sesnsp_carpetas_municipal", "harmonized/carpetas_trata", "harmonized/victimas_trata"):
        assert f"la corrida {first_run[:8]}" in meta[asset]["omitido"].value, asset
    assert "tabla sin cambio" in meta["warehouse/fact_carpetas_trata"]["omitido"].value
    checks = {(e.asset_key.to_user_string(), e.check_name): e for e in again.get_asset_check_evaluations()}
    reused = checks[("staging/sesnsp_carpetas_municipal", "gx_sesnsp_carpetas_municipal")]
    assert reused.passed and "sin cambio" in reused.metadata["omitido"].value
    assert len(checks) == len({(e.asset_key.to_user_string(), e.check_name)
                               for e in run[3].get_asset_check_evaluations()})  # every check still reported

    # A second AGEEML catalogue repeating the first one's codes breaks a blocking check (one key, one row):
    # nothing downstream runs and the warehouse keeps the previous refresh.
    ref = data / "reference"
    shutil.copy(ref / "AGEEML_2025_sample.csv", ref / "AGEEML_copia.csv")
    try:
        failed = refresh(data, url)
    finally:
        (ref / "AGEEML_copia.csv").unlink()
    assert not failed.success
    bad = [e for e in failed.get_asset_check_evaluations() if not e.passed and
           e.severity == dg.AssetCheckSeverity.ERROR]
    assert [(e.asset_key.to_user_string(), e.check_name) for e in bad] == [("staging/municipios", "gx_ageeml")]
    assert _snapshot(wh) == before
    assert len(q(wh, "SELECT run_id FROM warehouse.cargas")) == 2


def test_cli_refresh_writes_summary_and_shares_the_dagster_instance(tmp_path, sample_dir):
    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    env = {**os.environ, "CIES_DATA_DIR": str(data)}
    env.pop("DAGSTER_HOME", None)
    env.pop("CIES_WAREHOUSE_URL", None)
    summary_path = tmp_path / "summary.json"
    proc = subprocess.run([sys.executable, "-m", "cies_pipeline.cli", "refresh", "--summary", str(summary_path),
                           "--hoy", HOY], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "rejected CIE_Guerrero_2025.xlsx" in proc.stdout
    summary = json.loads(summary_path.read_text())
    assert summary["success"] is True
    assert summary["assets"]["warehouse/reconciliacion"]["row_count"] == 1280
    assert summary["rows_quarantined"] == 2
    assert [r["archivo"] for r in summary["files"]["rejected"]] == ["CIE_Guerrero_2025.xlsx"]
    assert len(summary["files"]["read"]) == 65
    check = next(c for c in summary["checks"] if c["name"] == "cuarentena" and c["asset"] == "ingest/reportes_cie")
    assert check == {"name": "cuarentena", "asset": "ingest/reportes_cie", "passed": False, "severity": "WARN"}
    assert (data / "cies.duckdb").exists()
    # the run is in the instance the UI reads (DAGSTER_HOME under the data directory)
    home = data / "dagster_home"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert [r.run_id for r in runs] == [summary["run_id"]]
        assert runs[0].job_name == "refresh"
