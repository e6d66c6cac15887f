"""RNID-2026 victims at both levels, 'Parent - Child' subtypes, and crosswalks an analyst can own:
versions per row and the CIES_CROSSWALK_DIR override (read again after every edit)."""
from __future__ import annotations

import hashlib
import shutil

import pandas as pd
import pytest

from cies_pipeline.harmonize import crosswalks
from cies_pipeline.harmonize.facts import (FACT_VICTIMAS_COLUMNS, forma_label_de_delito,
                                           harmonize_sesnsp_victimas)

T = pd.Timestamp
COLUMNS = ["archivo_origen", "archivo_sha256", "hoja", "fila_origen", "corte", "metodologia", "periodo",
           "cve_ent", "delito", "sexo", "rango_edad", "victimas"]
EST = "RNID-Victimas_Estatal-2026-ago2026.csv"
MUN = "RNID-Victimas_Municipal-2026-ago2026.csv"
UNKNOWN = "Trata de personas - Finalidad no catalogada"


def estatal() -> pd.DataFrame:
    return pd.DataFrame.from_records([
        (EST, "e", None, 2, T("2026-08-01"), "RNID-2026", T("2026-02-01"), "14",
         "Trata de personas - Explotación laboral", "Hombre", "30 a 60 años", 1),
        (EST, "e", None, 3, T("2026-08-01"), "RNID-2026", T("2026-02-01"), "14",
         "Trata de personas - Condición de siervo", "Mujer", "0 a 12 años", 2),
        (EST, "e", None, 4, T("2026-08-01"), "RNID-2026", T("2026-05-01"), "21", UNKNOWN, "Mujer",
         "Más de 60 años", 1),
    ], columns=COLUMNS)


def municipal() -> pd.DataFrame:
    frame = pd.DataFrame.from_records([
        (MUN, "m", None, 9, T("2026-08-01"), "RNID-2026", T("2026-02-01"), "14",
         "Trata de personas - Explotación laboral", "Hombre", "30 a 60 años", 1, "14120", "Zapopan"),
        (MUN, "m", None, 10, T("2026-08-01"), "RNID-2026", T("2026-05-01"), "21", UNKNOWN, "Mujer",
         "18 a 29 años", 1, "21114", "Puebla"),
    ], columns=COLUMNS + ["cvegeo", "municipio"])
    return frame


def version(name: str, folder=crosswalks.CROSSWALK_DIR) -> str:
    """A crosswalk file's expected version: the first 12 hex digits of its bytes' sha256."""
    return hashlib.sha256((folder / f"{name}.csv").read_bytes()).hexdigest()[:12]


def test_parent_child_subtypes_give_their_child_to_the_crosswalk():
    labels = pd.Series(["Trata de personas - Explotación laboral", "TRATA DE PERSONAS - Esclavitud",
                        "Trata de personas con fines de explotación sexual", "Robo - Coche de 4 ruedas", None])
    assert forma_label_de_delito(labels).tolist() == [
        "Explotación laboral", "Esclavitud", "Trata de personas con fines de explotación sexual",
        "Robo - Coche de 4 ruedas", None]


def test_sesnsp_victims_both_levels_forms_ages_and_versions():
    out = harmonize_sesnsp_victimas(estatal(), municipal())
    f = out.frame
    assert list(f.columns) == FACT_VICTIMAS_COLUMNS
    got = [(r.nivel, r.cve_ent, r.cvegeo, r.forma_explotacion, r.grupo_edad, r.grupo_edad_detalle, r.victimas,
            r.reglas) for r in f.itertuples()]
    assert got == [
        ("estatal", "14", None, "EXPLOTACION_LABORAL", "Adultos (18 y más)", "30 a 60 años", 1,
         "forma=exacta;sexo=exacta;edad=exacta;nacionalidad=sin_desglose"),
        ("estatal", "14", None, "SERVIDUMBRE", "Menores de edad (0-17)", "0 a 12 años", 2,
         "forma=exacta;sexo=exacta;edad=exacta;nacionalidad=sin_desglose"),
        ("estatal", "21", None, "SIN_CLASIFICAR", "Adultos (18 y más)", "Más de 60 años", 1,
         "forma=sin_mapeo;sexo=exacta;edad=exacta;nacionalidad=sin_desglose"),
        ("municipal", "14", "14120", "EXPLOTACION_LABORAL", "Adultos (18 y más)", "30 a 60 años", 1,
         "municipio=codigo;forma=exacta;sexo=exacta;edad=exacta;nacionalidad=sin_desglose"),
        ("municipal", "21", "21114", "SIN_CLASIFICAR", "Adultos (18 y más)", "18 a 29 años", 1,
         "municipio=codigo;forma=sin_mapeo;sexo=exacta;edad=exacta;nacionalidad=sin_desglose"),
    ]
    # the unknown subtype is listed whole, per file, with its rows
    assert out.sin_mapeo.values.tolist() == [[EST, "forma_explotacion", UNKNOWN, 1],
                                            [MUN, "forma_explotacion", UNKNOWN, 1]]
    expected = ";".join(f"{n}@{version(n)}" for n in ("formas_explotacion", "formas_explotacion_alias", "sexo",
                                                       "grupos_edad"))
    assert set(f["versiones_crosswalk"]) == {expected}


