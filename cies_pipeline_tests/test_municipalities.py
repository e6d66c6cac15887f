"""dim_municipio and the municipality resolver, on a tiny literal AGEEML catalogue."""
import math

import pandas as pd
import pytest

from cies_pipeline.harmonize.municipalities import (build_dim_municipio, normalize_municipio,
                                                    resolve_municipios)

AGEEML = pd.DataFrame.from_records([
    ("09014", "09", "014", "Benito Juárez", "Ciudad de México", "x.csv"),
    ("14039", "14", "039", "Guadalajara", "Jalisco", "x.csv"),
    ("14120", "14", "120", "Zapopan", "Jalisco", "x.csv"),
    ("15033", "15", "033", "Ecatepec de Morelos", "México", "x.csv"),
    ("15034", "15", "034", "Ecatzingo", "México", "x.csv"),
    ("19021", "19", "021", "General Escobedo", "Nuevo León", "x.csv"),
    ("19039", "19", "039", "Monterrey", "Nuevo León", "x.csv"),
    ("20208", "20", "208", "San Juan Mixtepec", "Oaxaca", "x.csv"),
    ("20209", "20", "209", "San Juan Mixtepec", "Oaxaca", "x.csv"),
    ("20318", "20", "318", "San Pedro Pochutla", "Oaxaca", "x.csv"),
    ("20319", "20", "319", "San Pedro Quiatoni", "Oaxaca", "x.csv"),
    ("23005", "23", "005", "Benito Juárez", "Quintana Roo", "x.csv"),
], columns=["cvegeo", "cve_ent", "cve_mun", "nombre", "nom_ent", "archivo_origen"])


@pytest.fixture(scope="module")
def dim():
    return build_dim_municipio(AGEEML)


def test_build_dim_municipio_adds_998_999_for_every_state(dim):
    assert list(dim.columns) == ["cvegeo", "cve_ent", "cve_mun", "nombre", "es_real"]
    assert len(dim) == 12 + 32 * 2
    assert dim["cvegeo"].is_unique
    assert dim["es_real"].dtype == bool
    pseudo = dim[~dim["es_real"]]
    assert sorted(pseudo["cvegeo"])[:4] == ["01998", "01999", "02998", "02999"]
    assert set(pseudo["cve_mun"]) == {"998", "999"}
    row = dim.set_index("cvegeo").loc["32999"]
    assert (row["cve_ent"], row["cve_mun"], row["nombre"], row["es_real"]) == \
        ("32", "999", "Otros municipios", False)
    assert dim.set_index("cvegeo").loc["07998", "nombre"] == "No especificado"
    real = dim.set_index("cvegeo").loc["20209"]
    assert (real["cve_ent"], real["cve_mun"], real["nombre"], real["es_real"]) == \
        ("20", "209", "San Juan Mixtepec", True)


@pytest.mark.parametrize("text, expected", [
    ("Gral. Escobedo", "general escobedo"),
    ("Municipio de Zapopan", "zapopan"),
    ("MPIO. ZAPOPAN", "zapopan"),
    ("Sta. María", "santa maria"),
    ("Cd. Madero", "ciudad madero"),
    ("Dr. Arroyo", "doctor arroyo"),
    ("Sn Pedro", "san pedro"),
])
def test_normalize_municipio(text, expected):
    assert normalize_municipio(text) == expected


