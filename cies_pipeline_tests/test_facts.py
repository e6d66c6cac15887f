"""Staged frames to facts: every output column of every row, and the unmapped labels, on literal inputs."""
import pandas as pd
import pytest

from cies_pipeline.harmonize.facts import (FACT_CARPETAS_COLUMNS, FACT_VICTIMAS_COLUMNS,
                                           SIN_MAPEO_COLUMNS, crosswalk_versions_used,
                                           harmonize_cie_carpetas, harmonize_cie_victimas,
                                           harmonize_sesnsp_carpetas, harmonize_sesnsp_victimas)
from cies_pipeline.harmonize.municipalities import build_dim_municipio

T = pd.Timestamp
NA = pd.NA


@pytest.fixture(scope="module")
def dim():
    ageeml = pd.DataFrame.from_records([
        ("14039", "14", "039", "Guadalajara", "Jalisco"),
        ("14120", "14", "120", "Zapopan", "Jalisco"),
        ("19021", "19", "021", "General Escobedo", "Nuevo León"),
        ("19039", "19", "039", "Monterrey", "Nuevo León"),
        ("20208", "20", "208", "San Juan Mixtepec", "Oaxaca"),
        ("20209", "20", "209", "San Juan Mixtepec", "Oaxaca"),
    ], columns=["cvegeo", "cve_ent", "cve_mun", "nombre", "nom_ent"])
    return build_dim_municipio(ageeml)


def _rows(frame: pd.DataFrame) -> list[tuple]:
    """Rows as tuples, with every kind of missing value (<NA>, NaT, NaN, None) as None. The crosswalk
    versions (sha256 prefixes that change with every edit of a CSV) are checked in test_crosswalk_versions.py."""
    frame = frame.drop(columns=["versiones_crosswalk"], errors="ignore")
    return [tuple(None if (not isinstance(v, str) and pd.isna(v)) else v for v in row)
            for row in frame.itertuples(index=False)]


def _sin_mapeo_rows(frame: pd.DataFrame) -> list[tuple]:
    assert list(frame.columns) == SIN_MAPEO_COLUMNS
    return _rows(frame)


def test_harmonize_cie_carpetas(dim):
    lineage = ["archivo_origen", "archivo_sha256", "hoja", "fila_origen", "reporte"]
    staged = pd.DataFrame.from_records([
        ("jal_2024.xlsx", "aaa", "carpetas", 3, "jal_2024", T("2024-03-01"), "14", "Guadalajara", 5),
        ("jal_2024.xlsx", "aaa", "carpetas", 4, "jal_2024", T("2024-03-01"), "14", None, NA),
        ("jal_2024.xlsx", "aaa", "carpetas", 5, "jal_2024", T("2024-04-01"), "14", "Tlaquepaque", 2),
        ("jal_2024.xlsx", "aaa", "carpetas", 6, "jal_2024", T("2024-04-01"), "14", "Tlaquepaque", 0),
        ("oax_2026.csv", "bbb", None, 2, "oax_2026", T("2026-01-01"), "20", "San Juan Mixtepec", 1),
        ("oax_2026.csv", "bbb", None, 3, "oax_2026", T("2026-01-01"), "20", "208", 4),
    ], columns=lineage + ["periodo", "cve_ent", "municipio", "carpetas"])
    staged["carpetas"] = staged["carpetas"].astype("Int64")

    out = harmonize_cie_carpetas(staged, dim)

    assert list(out.frame.columns) == FACT_CARPETAS_COLUMNS
    assert out.frame["carpetas"].dtype == "Int64"
    assert _rows(out.frame) == [
        (T("2024-03-01"), "14", "14039", "municipal", "CIE", "CNSP-38-15", 5, "exacta",
         "jal_2024.xlsx", "aaa", "carpetas", 3, None),
        # blank count stays not-reported, blank municipality is the state's EE998
        (T("2024-03-01"), "14", "14998", "municipal", "CIE", "CNSP-38-15", None, "vacio",
         "jal_2024.xlsx", "aaa", "carpetas", 4, None),
        (T("2024-04-01"), "14", "14998", "municipal", "CIE", "CNSP-38-15", 2, "sin_resolver",
         "jal_2024.xlsx", "aaa", "carpetas", 5, None),
        (T("2024-04-01"), "14", "14998", "municipal", "CIE", "CNSP-38-15", 0, "sin_resolver",
         "jal_2024.xlsx", "aaa", "carpetas", 6, None),
        (T("2026-01-01"), "20", "20998", "municipal", "CIE", "RNID-2026", 1, "ambigua",
         "oax_2026.csv", "bbb", None, 2, None),
        (T("2026-01-01"), "20", "20208", "municipal", "CIE", "RNID-2026", 4, "codigo",
         "oax_2026.csv", "bbb", None, 3, None),
    ]
    assert _sin_mapeo_rows(out.sin_mapeo) == [
        ("jal_2024.xlsx", "municipio", "Tlaquepaque", 2),
        ("oax_2026.csv", "municipio", "San Juan Mixtepec", 1),
    ]


