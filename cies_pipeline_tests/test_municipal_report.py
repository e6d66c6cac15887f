"""Municipality resolution report (counts by rule), and the real SESNSP catalogue resolving against an
AGEEML-layout catalogue built from it (upper case, accents: every name resolves exacta or normalizada)."""
from __future__ import annotations

import csv
import io

import pandas as pd

from cies_pipeline.harmonize.municipalities import (RULES, build_dim_municipio, resolution_report,
                                                    resolve_municipios)
AGEEML = pd.DataFrame.from_records([
    ("09014", "09", "014", "Benito Juárez"), ("14039", "14", "039", "Guadalajara"),
    ("14120", "14", "120", "Zapopan"), ("15033", "15", "033", "Ecatepec de Morelos"),
    ("15034", "15", "034", "Ecatzingo"), ("19021", "19", "021", "General Escobedo"),
    ("20208", "20", "208", "San Juan Mixtepec"), ("20209", "20", "209", "San Juan Mixtepec"),
    ("23005", "23", "005", "Benito Juárez"),
], columns=["cvegeo", "cve_ent", "cve_mun", "nombre"])


def test_resolution_report_counts_names_and_rows():
    dim = build_dim_municipio(AGEEML)
    cve = ["14", "14", "14", "15", "19", "20", "23", "14", "09", "15"]
    mun = ["Guadalajara", "Guadalajara", "ZAPOPAN", "Ecatepec", "Gral. Escobedo", "San Juan Mixtepec",
           "Benito Juarez", "Zapopn", None, "Inventado"]
    report = resolution_report(pd.Series(cve), pd.Series(mun), dim)
    assert report["regla"].tolist() == list(RULES)
    got = {r.regla: (r.nombres, r.filas) for r in report.itertuples()}
    assert got == {"codigo": (0, 0), "exacta": (1, 2), "normalizada": (3, 3), "prefijo": (1, 1),
                   "aproximada": (1, 1), "ambigua": (1, 1), "sin_resolver": (1, 1), "vacio": (1, 1)}


def _real_catalogue(real_dir):
    text = (real_dir / "sesnsp_municipios_catalogo.csv").read_bytes().decode("cp1252")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return pd.DataFrame({"cve_ent": [f"{int(r['state_code']):02d}" for r in rows],
                         "cve_mun": [f"{int(r['mun_code']):03d}" for r in rows],
                         "municipio": [r["MUNICIPIO"] for r in rows]})


def test_real_sesnsp_catalogue_upper_case_names_resolve_exacta_or_normalizada(real_dir):
    cat = _real_catalogue(real_dir)
    assert len(cat) == 2542 and "SAN JUAN ÑUMÍ" in set(cat["municipio"])
    real = cat[~cat["cve_mun"].isin(["998", "999"])]
    # the AGEEML-layout catalogue, names in title case (what INEGI writes is mixed case, with accents)
    ageeml = pd.DataFrame({"cvegeo": real["cve_ent"] + real["cve_mun"], "cve_ent": real["cve_ent"],
                           "cve_mun": real["cve_mun"], "nombre": real["municipio"].str.title()})
    dim = build_dim_municipio(ageeml)
    out = resolve_municipios(cat["cve_ent"], cat["municipio"], dim)
    pseudo = cat["cve_mun"].isin(["998", "999"])
    by_name = out[~pseudo]
    # a name two municipalities of one state share resolves only by code (domain.md section 3)
    shared = real.duplicated(["cve_ent", "municipio"], keep=False).reindex(cat.index, fill_value=False)
    assert sorted(cat.loc[shared, "cve_ent"] + cat.loc[shared, "cve_mun"]) == ["20208", "20209", "20318",
                                                                               "20319"]
    assert set(out.loc[shared, "regla"]) == {"ambigua"}
    ok = by_name[~shared[~pseudo]]
    assert set(ok["regla"]) == {"normalizada"}       # title case is never the exact text: always normalised
    assert (ok["cvegeo"] == (cat.loc[ok.index, "cve_ent"] + cat.loc[ok.index, "cve_mun"])).all()
    # 998/999 written as names reach the pseudo-codes; as codes they are checked against the catalogue
    assert (out.loc[pseudo, "cvegeo"] == (cat.loc[pseudo, "cve_ent"] + cat.loc[pseudo, "cve_mun"])).all()
    codes = resolve_municipios(cat["cve_ent"], cat["cve_mun"], dim)
    assert set(codes["regla"]) == {"codigo"}
    assert (codes["cvegeo"] == cat["cve_ent"] + cat["cve_mun"]).all()