@pytest.mark.parametrize("cve_ent, municipio, cvegeo, regla", [
    ("14", None, "14998", "vacio"),
    ("14", "  ", "14998", "vacio"),
    ("14", "039", "14039", "codigo"),              # 3-digit cve_mun within the state
    ("14", "39", "14039", "codigo"),
    ("14", "39.0", "14039", "codigo"),             # a number a spreadsheet stored as float
    ("14", "14120", "14120", "codigo"),            # CVEGEO
    ("09", "9014", "09014", "codigo"),             # 4-digit CVEGEO, zero-padded
    ("14", "998", "14998", "codigo"),              # pseudo-code is in the catalogue
    ("14", "14999", "14999", "codigo"),
    ("14", "555", "14998", "sin_resolver"),        # code not in the catalogue
    ("14", "09014", "14998", "sin_resolver"),      # CVEGEO of another state
    ("09", "Benito Juárez", "09014", "exacta"),    # same name, two states: the row's state decides
    ("23", "Benito Juárez", "23005", "exacta"),
    ("23", "BENITO JUAREZ", "23005", "normalizada"),
    ("19", "Gral. Escobedo", "19021", "normalizada"),
    ("14", "Municipio de Zapopan", "14120", "normalizada"),
    ("15", "Ecatepec", "15033", "prefijo"),
    ("20", "San Juan Mixtepec", "20998", "ambigua"),   # two municipalities of Oaxaca share the name
    ("20", "san juan mixtepec", "20998", "ambigua"),
    ("20", "San Pedro", "20998", "sin_resolver"),      # prefix of two names: not unique
    ("19", "Guadalajara", "19998", "sin_resolver"),    # exists, but in another state
    ("14", "Tlaquepaque", "14998", "sin_resolver"),
])
def test_resolve_municipios_rules(dim, cve_ent, municipio, cvegeo, regla):
    out = resolve_municipios(pd.Series([cve_ent]), pd.Series([municipio], dtype=object), dim)
    assert list(out.columns) == ["cvegeo", "regla", "score"]
    assert (out["cvegeo"].iat[0], out["regla"].iat[0]) == (cvegeo, regla)
    assert math.isnan(out["score"].iat[0])


def test_resolve_municipios_typo_is_aproximada_with_score(dim):
    out = resolve_municipios(pd.Series(["14"]), pd.Series(["Guadalajra"]), dim)
    assert (out["cvegeo"].iat[0], out["regla"].iat[0]) == ("14039", "aproximada")
    # fuzz.ratio('guadalajra', 'guadalajara') = 2 * 10 / (10 + 11) * 100
    assert out["score"].iat[0] == pytest.approx(2000 / 21)


def test_resolve_municipios_threshold_decides(dim):
    # 'monterey' vs 'monterrey': 2 * 8 / 17 * 100 = 94.12: accepted at 90, refused at 95
    at_90 = resolve_municipios(pd.Series(["19"]), pd.Series(["Monterey"]), dim, umbral=90.0)
    at_95 = resolve_municipios(pd.Series(["19"]), pd.Series(["Monterey"]), dim, umbral=95.0)
    assert (at_90["cvegeo"].iat[0], at_90["regla"].iat[0]) == ("19039", "aproximada")
    assert at_90["score"].iat[0] == pytest.approx(1600 / 17)
    assert (at_95["cvegeo"].iat[0], at_95["regla"].iat[0]) == ("19998", "sin_resolver")
    assert math.isnan(at_95["score"].iat[0])


def test_resolve_municipios_many_rows_keep_index_and_order(dim):
    cve = pd.Series(["14", "23", "14", "09", "14"], index=[5, 6, 7, 8, 9])
    mun = pd.Series(["Zapopan", "Benito Juárez", None, "Benito Juárez", "Zapopan"], index=[5, 6, 7, 8, 9],
                    dtype=object)
    out = resolve_municipios(cve, mun, dim)
    assert list(out.index) == [5, 6, 7, 8, 9]
    assert list(out["cvegeo"]) == ["14120", "23005", "14998", "09014", "14120"]
    assert list(out["regla"]) == ["exacta", "exacta", "vacio", "exacta", "exacta"]


def test_resolve_municipios_empty_input(dim):
    out = resolve_municipios(pd.Series([], dtype=object), pd.Series([], dtype=object), dim)
    assert list(out.columns) == ["cvegeo", "regla", "score"]
    assert len(out) == 0