def test_harmonize_cie_victimas(dim):
    columns = ["archivo_origen", "archivo_sha256", "hoja", "fila_origen", "reporte", "periodo", "cve_ent",
               "municipio", "forma_explotacion", "sexo", "grupo_edad", "nacionalidad", "victimas"]
    staged = pd.DataFrame.from_records([
        # jal.xlsx writes F and M in its sexo column: F = Mujer, M = Hombre
        ("jal.xlsx", "s1", "victimas", 3, "jal", T("2025-05-01"), "14", "Zapopan", "con fines sexuales",
         "F", "15", "guatemalteca", 2),
        ("jal.xlsx", "s1", "victimas", 4, "jal", T("2025-05-01"), "14", None, "laboral y sexual",
         "M", "adulto", "Mexicana", NA),
        # nl.csv writes M with no F or H: ambiguous there
        ("nl.csv", "s2", None, 2, "nl", T("2026-02-01"), "19", "Gral. Escobedo", "trabajos forzados",
         "M", "0 a 12 años", None, 1),
        ("nl.csv", "s2", None, 3, "nl", T("2026-02-01"), "19", "Monterrey", None,
         "Mujer", "joven", "marciana", 3),
    ], columns=columns)
    staged["victimas"] = staged["victimas"].astype("Int64")

    out = harmonize_cie_victimas(staged, dim)

    assert list(out.frame.columns) == FACT_VICTIMAS_COLUMNS
    assert out.frame["victimas"].dtype == "Int64"
    assert _rows(out.frame) == [
        (T("2025-05-01"), "14", "14120", "municipal", "CIE", "CNSP-38-15", "EXPLOTACION_SEXUAL", "Mujer",
         "Menores de edad (0-17)", "13 a 17 años", "Extranjera", "Guatemala", 2,
         "municipio=exacta;forma=palabra_clave;sexo=codigo_FM;edad=edad_numerica;nacionalidad=pais",
         "jal.xlsx", "s1", "victimas", 3, None),
        (T("2025-05-01"), "14", "14998", "municipal", "CIE", "CNSP-38-15", "SIN_CLASIFICAR", "Hombre",
         "Adultos (18 y más)", None, "Mexicana", "México", None,
         "municipio=vacio;forma=sin_mapeo;sexo=codigo_FM;edad=exacta;nacionalidad=exacta",
         "jal.xlsx", "s1", "victimas", 4, None),
        (T("2026-02-01"), "19", "19021", "municipal", "CIE", "RNID-2026", "TRABAJO_FORZADO", "No identificado",
         "Menores de edad (0-17)", "0 a 12 años", "No especificada", None, 1,
         "municipio=normalizada;forma=palabra_clave;sexo=sin_mapeo;edad=exacta;nacionalidad=vacio",
         "nl.csv", "s2", None, 2, None),
        (T("2026-02-01"), "19", "19039", "municipal", "CIE", "RNID-2026", "NO_ESPECIFICADA", "Mujer",
         "No especificado", None, "No especificada", None, 3,
         "municipio=exacta;forma=vacio;sexo=exacta;edad=sin_mapeo;nacionalidad=sin_mapeo",
         "nl.csv", "s2", None, 3, None),
    ]
    assert _sin_mapeo_rows(out.sin_mapeo) == [
        ("jal.xlsx", "forma_explotacion", "laboral y sexual", 1),
        ("nl.csv", "grupo_edad", "joven", 1),
        ("nl.csv", "nacionalidad", "marciana", 1),
        ("nl.csv", "sexo", "M", 1),
    ]


