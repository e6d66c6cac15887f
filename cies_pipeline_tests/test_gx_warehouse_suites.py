"""The suites of the published tables (dimensions, reconciliacion_forma, cie_estatus, quality.*): a literal
frame that passes each one, and frames that fail for one stated reason (hand-made, in memory)."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from cies_pipeline.governance import cie_estatus
from cies_pipeline.harmonize.categories import dim_forma_explotacion
from cies_pipeline.harmonize.crosswalks import entidades
from cies_pipeline.harmonize.municipalities import build_dim_municipio
from cies_pipeline.quality.gx import validate_frame
from cies_pipeline.quality.suites import SUITES, TABLE_SUITES

TODAY = date(2026, 11, 15)
T = pd.Timestamp


def dim_entidad() -> pd.DataFrame:
    return entidades()


def dim_municipio() -> pd.DataFrame:
    return build_dim_municipio(pd.DataFrame({"cvegeo": ["20208", "09014"], "cve_ent": ["20", "09"],
                                             "cve_mun": ["208", "014"],
                                             "nombre": ["San Juan Mixtepec", "Benito Juárez"]}))


def dim_forma() -> pd.DataFrame:
    return dim_forma_explotacion()


def reconciliacion_forma() -> pd.DataFrame:
    return pd.DataFrame({
        "periodo": pd.to_datetime(["2026-03-01", "2026-03-01", "2026-04-01"]), "cve_ent": ["14", "14", "20"],
        "forma_explotacion": ["EXPLOTACION_SEXUAL", "TRABAJO_FORZADO", "SIN_CLASIFICAR"],
        "valor_cie": pd.array([3, None, 2], dtype="Int64"), "valor_sesnsp": pd.array([3, 1, None], dtype="Int64"),
        "diferencia": pd.array([0, None, None], dtype="Int64"),
        "estatus": ["coincide", "sin_reporte_cie", "sin_dato_sesnsp"]})


def estatus() -> pd.DataFrame:
    comite = pd.DataFrame({"cve_ent": ["14"], "instalado": pd.array([True], dtype="boolean"),
                           "fecha_instalacion": [T("2019-05-02")], "instrumento_juridico": ["Decreto"],
                           "sesiones_ordinarias": pd.array([4], dtype="Int64"),
                           "sesiones_extraordinarias": pd.array([1], dtype="Int64"),
                           "fecha_ultima_sesion": [T("2025-11-20")],
                           "usuarios_sintra_asignados": pd.array([5], dtype="Int64"),
                           "usuarios_sintra_capacitados": pd.array([3], dtype="Int64"),
                           "fecha_primera_carga_sintra": [T("2024-02-01")], "archivo_origen": ["jal.xlsx"]})
    acuerdos = pd.DataFrame({"cve_ent": ["14", "14", "14"], "id_acuerdo": ["A1", "A2", "A3"],
                             "estatus": ["Cumplido", "Pendiente", "Cancelado"]})
    carpetas = pd.DataFrame({"cve_ent": ["14"], "periodo": [T("2025-10-01")]})
    return cie_estatus(comite, acuerdos, [carpetas])


def cuarentena() -> pd.DataFrame:
    return pd.DataFrame({"archivo_origen": ["EDOMEX.xlsx"], "hoja": ["CI"], "fila_origen": [7],
                         "columna": ["Número de carpetas (D)"], "valor": ["doce"], "motivo": ["conteo_no_numerico"]})


def contabilidad() -> pd.DataFrame:
    return pd.DataFrame({"archivo_origen": ["a.xlsx", "IDEFC.csv"], "hoja": ["CI", None],
                         "leidas": [10, 1000], "cargadas": [7, 12], "en_cuarentena": [1, 0], "excluidas": [2, 988]})


def cobertura() -> pd.DataFrame:
    cve = entidades()["cve_ent"].tolist()
    rows = [{"periodo": T(m), "cve_ent": c, "reporto_cie": c == "14", "estado_cie": "con_cifras" if c == "14"
             else "sin_reporte", "sesnsp_publico": True, "cie_instalado": True if c == "14" else None}
            for m in ("2025-01-01", "2025-02-01") for c in cve]
    frame = pd.DataFrame(rows)
    for c in ("reporto_cie", "sesnsp_publico", "cie_instalado"):
        frame[c] = frame[c].astype("boolean")
    return frame


def rechazados() -> pd.DataFrame:
    return pd.DataFrame({"archivo_origen": ["CIE_Guerrero_2025.xlsx"], "hoja": [None],
                         "motivo": ["página HTML guardada como .xlsx"]})


def excluidas() -> pd.DataFrame:
    return pd.DataFrame({"archivo_origen": ["a.xlsx", "a.xlsx"], "hoja": ["CI", "CI"], "fila_origen": [9, 10],
                         "motivo": ["total", "nota"]})


def sin_mapeo() -> pd.DataFrame:
    return pd.DataFrame({"archivo_origen": ["q.csv"], "columna": ["forma_explotacion"],
                         "etiqueta": ["captación por redes sociales"], "filas": [1]})


# suite -> literal frame that passes it (test_gx.py folds these into its registry check)
WAREHOUSE_PASSING = {"dim_entidad": dim_entidad, "dim_municipio": dim_municipio,
                     "dim_forma_explotacion": dim_forma, "reconciliacion_forma": reconciliacion_forma,
                     "cie_estatus": estatus, "quality_cuarentena": cuarentena,
                     "quality_contabilidad_filas": contabilidad, "quality_cobertura": cobertura,
                     "quality_archivos_rechazados": rechazados, "quality_filas_excluidas": excluidas,
                     "quality_etiquetas_sin_mapeo": sin_mapeo}
WAREHOUSE_BLOCKING = {"dim_entidad", "dim_municipio", "dim_forma_explotacion", "reconciliacion_forma",
                      "cie_estatus", "quality_contabilidad_filas", "quality_cobertura"}


def failed(frame: pd.DataFrame, suite: str) -> set[tuple[str, str]]:
    outcome = validate_frame(frame, suite, TODAY)
    return {(f["expectation"], f["column"]) for f in outcome.failed}


@pytest.mark.parametrize("suite", sorted(WAREHOUSE_PASSING))
def test_literal_table_passes(suite):
    outcome = validate_frame(WAREHOUSE_PASSING[suite](), suite, TODAY)
    assert outcome.failed == [] and outcome.success is True
    assert SUITES[suite].blocking == (suite in WAREHOUSE_BLOCKING)


def test_every_suite_named_by_a_table_exists_and_severity_is_stated():
    for table, suite in TABLE_SUITES.items():
        assert suite in SUITES, table
        assert SUITES[suite].description.startswith("ERROR" if SUITES[suite].blocking else "WARN")


def test_dim_entidad_needs_all_32():
    assert failed(dim_entidad().iloc[:31], "dim_entidad") == {("expect_table_row_count_to_equal", "")}


def test_dim_municipio_pseudo_codes_and_es_real():
    frame = dim_municipio()
    frame.loc[frame["cvegeo"] == "20208", "es_real"] = False                      # a real one marked pseudo
    frame = frame[frame["cvegeo"] != "09999"]                                    # CDMX loses its EE999
    assert failed(frame, "dim_municipio") == {
        ("expect_column_pair_values_to_be_equal", "chk_es_real, chk_es_real_esperado"),
        ("expect_column_values_to_be_between", "chk_pseudo_por_entidad")}


def test_dim_forma_explotacion_is_exactly_the_catalogue():
    frame = dim_forma()
    frame = frame[frame["codigo"] != "SIN_CLASIFICAR"]
    assert failed(frame, "dim_forma_explotacion") == {("expect_column_distinct_values_to_equal_set", "codigo")}


def test_reconciliacion_forma_unknown_form_and_wrong_difference():
    frame = reconciliacion_forma()
    frame.loc[0, "forma_explotacion"] = "PROSTITUCION"
    frame.loc[0, "diferencia"] = 1
    assert failed(frame, "reconciliacion_forma") == {
        ("expect_column_values_to_be_in_set", "forma_explotacion"),
        ("expect_column_pair_values_to_be_equal", "chk_diferencia, chk_diferencia_esperada")}


def test_cie_estatus_always_32_and_cumplidos_within_total():
    frame = estatus()
    assert len(frame) == 32
    frame.loc[frame["cve_ent"] == "14", "acuerdos_cumplidos"] = 5  # total is 2 (A1, A2; A3 cancelled)
    assert failed(frame, "cie_estatus") == {
        ("expect_column_pair_values_a_to_be_greater_than_b", "chk_acuerdos_total, chk_acuerdos_cumplidos")}
    assert ("expect_table_row_count_to_equal", "") in failed(estatus().iloc[1:], "cie_estatus")


def test_contabilidad_that_does_not_balance():
    frame = contabilidad()
    frame.loc[0, "leidas"] = 11
    assert failed(frame, "quality_contabilidad_filas") == {
        ("expect_column_pair_values_to_be_equal", "chk_leidas, chk_suma")}


def test_cobertura_missing_state_and_inconsistent_estado():
    frame = cobertura()
    frame = frame[~((frame["cve_ent"] == "32") & (frame["periodo"] == T("2025-02-01")))].reset_index(drop=True)
    frame.loc[0, "estado_cie"] = "sin_cifras"  # Aguascalientes 2025-01: 'sin_cifras' but reporto_cie false
    assert failed(frame, "quality_cobertura") == {
        ("expect_column_values_to_be_between", "chk_entidades_por_mes"),
        ("expect_column_pair_values_to_be_equal", "chk_reporto, chk_reporto_esperado")}


def test_filas_excluidas_unknown_reason_and_cuarentena_without_row():
    frame = excluidas()
    frame.loc[0, "motivo"] = "porque si"
    assert failed(frame, "quality_filas_excluidas") == {("expect_column_values_to_be_in_set", "motivo")}
    frame = cuarentena()
    frame.loc[0, "fila_origen"] = 0
    assert failed(frame, "quality_cuarentena") == {("expect_column_values_to_be_between", "fila_origen")}
