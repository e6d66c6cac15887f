"""The GX suites and the runner: for each suite a literal frame that passes and one that fails for a
stated reason (asserting the exact failing expectations and their unexpected values), Data Docs in a
file context, empty frames, metadata, and that the caller's frame is never touched."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cies_pipeline.quality import gx as runner
from cies_pipeline.quality.gx import SuiteOutcome, validate_frame
from cies_pipeline.quality.suites import SUITES, dtype_is_kind, mexico_today

# The current month (November 2026) counts as future: October 2026 is the last valid period.
TODAY = date(2026, 11, 15)
SHA = "ab" * 32
SHA2 = "cd" * 32


def ts(*values: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)))


def ints(*values: int | None) -> pd.Series:
    return pd.Series(pd.array(list(values), dtype="Int64"))


def failures(outcome: SuiteOutcome) -> set[tuple]:
    """(expectation type, column(s), unexpected values) of every failed expectation."""
    return {(f["expectation"], f["column"], tuple(f["partial_unexpected_list"])) for f in outcome.failed}


def check(frame: pd.DataFrame, suite: str) -> SuiteOutcome:
    return validate_frame(frame, suite, TODAY)


# -- literal frames that pass ---------------------------------------------------------------------------
def cie_carpetas() -> pd.DataFrame:
    # two rows with the same key are separate records in a CIE report (allowed); a blank count is <NA>
    return pd.DataFrame({
        "archivo_origen": ["jal/JAL_2026.xlsx"] * 3, "archivo_sha256": [SHA] * 3, "hoja": ["Carpetas"] * 3,
        "fila_origen": [4, 5, 6], "reporte": ["jal/JAL_2026.xlsx"] * 3,
        "periodo": ts("2015-01-01", "2026-10-01", "2026-10-01"), "cve_ent": ["14", "14", "14"],
        "municipio": ["Guadalajara", None, "Guadalajara"], "carpetas": ints(3, None, 100)})


def cie_victimas() -> pd.DataFrame:
    return pd.DataFrame({
        "archivo_origen": ["oax_2026_victimas.csv"] * 2, "archivo_sha256": [SHA] * 2, "hoja": ["victimas"] * 2,
        "fila_origen": [2, 3], "reporte": ["oax_2026"] * 2, "periodo": ts("2026-01-01", "2026-02-01"),
        "cve_ent": ["20", "20"], "municipio": ["20208", "Oaxaca de Juárez"],
        "forma_explotacion": ["explotación sexual", None], "sexo": ["F", "M"], "grupo_edad": ["15", "NNA"],
        "nacionalidad": ["Guatemala", "mexicana"], "victimas": ints(1, None)})


def cie_comite() -> pd.DataFrame:
    return pd.DataFrame({
        "archivo_origen": ["jal.xlsx", "oax.xlsx"], "archivo_sha256": [SHA, SHA2], "hoja": ["Comité", "CIE"],
        "fila_origen": [2, 2], "reporte": ["jal.xlsx", "oax.xlsx"], "cve_ent": ["14", "20"],
        "instalado": pd.array([True, None], dtype="boolean"), "fecha_instalacion": ts("2013-05-02", None),
        "instrumento_juridico": ["Decreto", None], "sesiones_ordinarias": ints(4, 0),
        "sesiones_extraordinarias": ints(1, None), "fecha_ultima_sesion": ts("2026-09-30", None),
        "usuarios_sintra_asignados": ints(5, 0), "usuarios_sintra_capacitados": ints(3, 0),
        "fecha_primera_carga_sintra": ts("2024-02-01", None)})


def cie_acuerdos() -> pd.DataFrame:
    # the same id_acuerdo in two states is two agreements
    return pd.DataFrame({
        "archivo_origen": ["jal.xlsx", "jal.xlsx", "oax.xlsx"], "archivo_sha256": [SHA, SHA, SHA2],
        "hoja": ["acuerdos"] * 3, "fila_origen": [2, 3, 2], "reporte": ["jal.xlsx", "jal.xlsx", "oax.xlsx"],
        "cve_ent": ["14", "14", "20"], "id_acuerdo": ["A-1", "A-2", "A-1"],
        "fecha_sesion": ts("2026-03-01", "2026-03-01", "2026-04-01"),
        "descripcion": ["Capacitar", "Protocolo", "Campaña"], "responsable": ["Fiscalía", "DIF", "SEGOB"],
        "estatus": ["Cumplido", "En proceso", "Cancelado"], "fecha_compromiso": ts("2026-06-30", None, None)})


def sesnsp_carpetas_estatal() -> pd.DataFrame:
    # the same key from two releases (two files) is not a duplicate
    return pd.DataFrame({
        "archivo_origen": ["IDEFC_NM_may25.csv", "IDEFC_NM_jun25.csv", "IDEFC_NM_jun25.csv"],
        "archivo_sha256": [SHA, SHA2, SHA2], "hoja": [None] * 3, "fila_origen": [10, 10, 11],
        "corte": ts("2025-05-01", "2025-06-01", "2025-06-01"), "metodologia": ["CNSP-38-15"] * 3,
        "periodo": ts("2025-05-01", "2025-05-01", "2025-06-01"), "cve_ent": ["09", "09", "09"],
        "delito": ["Trata de personas"] * 3, "carpetas": pd.Series([4, 5, 0], dtype="int64")})


def sesnsp_victimas_estatal() -> pd.DataFrame:
    return pd.DataFrame({
        "archivo_origen": ["IDVFC_NM_jun25.csv"] * 2, "archivo_sha256": [SHA] * 2, "hoja": [None] * 2,
        "fila_origen": [20, 21], "corte": ts("2025-06-01", "2025-06-01"), "metodologia": ["CNSP-38-15"] * 2,
        "periodo": ts("2025-06-01", "2025-06-01"), "cve_ent": ["15", "15"], "delito": ["Trata de personas"] * 2,
        "sexo": ["Mujer", "Hombre"], "rango_edad": ["Adultos (18 y más)"] * 2,
        "victimas": pd.Series([2, 1], dtype="int64")})


def sesnsp_carpetas_municipal() -> pd.DataFrame:
    return pd.DataFrame({
        "archivo_origen": ["IDM_NM_jun25.csv"] * 2, "archivo_sha256": [SHA] * 2, "hoja": [None] * 2,
        "fila_origen": [30, 31], "corte": ts("2025-06-01", "2025-06-01"), "metodologia": ["CNSP-38-15"] * 2,
        "periodo": ts("2025-06-01", "2025-06-01"), "cve_ent": ["14", "14"], "delito": ["Trata de personas"] * 2,
        "cvegeo": ["14039", "14998"], "municipio": ["Guadalajara", "No especificado"],
        "carpetas": pd.Series([1, 0], dtype="int64")})


def sesnsp_victimas_municipal() -> pd.DataFrame:
    return pd.DataFrame({
        "archivo_origen": ["RNID-Victimas_Municipal-2026-ago2026.csv"] * 2, "archivo_sha256": [SHA] * 2,
        "hoja": [None] * 2, "fila_origen": [7, 8], "corte": ts("2026-08-01", "2026-08-01"),
        "metodologia": ["RNID-2026"] * 2, "periodo": ts("2026-03-01", "2026-03-01"), "cve_ent": ["14", "14"],
        "delito": ["Trata de personas - Explotación laboral"] * 2, "cvegeo": ["14039", "14998"],
        "municipio": ["Guadalajara", "No especificado"], "sexo": ["Mujer", "Hombre"],
        "rango_edad": ["18 a 29 años", "0 a 12 años"], "victimas": pd.Series([2, 1], dtype="int64")})


def ageeml() -> pd.DataFrame:
    return pd.DataFrame({
        "cvegeo": ["20208", "20209", "09014"], "cve_ent": ["20", "20", "09"], "cve_mun": ["208", "209", "014"],
        "nombre": ["San Juan Mixtepec", "San Juan Mixtepec", "Benito Juárez"],
        "nom_ent": ["Oaxaca", "Oaxaca", "Ciudad de México"], "archivo_origen": ["AGEEML.csv"] * 3,
        "archivo_sha256": [SHA] * 3, "hoja": [None] * 3, "fila_origen": [2, 3, 4]})


def fact_carpetas_trata() -> pd.DataFrame:
    # a SESNSP state-file row has no cvegeo; a CIE blank stays <NA>; 2026 figures are RNID-2026
    return pd.DataFrame({
        "periodo": ts("2025-06-01", "2026-01-01", "2026-10-01"), "cve_ent": ["09", "14", "14"],
        "cvegeo": [None, "14039", "14998"], "nivel": ["estatal", "municipal", "municipal"],
        "fuente": ["SESNSP", "CIE", "CIE"], "metodologia": ["CNSP-38-15", "RNID-2026", "RNID-2026"],
        "carpetas": ints(5, None, 0), "archivo_origen": ["IDEFC_NM_jun25.csv", "jal.xlsx", "jal.xlsx"],
        "archivo_sha256": [SHA, SHA2, SHA2], "hoja": [None, "Carpetas", "Carpetas"], "fila_origen": [10, 4, 5]})


def fact_victimas_trata() -> pd.DataFrame:
    return pd.DataFrame({
        "periodo": ts("2025-06-01", "2026-02-01"), "cve_ent": ["15", "20"], "cvegeo": [None, "20208"],
        "nivel": ["estatal", "municipal"], "fuente": ["SESNSP", "CIE"], "metodologia": ["CNSP-38-15", "RNID-2026"],
        "forma_explotacion": ["NO_ESPECIFICADA", "EXPLOTACION_SEXUAL"], "sexo": ["Mujer", "No identificado"],
        "grupo_edad": ["Adultos (18 y más)", "Menores de edad (0-17)"], "grupo_edad_detalle": [None, "13 a 17 años"],
        "nacionalidad": ["No especificada", "Extranjera"], "victimas": ints(2, 1),
        "archivo_origen": ["IDVFC_NM_jun25.csv", "oax.xlsx"], "archivo_sha256": [SHA, SHA2],
        "hoja": [None, "Víctimas"], "fila_origen": [20, 3]})


def reconciliacion() -> pd.DataFrame:
    # one row per estatus: 5-3 = 2 discrepa; 4-4 coincide; state sent nothing; SESNSP has no figure
    return pd.DataFrame({
        "periodo": ts("2025-06-01", "2025-06-01", "2025-06-01", "2025-06-01"), "cve_ent": ["14", "14", "20", "09"],
        "medida": ["carpetas", "victimas", "carpetas", "carpetas"], "valor_cie": ints(5, 4, None, 7),
        "valor_sesnsp": ints(3, 4, 0, None), "diferencia": ints(2, 0, None, None),
        "estatus": ["discrepa", "coincide", "sin_reporte_cie", "sin_dato_sesnsp"]})


def reconciliacion_municipal() -> pd.DataFrame:
    frame = reconciliacion()
    frame.insert(2, "cvegeo", ["14039", "14039", "20208", "09998"])
    return frame


def poblacion_estatal() -> pd.DataFrame:
    return pd.DataFrame({"anio": [2025, 2025], "cve_ent": ["00", "14"], "poblacion": [133_365_000, 8_904_000],
                         "archivo_origen": ["conapo.csv", "conapo.csv"]})


def poblacion_municipal() -> pd.DataFrame:
    return pd.DataFrame({"anio": [2025, 2026], "cvegeo": ["14039", "14039"], "cve_ent": ["14", "14"],
                         "poblacion": [1_385_629, 1_390_000], "archivo_origen": ["pob_mun.csv"] * 2})


PASSING = {f.__name__: f for f in [poblacion_estatal, poblacion_municipal, cie_carpetas, cie_victimas, cie_comite, cie_acuerdos, sesnsp_carpetas_estatal,
                                   sesnsp_victimas_estatal, sesnsp_carpetas_municipal, sesnsp_victimas_municipal, ageeml,
                                   fact_carpetas_trata, fact_victimas_trata, reconciliacion,
                                   reconciliacion_municipal]}


def test_registry_has_every_suite_with_its_severity():
    # the published tables' suites have their literal frames in test_gx_warehouse_suites.py
    from test_gx_warehouse_suites import WAREHOUSE_BLOCKING, WAREHOUSE_PASSING

    assert set(SUITES) == set(PASSING) | set(WAREHOUSE_PASSING)
    assert {name for name, spec in SUITES.items() if spec.blocking} == WAREHOUSE_BLOCKING | {
        "sesnsp_carpetas_estatal", "sesnsp_victimas_estatal", "sesnsp_carpetas_municipal",
        "sesnsp_victimas_municipal", "ageeml", "poblacion_municipal",
        "poblacion_estatal", "fact_carpetas_trata", "fact_victimas_trata", "reconciliacion", "reconciliacion_municipal"}
    for spec in SUITES.values():
        assert spec.description.startswith("ERROR" if spec.blocking else "WARN")


@pytest.mark.parametrize("suite", sorted(PASSING))
def test_literal_frame_passes(suite):
    outcome = check(PASSING[suite](), suite)
    assert outcome.failed == []
    assert outcome.success is True
    assert outcome.evaluated == len(SUITES[suite].build(TODAY))


# -- literal frames that fail, one stated reason each ----------------------------------------------------
def test_cie_carpetas_future_and_old_periods_negative_and_unusual_counts():
    frame = cie_carpetas()
    frame["periodo"] = ts("2014-12-01", "2026-11-01", "2026-10-01")  # before 2015; current month = future
    frame["carpetas"] = ints(-1, None, 101)  # negative; above CONTEO_INUSUAL (100)
    assert failures(check(frame, "cie_carpetas")) == {
        ("expect_column_values_to_be_between", "periodo", ("2014-12-01", "2026-11-01")),
        ("expect_column_values_to_be_between", "carpetas", ("-1",)),
        ("expect_column_values_to_be_between", "carpetas", ("101",)),
    }


def test_cie_victimas_unknown_state_null_period_and_negative_count():
    frame = cie_victimas()
    frame["cve_ent"] = ["20", "33"]
    frame["periodo"] = ts("2026-01-01", None)
    frame["victimas"] = ints(-2, 1)
    assert failures(check(frame, "cie_victimas")) == {
        ("expect_column_values_to_be_in_set", "cve_ent", ("33",)),
        ("expect_column_values_to_not_be_null", "periodo", ("nulo",)),
        ("expect_column_values_to_be_between", "victimas", ("-2",)),
    }


def test_cie_comite_two_rows_for_one_state_and_negative_sessions():
    frame = cie_comite()
    frame["cve_ent"] = ["14", "14"]
    frame["sesiones_ordinarias"] = ints(4, -1)
    assert failures(check(frame, "cie_comite")) == {
        ("expect_column_values_to_be_unique", "cve_ent", ("14", "14")),
        ("expect_column_values_to_be_between", "sesiones_ordinarias", ("-1",)),
    }


def test_cie_acuerdos_unknown_status_and_repeated_id_in_one_state():
    frame = cie_acuerdos()
    frame["id_acuerdo"] = ["A-1", "A-1", "A-1"]
    frame["estatus"] = ["Cumplido", "Terminado", "Cancelado"]
    assert failures(check(frame, "cie_acuerdos")) == {
        ("expect_column_values_to_be_in_set", "estatus", ("Terminado",)),
        ("expect_compound_columns_to_be_unique", "cve_ent, id_acuerdo",
         ("cve_ent=14, id_acuerdo=A-1", "cve_ent=14, id_acuerdo=A-1")),
    }


def test_sesnsp_carpetas_estatal_repeated_key_month_after_release_and_null_count():
    frame = sesnsp_carpetas_estatal()
    frame["archivo_origen"] = ["IDEFC_NM_jun25.csv"] * 3  # rows 0 and 1 now share one key in one file
    frame.loc[2, "periodo"] = pd.Timestamp("2025-07-01")  # after its release month (corte 2025-06)
    frame["carpetas"] = ints(4, 5, None)
    key = "archivo_origen=IDEFC_NM_jun25.csv, periodo=2025-05-01, cve_ent=09, delito=Trata de personas"
    assert failures(check(frame, "sesnsp_carpetas_estatal")) == {
        ("expect_compound_columns_to_be_unique", "archivo_origen, periodo, cve_ent, delito", (key, key)),
        ("expect_column_pair_values_a_to_be_greater_than_b", "corte, periodo", ("(2025-06-01, 2025-07-01)",)),
        ("expect_column_values_to_not_be_null", "carpetas", ("nulo",)),
    }


def test_sesnsp_victimas_estatal_unknown_methodology_and_repeated_key():
    frame = sesnsp_victimas_estatal()
    frame["sexo"] = ["Mujer", "Mujer"]  # sexo is part of the key: now the two rows collide
    frame["metodologia"] = ["CNSP/38/15", "CNSP-38-15"]
    key = ("archivo_origen=IDVFC_NM_jun25.csv, periodo=2025-06-01, cve_ent=15, delito=Trata de personas, "
           "sexo=Mujer, rango_edad=Adultos (18 y más)")
    assert failures(check(frame, "sesnsp_victimas_estatal")) == {
        ("expect_column_values_to_be_in_set", "metodologia", ("CNSP/38/15",)),
        ("expect_compound_columns_to_be_unique",
         "archivo_origen, periodo, cve_ent, delito, sexo, rango_edad", (key, key)),
    }


def test_sesnsp_carpetas_municipal_unpadded_cvegeo_and_other_state_prefix():
    frame = sesnsp_carpetas_municipal()
    frame["cve_ent"] = ["01", "14"]
    frame["cvegeo"] = ["1001", "15001"]  # lost its padding; belongs to state 15 on a row of state 14
    assert failures(check(frame, "sesnsp_carpetas_municipal")) == {
        ("expect_column_values_to_match_regex", "cvegeo", ("1001",)),
        ("expect_column_pair_values_to_be_equal", "chk_entidad_de_cvegeo, cve_ent", ("(10, 01)", "(15, 14)")),
    }


def test_ageeml_repeated_cvegeo_missing_name_and_wrong_prefix():
    frame = ageeml()
    frame["cvegeo"] = ["20208", "20208", "20014"]
    frame["nombre"] = ["San Juan Mixtepec", None, "Benito Juárez"]
    assert failures(check(frame, "ageeml")) == {
        ("expect_column_values_to_be_unique", "cvegeo", ("20208", "20208")),
        ("expect_column_values_to_not_be_null", "nombre", ("nulo",)),
        ("expect_column_pair_values_to_be_equal", "chk_entidad_de_cvegeo, cve_ent", ("(20, 09)",)),
    }


def test_fact_carpetas_bad_hash_unknown_source_old_methodology_in_2026_and_municipal_row_without_cvegeo():
    frame = fact_carpetas_trata()
    frame["archivo_sha256"] = [SHA, SHA2.upper(), None]
    frame["fuente"] = ["SESNSP", "CIE", "INEGI"]
    frame["metodologia"] = ["CNSP-38-15", "CNSP-38-15", "RNID-2026"]
    frame["cvegeo"] = [None, "14039", None]  # a municipal row lost its municipality
    assert failures(check(frame, "fact_carpetas_trata")) == {
        ("expect_column_values_to_not_be_null", "cvegeo", ("nulo",)),
        ("expect_column_values_to_match_regex", "archivo_sha256", (SHA2.upper(),)),
        ("expect_column_values_to_not_be_null", "archivo_sha256", ("nulo",)),
        ("expect_column_values_to_be_in_set", "fuente", ("INEGI",)),
        ("expect_column_pair_values_to_be_equal", "metodologia, chk_metodologia_segun_periodo",
         ("(CNSP-38-15, RNID-2026)",)),
    }


def test_fact_victimas_uncanonical_categories_and_negative_count():
    frame = fact_victimas_trata()
    frame["forma_explotacion"] = ["NO_ESPECIFICADA", "TRATA"]
    frame["sexo"] = ["M", "Mujer"]
    frame["grupo_edad"] = ["Adultos (18 y más)", "0 a 12 años"]
    frame["nacionalidad"] = ["Guatemalteca", "Extranjera"]
    frame["victimas"] = ints(-1, 1)
    assert failures(check(frame, "fact_victimas_trata")) == {
        ("expect_column_values_to_be_in_set", "forma_explotacion", ("TRATA",)),
        ("expect_column_values_to_be_in_set", "sexo", ("M",)),
        ("expect_column_values_to_be_in_set", "grupo_edad", ("0 a 12 años",)),
        ("expect_column_values_to_be_in_set", "nacionalidad", ("Guatemalteca",)),
        ("expect_column_values_to_be_between", "victimas", ("-1",)),
    }


def test_reconciliacion_wrong_difference_status_and_repeated_key():
    frame = reconciliacion()
    frame["diferencia"] = ints(1, 0, 0, None)  # 5-3 is 2; with no CIE figure diferencia must be NULL
    frame["estatus"] = ["coincide", "coincide", "sin_reporte_cie", "sin_dato_sesnsp"]
    frame["medida"] = ["carpetas", "carpetas", "carpetas", "carpetas"]  # row 1 now repeats row 0's key
    assert failures(check(frame, "reconciliacion")) == {
        ("expect_column_pair_values_to_be_equal", "chk_diferencia, chk_diferencia_esperada",
         ("(1, 2)", "(0, (nulo))")),
        ("expect_column_pair_values_to_be_equal", "chk_estatus, chk_estatus_esperado", ("(coincide, discrepa)",)),
        ("expect_compound_columns_to_be_unique", "periodo, cve_ent, medida",
         ("periodo=2025-06-01, cve_ent=14, medida=carpetas",) * 2),
    }


def test_reconciliacion_municipal_repeated_key_and_cvegeo_of_another_state():
    frame = reconciliacion_municipal()
    frame["cvegeo"] = ["14039", "14039", "20208", "14998"]
    frame["medida"] = ["carpetas", "carpetas", "carpetas", "carpetas"]
    assert failures(check(frame, "reconciliacion_municipal")) == {
        ("expect_compound_columns_to_be_unique", "periodo, cvegeo, medida",
         ("periodo=2025-06-01, cvegeo=14039, medida=carpetas",) * 2),
        ("expect_column_pair_values_to_be_equal", "chk_entidad_de_cvegeo, cve_ent", ("(14, 09)",)),
    }


# -- columns and dtypes ------------------------------------------------------------------------------------
def test_missing_column_and_wrong_dtype_are_named():
    frame = cie_carpetas().drop(columns=["municipio"])
    frame["carpetas"] = frame["carpetas"].astype("float64")  # a reader that lost Int64
    outcome = check(frame, "cie_carpetas")
    # one expectation checks the whole column contract and names every column that breaks it
    assert [f["expectation"] for f in outcome.failed] == ["expect_columns_of_kinds"]
    assert outcome.failed[0]["observed_value"] == "municipio: columna ausente; carpetas: float64 (se esperaba entero)"


@pytest.mark.parametrize("dtype, kind, empty, expected", [
    ("str", "texto", False, True),
    ("object", "texto", False, True),
    ("Int64", "entero", False, True),
    ("int64", "entero", False, True),
    ("float64", "entero", False, False),
    ("bool", "entero", False, False),
    ("object", "entero", False, False),
    ("object", "entero", True, True),  # an empty frame's columns carry no dtype information
    ("datetime64[us]", "fecha", False, True),
    ("str", "fecha", False, False),
    ("boolean", "booleano", False, True),
    ("Float64", "numero", False, True),
])
def test_dtype_kinds(dtype, kind, empty, expected):
    assert dtype_is_kind(pd.Series([], dtype=dtype).dtype, kind, empty=empty) is expected


# -- empty frames, the caller's frame, metadata -------------------------------------------------------------
@pytest.mark.parametrize("suite", sorted(PASSING))
def test_empty_frame_validates(suite):
    typed = PASSING[suite]().iloc[:0]
    assert check(typed, suite).success is True
    untyped = pd.DataFrame({c: pd.Series(dtype="object") for c in typed.columns})
    outcome = check(untyped, suite)
    assert outcome.failed == []


def test_callers_frame_is_unchanged():
    frame = reconciliacion_municipal()
    before = frame.copy(deep=True)
    columns, dtypes = list(frame.columns), frame.dtypes.copy()
    check(frame, "reconciliacion_municipal")
    check(sesnsp_carpetas_municipal(), "sesnsp_carpetas_municipal")
    assert list(frame.columns) == columns  # no chk_* column leaked in
    pd.testing.assert_series_equal(frame.dtypes, dtypes)  # periodo still datetime64[us], counts Int64
    pd.testing.assert_frame_equal(frame, before)


def test_metadata_is_json_safe_and_lists_failures():
    frame = cie_acuerdos()
    frame["estatus"] = ["Cumplido", "Terminado", "Hecho"]
    outcome = check(frame, "cie_acuerdos")
    meta = outcome.metadata()
    assert json.loads(json.dumps(meta)) == meta
    assert meta["suite"] == "cie_acuerdos" and meta["success"] is False
    assert meta["evaluated"] == len(SUITES["cie_acuerdos"].build(TODAY)) and meta["failed"] == 1
    assert "data_docs" not in meta  # ephemeral context: no Data Docs
    assert meta["failures"].splitlines()[2] == (
        "| expect_column_values_to_be_in_set | estatus | 2 | Terminado; Hecho | value_set=(Cumplido, En proceso, "
        "Pendiente, Cancelado) |")


def test_unknown_suite_is_named():
    with pytest.raises(ValueError, match="suite desconocida 'cie_carpeta'.*cie_carpetas"):
        check(cie_carpetas(), "cie_carpeta")


def test_period_limit_moves_with_today():
    frame = cie_carpetas()
    assert check(frame, "cie_carpetas").success is True
    # on 2026-10-01 October itself is the current month, hence future
    outcome = validate_frame(frame, "cie_carpetas", date(2026, 10, 1))
    assert failures(outcome) == {
        ("expect_column_values_to_be_between", "periodo", ("2026-10-01", "2026-10-01"))}


def test_mexico_today_is_a_date():
    assert isinstance(mexico_today(), date)


# -- file context and Data Docs ----------------------------------------------------------------------------
def test_file_context_writes_data_docs_and_reopens(tmp_path):
    root = tmp_path / "gx"
    frame = cie_carpetas()
    frame["carpetas"] = ints(3, None, -4)
    first = validate_frame(frame, "cie_carpetas", TODAY, context_root=root)
    assert failures(first) == {("expect_column_values_to_be_between", "carpetas", ("-4",))}
    index = root / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert index.is_file()
    assert first.data_docs is not None and first.data_docs.startswith(str(root))
    assert first.data_docs.endswith(".html") and Path(first.data_docs).is_file()
    assert first.metadata()["data_docs"] == first.data_docs
    stored = json.loads((root / "expectations" / "cie_carpetas.json").read_text(encoding="utf-8"))
    assert {e["severity"] for e in stored["expectations"]} == {"warning"}  # cie_carpetas only warns

    # the same suite again, then a fresh context on the same folder (as a new process would open it):
    # datasource, asset, suite, validation definition and checkpoint already exist and are reused
    second = validate_frame(cie_carpetas(), "cie_carpetas", TODAY, context_root=root)
    assert second.success is True
    runner._CONTEXTS.clear()
    runner._PREPARED.clear()
    third = validate_frame(frame, "cie_carpetas", TODAY, context_root=root)
    assert failures(third) == failures(first)
    assert len(list((root / "uncommitted" / "validations").rglob("*.json"))) == 3


def test_a_pass_is_a_verdict_and_a_failure_is_validated_again_with_details(tmp_path, monkeypatch):
    """A suite runs first with BOOLEAN_ONLY (each expectation's verdict, no metric about unexpected values);
    only when it fails does it run again with SUMMARY, and that detailed result is the one kept in the store
    and reported (unexpected counts and examples). In memory as in a file context."""
    root = tmp_path / "gx"
    formats = []
    original = runner._run_checkpoint

    def spy(checkpoint, data):
        formats.append(checkpoint.result_format["result_format"])
        return original(checkpoint, data)

    monkeypatch.setattr(runner, "_run_checkpoint", spy)
    stored = root / "uncommitted" / "validations" / "cie_carpetas"

    def results() -> list[dict]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(stored.rglob("*.json"))]

    good = validate_frame(cie_carpetas(), "cie_carpetas", TODAY, context_root=root, data_docs=False)
    assert good.success and good.failed == [] and formats == ["BOOLEAN_ONLY"]
    [passed] = results()
    assert passed["success"] is True and len(passed["results"]) == good.evaluated
    # a verdict holds no count of unexpected values
    assert all("unexpected_count" not in (r["result"] or {}) for r in passed["results"])

    formats.clear()
    frame = cie_carpetas()
    frame["carpetas"] = ints(3, None, -4)
    bad = validate_frame(frame, "cie_carpetas", TODAY, context_root=root, data_docs=False)
    assert formats == ["BOOLEAN_ONLY", "SUMMARY"]
    [f] = bad.failed
    assert (f["expectation"], f["column"], f["unexpected_count"], f["partial_unexpected_list"]) == (
        "expect_column_values_to_be_between", "carpetas", 1, ["-4"])
    # the failed verdict was not kept: one result per validation, the second with its details
    first, second = results()
    assert first == passed and second["success"] is False
    [between] = [r for r in second["results"] if not r["success"]]
    assert between["result"]["unexpected_count"] == 1
    assert runner.pending_docs(root) == 2    # the two kept results get their pages at the next build
    assert runner.build_data_docs(root) is not None and runner.pending_docs(root) == 0

    # in memory (no checkpoints): the same outcome
    assert validate_frame(frame, "cie_carpetas", TODAY).failed == bad.failed
    assert validate_frame(cie_carpetas(), "cie_carpetas", TODAY).success


def _new_process(root: Path, monkeypatch) -> list[str]:
    """Forget this process's contexts and suites, as a new process would; record every GX store write."""
    runner._CONTEXTS.clear()
    runner._PREPARED.clear()
    context = runner.get_context(root)
    stored: list[str] = []
    for kind in ("suites", "validation_definitions", "checkpoints"):
        factory = getattr(context, kind)

        def add_or_update(*args, _kind=kind, _original=factory.add_or_update, **kwargs):
            stored.append(_kind)
            return _original(*args, **kwargs)

        monkeypatch.setattr(factory, "add_or_update", add_or_update)
    return stored


def test_the_details_checkpoint_is_read_or_stored_only_when_a_suite_fails(tmp_path, monkeypatch):
    """A suite that passes needs only its verdict's checkpoint; the details' is stored at the suite's first
    failure, and a later process reads it back (stores nothing) only when the suite fails again."""
    root = tmp_path / "gx"

    def checkpoints() -> list[str]:
        return sorted(p.name for p in (root / "checkpoints").glob("*.json"))

    assert validate_frame(cie_carpetas(), "cie_carpetas", TODAY, context_root=root).success
    assert checkpoints() == ["cie_carpetas.json"]
    bad = cie_carpetas()
    bad["carpetas"] = ints(3, None, -4)
    assert failures(validate_frame(bad, "cie_carpetas", TODAY, context_root=root)) == {
        ("expect_column_values_to_be_between", "carpetas", ("-4",))}
    assert checkpoints() == ["cie_carpetas.json", "cie_carpetas__detalle.json"]

    stored = _new_process(root, monkeypatch)
    context = runner.get_context(root)
    read: list[str] = []
    get = context.checkpoints.get
    monkeypatch.setattr(context.checkpoints, "get", lambda name: read.append(name) or get(name))
    assert validate_frame(cie_carpetas(), "cie_carpetas", TODAY, context_root=root).success
    assert read == ["cie_carpetas"] and stored == []
    assert failures(validate_frame(bad, "cie_carpetas", TODAY, context_root=root)) == {
        ("expect_column_values_to_be_between", "carpetas", ("-4",))}
    assert read == ["cie_carpetas", "cie_carpetas__detalle"] and stored == []


def _stored_definitions(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8")
            for folder in ("expectations", "validation_definitions", "checkpoints")
            for p in sorted((root / folder).glob("*.json"))}


def test_new_process_reads_unchanged_suite_back_and_stores_a_changed_one(tmp_path, monkeypatch):
    root = tmp_path / "gx"
    frame = cie_carpetas()
    frame["periodo"] = ts("2015-01-01", "2026-10-01", "2026-11-01")  # November is future until December
    frame["carpetas"] = ints(3, None, -4)
    first = validate_frame(frame, "cie_carpetas", TODAY, context_root=root)
    definitions = _stored_definitions(root)

    # same suite, new process: read back, nothing stored again, same outcome and its own Data Docs page
    stored = _new_process(root, monkeypatch)
    second = validate_frame(frame, "cie_carpetas", TODAY, context_root=root)
    assert stored == []
    assert _stored_definitions(root) == definitions
    assert (second.success, second.evaluated, failures(second)) == (first.success, first.evaluated,
                                                                    failures(first))
    assert failures(second) == {
        ("expect_column_values_to_be_between", "periodo", ("2026-11-01",)),
        ("expect_column_values_to_be_between", "carpetas", ("-4",))}
    assert second.data_docs != first.data_docs and Path(second.data_docs).is_file()

    # December: cie_carpetas' period limit moves, so the suite is stored again and November passes
    stored = _new_process(root, monkeypatch)
    december = validate_frame(frame, "cie_carpetas", date(2026, 12, 3), context_root=root)
    assert "suites" in stored and "checkpoints" in stored
    assert failures(december) == {("expect_column_values_to_be_between", "carpetas", ("-4",))}
    suite = json.loads((root / "expectations" / "cie_carpetas.json").read_text(encoding="utf-8"))
    assert {e["kwargs"].get("max_value") for e in suite["expectations"]
            if e["kwargs"].get("column") == "periodo"} >= {"2026-12-01T00:00:00"}
    stored = _new_process(root, monkeypatch)
    assert failures(validate_frame(frame, "cie_carpetas", date(2026, 12, 20), context_root=root)) == \
        failures(december)
    assert stored == []

    # a stored suite that differs from the code in any way (here edited by hand) is stored again, not used
    path = root / "expectations" / "cie_carpetas.json"
    edited = path.read_text(encoding="utf-8").replace('"min_value": 0.0', '"min_value": -10.0')
    assert edited != path.read_text(encoding="utf-8")
    path.write_text(edited, encoding="utf-8")
    stored = _new_process(root, monkeypatch)
    assert failures(validate_frame(frame, "cie_carpetas", date(2026, 12, 20), context_root=root)) == \
        failures(december)
    assert "suites" in stored and '"min_value": -10.0' not in path.read_text(encoding="utf-8")


def test_deferred_data_docs_are_built_once_for_many_validations(tmp_path):
    root = tmp_path / "gx"
    outcomes = [validate_frame(PASSING[name](), name, TODAY, context_root=root, data_docs=False)
                for name in ("ageeml", "reconciliacion")]
    pages = [Path(o.data_docs) for o in outcomes]
    assert not any(page.exists() for page in pages)  # stored, not rendered yet
    index = runner.build_data_docs(root)
    assert index == str(root / "uncommitted" / "data_docs" / "local_site" / "index.html")
    assert Path(index).is_file() and all(page.is_file() for page in pages)
    html = Path(index).read_text(encoding="utf-8")
    assert "ageeml" in html and "reconciliacion" in html
    assert runner.build_data_docs(tmp_path / "never_used") is None


def test_data_docs_keep_the_latest_results_of_each_suite(tmp_path):
    """GX's index reads every stored result: without pruning, each nightly build would take longer."""
    root = tmp_path / "gx"
    ageeml = [validate_frame(PASSING["ageeml"](), "ageeml", TODAY, context_root=root, data_docs=False)
              for _ in range(runner.RESULTS_PER_SUITE + 2)]
    recon = validate_frame(PASSING["reconciliacion"](), "reconciliacion", TODAY, context_root=root,
                           data_docs=False)
    runner.build_data_docs(root)
    results = root / "uncommitted" / "validations"
    stored = sorted(p.relative_to(results).as_posix() for p in results.rglob("*.json"))
    pages = [Path(o.data_docs) for o in ageeml]
    # the two oldest ageeml results and their pages are gone; the latest five and reconciliacion's stay
    assert len(stored) == runner.RESULTS_PER_SUITE + 1
    assert [p.is_file() for p in pages] == [False, False] + [True] * runner.RESULTS_PER_SUITE
    assert Path(recon.data_docs).is_file()
    assert sum(s.startswith("ageeml/") for s in stored) == runner.RESULTS_PER_SUITE
    index = (root / "uncommitted" / "data_docs" / "local_site" / "index.html").read_text(encoding="utf-8")
    for page in pages[:2]:
        assert page.parent.name not in index
    for page in pages[2:]:
        assert page.parent.name in index
    assert runner.prune_validations(root) == []     # nothing more to drop
    assert runner.prune_validations(tmp_path / "never_used") == []


def test_metadata_table_is_capped_when_everything_is_missing():
    outcome = check(pd.DataFrame({"x": [1]}), "cie_comite")
    contract = next(f for f in outcome.failed if f["expectation"] == "expect_columns_of_kinds")
    # cie_comite: 4 lineage columns, cve_ent, instalado, instrumento_juridico, 5 counts and 3 dates
    assert contract["observed_value"].count("columna ausente") == 15
    many = [{**outcome.failed[0], "column": f"c{i}"} for i in range(runner.MAX_TABLE_ROWS + 4)]
    lines = runner.failures_markdown(many).splitlines()
    assert len(lines) == 2 + runner.MAX_TABLE_ROWS + 1
    assert lines[-1] == "| … 4 more | | | | |"


def test_poblacion_estatal_suite_refuses_zero_population_and_repeated_keys():
    from datetime import date

    good = poblacion_estatal()
    assert validate_frame(good, "poblacion_estatal", date(2026, 11, 28)).success
    bad = pd.concat([good, good.iloc[[1]].assign(poblacion=0)], ignore_index=True)
    outcome = validate_frame(bad, "poblacion_estatal", date(2026, 11, 28))
    assert not outcome.success
    assert {f["expectation"] for f in outcome.failed} == {"expect_column_values_to_be_between",
                                                          "expect_compound_columns_to_be_unique"}


def test_prepared_checkpoint_is_not_read_back_before_each_run_and_others_still_are(tmp_path, monkeypatch):
    """GX reads a checkpoint, its validation definition and suite back from the stores before every run to
    check they are fresh; a checkpoint this process stored (or read back and compared) skips that, with the
    same outcome. A checkpoint it did not prepare still gets GX's own check, which finds an edited one."""
    import great_expectations as gx

    root = tmp_path / "gx"
    frame = cie_carpetas()
    frame["carpetas"] = ints(3, None, -4)
    checked = []
    monkeypatch.setattr(runner, "_gx_checkpoint_is_fresh",
                        lambda self: checked.append(("checkpoint", self.name)) or GX_CHECKPOINT_IS_FRESH(self))
    monkeypatch.setattr(runner, "_gx_definition_is_fresh",
                        lambda self: checked.append(("definition", self.name)) or GX_DEFINITION_IS_FRESH(self))
    first = validate_frame(frame, "cie_carpetas", TODAY, context_root=root)
    # storing the verdict's checkpoint asks once whether its validation definition is stored; the details'
    # checkpoint, stored at this first failure, has that same definition; the runs ask nothing
    assert checked == [("definition", "cie_carpetas")]
    checked.clear()
    second = validate_frame(frame, "cie_carpetas", TODAY, context_root=root)
    assert checked == []
    assert failures(first) == failures(second) == {("expect_column_values_to_be_between", "carpetas", ("-4",))}
    assert len(list((root / "uncommitted" / "validations" / "cie_carpetas").rglob("*.json"))) == 2

    # the same checkpoint as another object (read from the store): GX's check, which passes ...
    context = runner.get_context(root)
    other = context.checkpoints.get("cie_carpetas")
    assert other is not runner._PREPARED[(runner._root(root), "cie_carpetas")][3][0]
    assert gx.Checkpoint.is_fresh(other).success
    assert ("checkpoint", "cie_carpetas") in checked and ("definition", "cie_carpetas") in checked
    # ... and fails once its suite is changed without being saved
    list(other.validation_definitions)[0].suite.expectations.pop()
    assert not gx.Checkpoint.is_fresh(other).success


GX_CHECKPOINT_IS_FRESH = runner._gx_checkpoint_is_fresh
GX_DEFINITION_IS_FRESH = runner._gx_definition_is_fresh


def test_context_yml_is_written_quiet_once_and_again_only_when_changed(tmp_path):
    """A new file context stores progress bars off and analytics off in its yml; a later process finds them
    there and does not rewrite the file; one edited by hand (progress bars on) is written quiet again."""
    root = tmp_path / "gx"
    runner._CONTEXTS.clear()
    runner.get_context(root)
    yml = root / "great_expectations.yml"
    text = yml.read_text(encoding="utf-8")
    assert "analytics_enabled: false" in text
    assert "progress_bars:\n  globally: false\n  metric_calculations: false" in text
    before = yml.stat().st_mtime_ns

    runner._CONTEXTS.clear()
    runner.get_context(root)
    assert yml.stat().st_mtime_ns == before and yml.read_text(encoding="utf-8") == text

    yml.write_text(text.replace("  globally: false", "  globally: true"), encoding="utf-8")
    runner._CONTEXTS.clear()
    context = runner.get_context(root)
    assert yml.read_text(encoding="utf-8") == text
    bars = context.variables.progress_bars
    assert getattr(bars, "to_json_dict", lambda: bars)() == {"globally": False, "metric_calculations": False}
    runner._CONTEXTS.clear()


def test_the_projects_datasources_are_read_by_the_c_yaml_parser(tmp_path):
    """GX reads the fluent datasources of great_expectations.yml (one asset per suite, 8 KB) with ruamel's
    safe loader each time a process opens the context: with ruamel.yaml.clib (pinned in pyproject.toml) that
    loader parses in C, 3 ms instead of 18 ms in pure Python. The datasource and its assets read back whole."""
    from great_expectations.datasource.fluent import config as fluent_config
    assert fluent_config.yaml.Parser.__module__.startswith("ruamel.yaml.clib")
    root = tmp_path / "gx"
    runner._CONTEXTS.clear()
    runner.validate_frame(pd.DataFrame(columns=["cve_ent", "nombre", "nombre_corto", "abreviatura"]),
                          "dim_entidad", date(2026, 11, 29), root, data_docs=False)
    runner._CONTEXTS.clear()
    reopened = runner.get_context(root)
    assert [a.name for a in reopened.data_sources.get(runner.DATASOURCE).assets] == ["dim_entidad"]
    runner._CONTEXTS.clear()