def test_harmonize_sesnsp_carpetas_keeps_state_and_municipal_levels_apart():
    common = ["archivo_origen", "archivo_sha256", "hoja", "fila_origen", "corte", "metodologia", "periodo",
              "cve_ent", "delito", "carpetas"]
    estatal = pd.DataFrame.from_records([
        ("IDEFC_NM_jun25.csv", "e1", None, 10, T("2025-06-01"), "CNSP-38-15", T("2025-01-01"), "14",
         "Trata de personas", 3),
        ("IDEFC_NM_jun25.csv", "e1", None, 10, T("2025-06-01"), "CNSP-38-15", T("2025-02-01"), "14",
         "Trata de personas", 0),
    ], columns=common)
    municipal = pd.DataFrame.from_records([
        ("IDM_NM_jun25.csv", "m1", None, 20, T("2025-06-01"), "CNSP-38-15", T("2025-01-01"), "14",
         "Trata de personas", 2, "14039", "Guadalajara"),
        ("IDM_NM_jun25.csv", "m1", None, 21, T("2025-06-01"), "CNSP-38-15", T("2025-01-01"), "14",
         "Trata de personas", 1, "14998", "No Especificado"),
    ], columns=common + ["cvegeo", "municipio"])

    out = harmonize_sesnsp_carpetas(estatal, municipal)

    assert list(out.frame.columns) == FACT_CARPETAS_COLUMNS
    assert out.frame["carpetas"].dtype == "Int64"
    assert _rows(out.frame) == [
        (T("2025-01-01"), "14", None, "estatal", "SESNSP", "CNSP-38-15", 3, None,
         "IDEFC_NM_jun25.csv", "e1", None, 10, T("2025-06-01")),
        (T("2025-02-01"), "14", None, "estatal", "SESNSP", "CNSP-38-15", 0, None,
         "IDEFC_NM_jun25.csv", "e1", None, 10, T("2025-06-01")),
        (T("2025-01-01"), "14", "14039", "municipal", "SESNSP", "CNSP-38-15", 2, "codigo",
         "IDM_NM_jun25.csv", "m1", None, 20, T("2025-06-01")),
        (T("2025-01-01"), "14", "14998", "municipal", "SESNSP", "CNSP-38-15", 1, "codigo",
         "IDM_NM_jun25.csv", "m1", None, 21, T("2025-06-01")),
    ]
    assert _sin_mapeo_rows(out.sin_mapeo) == []
    # the same rows with the big file's categorical labels: categoricals out (no Python text per row to factorize
    # again), with no crosswalk version and no sheet in any row
    categorical = harmonize_sesnsp_carpetas(estatal, municipal.astype({"cvegeo": "category",
                                                                       "archivo_origen": "category"}))
    assert _rows(categorical.frame) == _rows(out.frame)
    for column in ("cvegeo", "hoja", "versiones_crosswalk", "archivo_origen"):
        assert isinstance(categorical.frame[column].dtype, pd.CategoricalDtype), column
    assert categorical.frame["versiones_crosswalk"].isna().all() and categorical.frame["hoja"].isna().all()


def test_harmonize_sesnsp_victimas():
    columns = ["archivo_origen", "archivo_sha256", "hoja", "fila_origen", "corte", "metodologia", "periodo",
               "cve_ent", "delito", "sexo", "rango_edad", "victimas"]
    rnid = "RNID-Victimas_Estatal-2026-mar2026.csv"
    estatal = pd.DataFrame.from_records([
        ("IDVFC_NM_jun25.csv", "v1", None, 5, T("2025-06-01"), "CNSP-38-15", T("2025-01-01"), "14",
         "Trata de personas", "Mujer", "Menores de edad (0-17)", 4),
        ("IDVFC_NM_jun25.csv", "v1", None, 6, T("2025-06-01"), "CNSP-38-15", T("2025-01-01"), "14",
         "Trata de personas", "No especificado", "No identificado", 0),
        (rnid, "v2", None, 7, T("2026-03-01"), "RNID-2026", T("2026-02-01"), "14",
         "Trata de personas con fines de explotación sexual", "Hombre", "13 a 17 años", 2),
        (rnid, "v2", None, 8, T("2026-03-01"), "RNID-2026", T("2026-02-01"), "14",
         "Trata de personas con otros fines", "Mujer", "30 a 60 años", 1),
    ], columns=columns)

    out = harmonize_sesnsp_victimas(estatal)

    assert list(out.frame.columns) == FACT_VICTIMAS_COLUMNS
    assert out.frame["victimas"].dtype == "Int64"
    assert _rows(out.frame) == [
        (T("2025-01-01"), "14", None, "estatal", "SESNSP", "CNSP-38-15", "NO_ESPECIFICADA", "Mujer",
         "Menores de edad (0-17)", None, "No especificada", None, 4,
         "forma=sin_desglose;sexo=exacta;edad=exacta;nacionalidad=sin_desglose",
         "IDVFC_NM_jun25.csv", "v1", None, 5, T("2025-06-01")),
        (T("2025-01-01"), "14", None, "estatal", "SESNSP", "CNSP-38-15", "NO_ESPECIFICADA", "No identificado",
         "No especificado", None, "No especificada", None, 0,
         "forma=sin_desglose;sexo=exacta;edad=exacta;nacionalidad=sin_desglose",
         "IDVFC_NM_jun25.csv", "v1", None, 6, T("2025-06-01")),
        (T("2026-02-01"), "14", None, "estatal", "SESNSP", "RNID-2026", "EXPLOTACION_SEXUAL", "Hombre",
         "Menores de edad (0-17)", "13 a 17 años", "No especificada", None, 2,
         "forma=palabra_clave;sexo=exacta;edad=exacta;nacionalidad=sin_desglose",
         rnid, "v2", None, 7, T("2026-03-01")),
        (T("2026-02-01"), "14", None, "estatal", "SESNSP", "RNID-2026", "SIN_CLASIFICAR", "Mujer",
         "Adultos (18 y más)", "30 a 60 años", "No especificada", None, 1,
         "forma=sin_mapeo;sexo=exacta;edad=exacta;nacionalidad=sin_desglose",
         rnid, "v2", None, 8, T("2026-03-01")),
    ]
    assert _sin_mapeo_rows(out.sin_mapeo) == [
        (rnid, "forma_explotacion", "Trata de personas con otros fines", 1),
    ]


