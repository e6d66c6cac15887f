"""Category classifiers: every rule of forms, sex, age group and nationality, on literal labels."""
import pandas as pd
import pytest

from cies_pipeline.harmonize.categories import (classify_forma, classify_grupo_edad,
                                                classify_nacionalidad, classify_sexo,
                                                crosswalk_versions_used, dim_forma_explotacion)
from cies_pipeline.harmonize.crosswalks import crosswalk_version


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(None if (not isinstance(v, str) and pd.isna(v)) else v for v in row)
            for row in frame.itertuples(index=False)]


def test_dim_forma_explotacion_is_the_art10_table():
    dim = dim_forma_explotacion()
    assert list(dim.columns) == ["codigo", "fraccion_art10", "nombre", "categoria_unodc"]
    assert len(dim) == 13
    assert list(dim["fraccion_art10"].iloc[:11]) == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX",
                                                     "X", "XI"]
    sexual = dim.set_index("codigo").loc["EXPLOTACION_SEXUAL"]
    assert sexual["categoria_unodc"] == "sexual exploitation"
    tail = dim.set_index("codigo").loc[["NO_ESPECIFICADA", "SIN_CLASIFICAR"]]
    assert tail["fraccion_art10"].isna().all()
    assert set(tail["categoria_unodc"]) == {"not specified"}


@pytest.mark.parametrize("label, codigo, regla", [
    (None, "NO_ESPECIFICADA", "vacio"),
    ("   ", "NO_ESPECIFICADA", "vacio"),
    ("Explotación laboral", "EXPLOTACION_LABORAL", "exacta"),              # the art. 10 name
    ("explotacion_sexual", "EXPLOTACION_SEXUAL", "exacta"),                # the code
    ("Prostitución ajena u otras formas de explotación sexual ajena", "EXPLOTACION_SEXUAL", "exacta"),
    ("No especificada", "NO_ESPECIFICADA", "exacta"),
    ("Trata de personas", "NO_ESPECIFICADA", "exacta"),
    ("explotación sexual comercial", "EXPLOTACION_SEXUAL", "palabra_clave"),
    ("Con fines sexuales", "EXPLOTACION_SEXUAL", "palabra_clave"),         # keyword as start of a word
    ("PROSTITUCIÓN", "EXPLOTACION_SEXUAL", "palabra_clave"),
    ("laboral", "EXPLOTACION_LABORAL", "palabra_clave"),
    ("trabajos forzados", "TRABAJO_FORZADO", "palabra_clave"),
    ("Trata de personas con fines de trabajo o servicios forzados", "TRABAJO_FORZADO", "palabra_clave"),
    ("mendicidad", "MENDICIDAD", "exacta"),                                # code MENDICIDAD
    ("mendicidad ajena", "MENDICIDAD", "palabra_clave"),
    ("reclutamiento para delinquir", "ACTIVIDADES_DELICTIVAS", "palabra_clave"),
    ("Utilización de personas menores de dieciocho años en actividades delictivas",
     "ACTIVIDADES_DELICTIVAS", "exacta"),
    ("matrimonio forzado", "MATRIMONIO_FORZADO", "exacta"),               # code MATRIMONIO_FORZADO
    ("matrimonio servil", "MATRIMONIO_FORZADO", "palabra_clave"),
    ("Trata de personas con fines de tráfico de órganos", "TRAFICO_ORGANOS", "palabra_clave"),
    ("adopción ilegal", "ADOPCION_ILEGAL", "exacta"),
    ("adopción irregular de menores", "ADOPCION_ILEGAL", "palabra_clave"),
    ("esclavitud", "ESCLAVITUD", "exacta"),
    ("condición de siervo", "SERVIDUMBRE", "exacta"),
    ("servidumbre por deudas", "SERVIDUMBRE", "palabra_clave"),
    ("experimentación biomédica", "EXPERIMENTACION", "palabra_clave"),
    ("explotación sexual y laboral", "SIN_CLASIFICAR", "sin_mapeo"),      # two forms: never guess
    ("esclavitud y servidumbre", "SIN_CLASIFICAR", "sin_mapeo"),
    ("Trata de personas con otros fines", "SIN_CLASIFICAR", "sin_mapeo"),
])
def test_classify_forma(label, codigo, regla):
    assert _rows(classify_forma(pd.Series([label]))) == [(codigo, regla)]


def test_classify_forma_keeps_index_and_order():
    out = classify_forma(pd.Series(["laboral", None, "xyz", "laboral"], index=[10, 11, 12, 13]))
    assert list(out.columns) == ["forma_explotacion", "regla"]
    assert list(out.index) == [10, 11, 12, 13]
    assert _rows(out) == [("EXPLOTACION_LABORAL", "palabra_clave"), ("NO_ESPECIFICADA", "vacio"),
                          ("SIN_CLASIFICAR", "sin_mapeo"), ("EXPLOTACION_LABORAL", "palabra_clave")]