def test_override_folder_is_read_again_after_an_edit(tmp_path, monkeypatch):
    copy = tmp_path / "crosswalks"
    shutil.copytree(crosswalks.CROSSWALK_DIR, copy)
    monkeypatch.setenv("CIES_CROSSWALK_DIR", str(copy))
    before = harmonize_sesnsp_victimas(estatal())
    assert before.frame["forma_explotacion"].tolist()[-1] == "SIN_CLASIFICAR"
    alias_version = version("formas_explotacion_alias")
    assert f"formas_explotacion_alias@{alias_version}" in before.frame["versiones_crosswalk"][0]

    with open(copy / "formas_explotacion_alias.csv", "a", encoding="utf-8") as f:
        f.write("Finalidad no catalogada,EXPLOTACION_LABORAL,exacta,prueba de analista\n")
    after = harmonize_sesnsp_victimas(estatal())     # same process, no cache clearing
    assert after.frame["forma_explotacion"].tolist() == ["EXPLOTACION_LABORAL", "SERVIDUMBRE",
                                                         "EXPLOTACION_LABORAL"]
    assert after.sin_mapeo.empty
    new_version = version("formas_explotacion_alias", copy)
    assert new_version != alias_version
    assert f"formas_explotacion_alias@{new_version}" in after.frame["versiones_crosswalk"][0]
    assert crosswalks.crosswalk_versions()["formas_explotacion_alias"] == new_version
    # the whole subtype, as listed for review, also works (and wins over its purpose alone)
    with open(copy / "formas_explotacion_alias.csv", "a", encoding="utf-8") as f:
        f.write(f"{UNKNOWN},MENDICIDAD,exacta,prueba\n")
    assert harmonize_sesnsp_victimas(estatal()).frame["forma_explotacion"].tolist()[-1] == "MENDICIDAD"
    # the package's file is untouched: without the variable, the label is unknown again
    monkeypatch.delenv("CIES_CROSSWALK_DIR")
    assert harmonize_sesnsp_victimas(estatal()).frame["forma_explotacion"].tolist()[-1] == "SIN_CLASIFICAR"


def test_override_folder_may_hold_only_the_edited_files(tmp_path, monkeypatch):
    (tmp_path / "sexo.csv").write_text("etiqueta,sexo,nota\nMujer,Mujer,\nHombre,Hombre,\n", encoding="utf-8")
    monkeypatch.setenv("CIES_CROSSWALK_DIR", str(tmp_path))
    assert crosswalks.crosswalk_version("sexo") != version("sexo")
    assert crosswalks.crosswalk_version("grupos_edad") == version("grupos_edad")   # from the package
    assert crosswalks.resolve_entidad("Jal.") == "14"


def test_versions_come_from_the_files_bytes_without_reading_their_tables(tmp_path, monkeypatch):
    """ingest/cambios asks for every crosswalk's version on each refresh: they come from the files' bytes
    (sha256, 12 hex digits), without parsing a table; an edit gives the new version at once."""
    copy = tmp_path / "crosswalks"
    shutil.copytree(crosswalks.CROSSWALK_DIR, copy)
    monkeypatch.setenv("CIES_CROSSWALK_DIR", str(copy))
    crosswalks.clear_cache()

    def no_table(*args, **kwargs):
        raise AssertionError("a version was asked for and a table was parsed")
    monkeypatch.setattr(crosswalks.pd, "read_csv", no_table)
    versions = crosswalks.crosswalk_versions()
    files = sorted(copy.glob("*.csv"))
    assert len(files) == 11 and sorted(versions) == [f.stem for f in files]
    assert all(versions[f.stem] == version(f.stem, copy) for f in files)
    with open(copy / "sexo.csv", "a", encoding="utf-8") as f:
        f.write("Varón,Hombre,prueba\n")
    assert crosswalks.crosswalk_version("sexo") == version("sexo", copy) != versions["sexo"]
    monkeypatch.undo()
    crosswalks.clear_cache()