def test_harmonize_empty_staged_frames(dim):
    cie = pd.DataFrame({c: pd.Series(dtype=object) for c in
                        ["archivo_origen", "archivo_sha256", "hoja", "fila_origen", "reporte", "periodo",
                         "cve_ent", "municipio", "carpetas"]})
    cie["periodo"] = pd.Series(dtype="datetime64[ns]")
    cie["fila_origen"] = pd.Series(dtype="int64")
    cie["carpetas"] = pd.Series(dtype="Int64")
    out = harmonize_cie_carpetas(cie, dim)
    assert list(out.frame.columns) == FACT_CARPETAS_COLUMNS and len(out.frame) == 0
    assert _sin_mapeo_rows(out.sin_mapeo) == []


def test_crosswalk_versions_used_lists_the_category_files():
    assert {"formas_explotacion", "formas_explotacion_alias", "sexo", "grupos_edad", "nacionalidad",
            "paises", "abreviaturas"} <= set(crosswalk_versions_used())


def test_concatenated_facts_keep_only_the_categories_in_use_sorted():
    """concat_keeping_categories(sort=True), as concat_facts calls it: the categories of the result are the
    values present in any frame, sorted (what astype('category') of the concatenation gives), whatever unused
    categories or order each frame's column had; blanks stay blank and a plain column joins the union."""
    from cies_pipeline.sources.common import concat_keeping_categories
    a = pd.DataFrame({"cve_ent": pd.Categorical(["09", None, "01"], categories=["32", "09", "01", "15"]),
                      "fuente": pd.Categorical(["sesnsp"] * 3)})
    b = pd.DataFrame({"cve_ent": pd.Categorical(["15", "09"], categories=["15", "09", "07"]),
                      "fuente": ["cie", "cie"]})
    out = concat_keeping_categories([a, b], ("cve_ent", "fuente"), sort=True)
    assert list(out["cve_ent"].cat.categories) == ["01", "09", "15"]
    assert out["cve_ent"].astype(object).where(out["cve_ent"].notna(), None).tolist() == ["09", None, "01", "15", "09"]
    assert list(out["fuente"].cat.categories) == ["cie", "sesnsp"]
    assert out["fuente"].astype(str).tolist() == ["sesnsp", "sesnsp", "sesnsp", "cie", "cie"]


def test_fact_metadata_counts_rows_per_source_and_totals_the_level_each_reports():
    """The UI's figures of a fact: rows per source; CIE carpetas summed over municipal rows, SESNSP over state
    rows (a blank CIE count is not reported, so it adds nothing)."""
    from cies_pipeline.assets.harmonized import _fact_metadata
    from cies_pipeline.harmonize.facts import Harmonized

    frame = pd.DataFrame({
        "fuente": pd.Categorical(["CIE", "CIE", "CIE", "CIE", "SESNSP", "SESNSP", "SESNSP"]),
        "nivel": pd.Categorical(["municipal", "municipal", "municipal", "estatal", "estatal", "estatal",
                                 "municipal"]),
        "carpetas": pd.array([3, None, 4, 100, 5, 6, 7], dtype="Int64")})
    meta = _fact_metadata(Harmonized(frame=frame, sin_mapeo=pd.DataFrame()), "carpetas")
    assert {k: v for k, v in meta.items() if k != "preview"} == {
        "dagster/row_count": 7, "etiquetas_sin_mapeo": 0, "filas_cie": 4, "carpetas_cie_nivel_municipal": 7,
        "filas_sesnsp": 3, "carpetas_sesnsp_nivel_estatal": 11}
    only_sesnsp = _fact_metadata(Harmonized(frame=frame.iloc[4:], sin_mapeo=pd.DataFrame()), "carpetas")
    assert only_sesnsp["filas_cie"] == 0 and "carpetas_cie_nivel_municipal" not in only_sesnsp
    empty = _fact_metadata(Harmonized(frame=frame.iloc[0:0], sin_mapeo=pd.DataFrame()), "carpetas")
    assert (empty["filas_cie"], empty["filas_sesnsp"], empty["dagster/row_count"]) == (0, 0, 0)