@pytest.mark.parametrize("column, expected", [
    (["F", "M", "f"], [("Mujer", "codigo_FM"), ("Hombre", "codigo_FM"), ("Mujer", "codigo_FM")]),
    (["H", "M", "m"], [("Hombre", "codigo_MH"), ("Mujer", "codigo_MH"), ("Mujer", "codigo_MH")]),
    (["M", "M"], [("No identificado", "sin_mapeo"), ("No identificado", "sin_mapeo")]),
    (["F", "H", "M"], [("Mujer", "codigo"), ("Hombre", "codigo"), ("No identificado", "sin_mapeo")]),
    (["F", "H"], [("Mujer", "codigo"), ("Hombre", "codigo")]),
    (["Mujer", "Hombre", "Femenino", "Masculino", "mujeres", "HOMBRES"],
     [("Mujer", "exacta"), ("Hombre", "exacta"), ("Mujer", "exacta"), ("Hombre", "exacta"),
      ("Mujer", "exacta"), ("Hombre", "exacta")]),
    (["NI", "No identificado", "No especificado", None, ""],
     [("No identificado", "exacta"), ("No identificado", "exacta"), ("No identificado", "exacta"),
      ("No identificado", "vacio"), ("No identificado", "vacio")]),
    (["Mujer", "M"], [("Mujer", "exacta"), ("No identificado", "sin_mapeo")]),   # words do not explain M
    (["otro"], [("No identificado", "sin_mapeo")]),
])
def test_classify_sexo_per_column(column, expected):
    out = classify_sexo(pd.Series(column, dtype=object))
    assert list(out.columns) == ["sexo", "regla"]
    assert _rows(out) == expected


@pytest.mark.parametrize("label, grupo, detalle, regla", [
    ("15", "Menores de edad (0-17)", "13 a 17 años", "edad_numerica"),
    ("0", "Menores de edad (0-17)", "0 a 12 años", "edad_numerica"),
    ("17", "Menores de edad (0-17)", "13 a 17 años", "edad_numerica"),
    ("18", "Adultos (18 y más)", "18 a 29 años", "edad_numerica"),
    ("34.0", "Adultos (18 y más)", "30 a 60 años", "edad_numerica"),
    ("61 años", "Adultos (18 y más)", "Más de 60 años", "edad_numerica"),
    ("121", "No especificado", None, "sin_mapeo"),
    ("NNA", "Menores de edad (0-17)", None, "exacta"),
    ("niñas, niños y adolescentes", "Menores de edad (0-17)", None, "exacta"),
    ("menor", "Menores de edad (0-17)", None, "exacta"),
    ("Menores", "Menores de edad (0-17)", None, "exacta"),
    ("0-17", "Menores de edad (0-17)", None, "exacta"),
    ("adulto", "Adultos (18 y más)", None, "exacta"),
    ("18+", "Adultos (18 y más)", None, "exacta"),
    ("18 y más", "Adultos (18 y más)", None, "exacta"),
    ("Menores de edad (0-17)", "Menores de edad (0-17)", None, "exacta"),
    ("Adultos (18 y más)", "Adultos (18 y más)", None, "exacta"),
    ("No especificado", "No especificado", None, "exacta"),
    ("No identificado", "No especificado", None, "exacta"),
    ("0 a 12 años", "Menores de edad (0-17)", "0 a 12 años", "exacta"),
    ("13 a 17 años", "Menores de edad (0-17)", "13 a 17 años", "exacta"),
    ("18 a 29 años", "Adultos (18 y más)", "18 a 29 años", "exacta"),
    ("30 a 60 años", "Adultos (18 y más)", "30 a 60 años", "exacta"),
    ("Más de 60 años", "Adultos (18 y más)", "Más de 60 años", "exacta"),
    (None, "No especificado", None, "vacio"),
    ("joven", "No especificado", None, "sin_mapeo"),
])
def test_classify_grupo_edad(label, grupo, detalle, regla):
    out = classify_grupo_edad(pd.Series([label], dtype=object))
    assert list(out.columns) == ["grupo_edad", "grupo_edad_detalle", "regla"]
    assert _rows(out) == [(grupo, detalle, regla)]


@pytest.mark.parametrize("label, nacionalidad, pais, regla", [
    ("Mexicana", "Mexicana", "México", "exacta"),
    ("mexicano", "Mexicana", "México", "exacta"),
    ("Extranjera", "Extranjera", None, "exacta"),
    ("No especificada", "No especificada", None, "exacta"),
    ("México", "Mexicana", "México", "pais"),
    ("Guatemala", "Extranjera", "Guatemala", "pais"),
    ("guatemalteca", "Extranjera", "Guatemala", "pais"),
    ("HONDUREÑA", "Extranjera", "Honduras", "pais"),
    ("venezolanos", "Extranjera", "Venezuela", "pais"),                # plural
    ("colombiana", "Extranjera", "Colombia", "pais"),
    ("Extranjera (El Salvador)", "Extranjera", "El Salvador", "pais"),
    ("Estados Unidos", "Extranjera", "Estados Unidos", "pais"),
    (None, "No especificada", None, "vacio"),
    ("marciana", "No especificada", None, "sin_mapeo"),
    ("guatemalteca y hondureña", "No especificada", None, "sin_mapeo"),  # two countries: never guess
])
def test_classify_nacionalidad(label, nacionalidad, pais, regla):
    out = classify_nacionalidad(pd.Series([label], dtype=object))
    assert list(out.columns) == ["nacionalidad", "pais", "regla"]
    assert _rows(out) == [(nacionalidad, pais, regla)]


def test_crosswalk_versions_used_are_file_hashes():
    versions = crosswalk_versions_used()
    for name in ("formas_explotacion", "formas_explotacion_alias", "sexo", "grupos_edad", "nacionalidad",
                 "paises", "abreviaturas"):
        assert versions[name] == crosswalk_version(name)
        assert len(versions[name]) == 12
