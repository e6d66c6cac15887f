"""Reference readers: AGEEML municipality catalogue and CONAPO state population, from literal files."""
from __future__ import annotations

from pathlib import Path

import pytest

from cies_pipeline.sources.common import SourceFileError
from cies_pipeline.sources.reference import (
    MUNICIPIOS_COLUMNS, POBLACION_COLUMNS, POBLACION_DETALLE_COLUMNS, detect_reference_kind, read_ageeml,
    read_conapo_estatal, read_reference_dir,
)

REAL_CONAPO = Path("/work/shared/data/real/conapo_pob_ent_sexo_1950_2070.csv")

AGEEML_LINES = [
    '"CVEGEO","CVE_ENT","NOM_ENT","NOM_ABR","CVE_MUN","NOM_MUN","CVE_CAB","NOM_CAB","PTOT"',   # 1
    '"01001","01","Aguascalientes","Ags.","001","Aguascalientes","0001","Aguascalientes","948990"',  # 2
    '"1002",1,"Aguascalientes","Ags.",2,"Asientos","0001","Asientos","51536"',               # 3 lost padding
    '"20208","20","Oaxaca","Oax.","208","San Juan Mixtepec","0001","X","1"',                 # 4
    '"20209","20","Oaxaca","Oax.","209","San Juan Mixtepec","0001","X","1"',                 # 5 same name
    '"33001","33","Nada","N.","001","Ninguno","0001","X","1"',                               # 6 no such state
    '"05001","04","Campeche","Camp.","001","Calkiní","0001","Calkiní","1"',                  # 7 prefix 05 != 04
    '',                                                                                      # 8 blank
    '"16113","16","Michoacán de Ocampo","Mich.","113","Zitácuaro","0001","X","1"',           # 9
    '"16113","16","Michoacán de Ocampo","Mich.","113","Zitácuaro","0001","X","1"',           # 10 same code
    '"12082","12","Guerrero","Gro.","082","San Nicolás","0001","X","1"',                     # 11
]

CONAPO_LINES = [
    "RENGLON,AÑO,ENTIDAD,CVE_GEO,EDAD,SEXO,POBLACION",          # 1
    "1,2024,República Mexicana,0,0,Hombres,100",               # 2
    "2,2024,República Mexicana,0,0,Mujeres,90",                # 3
    "3,2024,República Mexicana,0,1,Hombres,80",                # 4
    "4,2024,Aguascalientes,1,0,Hombres,7",                     # 5
    "5,2024,Aguascalientes,1,0,Mujeres,6",                     # 6
    '6,2025,Aguascalientes,1,0,Hombres,"1,005"',               # 7
    "7,2025,Aguascalientes,1,0,Mujeres,x",                     # 8 not a number
    "8,2025,Nada,40,0,Hombres,3",                              # 9 no such state
    "",                                                        # 10 blank
    "9,2025,Aguascalientes,1,1,Hombres,4",                     # 11
    "10,2025,Aguascalientes,1,1,Hombres,5",                    # 12 same key as 11
    "11,2025,Aguascalientes,1,2,Mujeres,9",                    # 13
]


def write(path: Path, lines: list[str], encoding: str) -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def records(result, name: str) -> list[tuple]:
    table = result.table(name)
    return [tuple(r) for r in table.drop(columns=["archivo_origen", "hoja"]).itertuples(index=False)]


def accounting(result) -> tuple[int, int, int, int]:
    row = result.contabilidad().iloc[0]
    return int(row.leidas), int(row.cargadas), int(row.en_cuarentena), int(row.excluidas)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp1252"])
def test_ageeml(tmp_path, encoding):
    path = write(tmp_path / "AGEEML_2025.csv", AGEEML_LINES, encoding)
    assert detect_reference_kind(path) == "ageeml"
    result = read_ageeml(path, "reference/AGEEML_2025.csv")
    frame = result.frames["municipios"]
    assert list(frame.columns) == MUNICIPIOS_COLUMNS
    assert frame[["cvegeo", "cve_ent", "cve_mun", "nombre", "nom_ent", "fila_origen"]].values.tolist() == [
        ["01001", "01", "001", "Aguascalientes", "Aguascalientes", 2],
        ["01002", "01", "002", "Asientos", "Aguascalientes", 3],
        ["20208", "20", "208", "San Juan Mixtepec", "Oaxaca", 4],
        ["20209", "20", "209", "San Juan Mixtepec", "Oaxaca", 5],
        ["12082", "12", "082", "San Nicolás", "Guerrero", 11],
    ]
    assert set(frame["archivo_origen"]) == {"reference/AGEEML_2025.csv"}
    assert frame["hoja"].isna().all() and len(frame["archivo_sha256"].iloc[0]) == 64
    assert records(result, "cuarentena") == [
        (6, "CVE_ENT", "33", "entidad_desconocida"),
        (7, "CVEGEO", "05001", "cvegeo_de_otra_entidad"),
        (9, "CVEGEO", "16113 (también en fila 10)", "clave_duplicada"),
        (10, "CVEGEO", "16113 (también en fila 9)", "clave_duplicada"),
    ]
    assert accounting(result) == (9, 5, 4, 0)


def test_ageeml_without_the_catalogue_header(tmp_path):
    path = write(tmp_path / "x.csv", ["CVE_ENT,NOM_ENT", "01,Aguascalientes"], "utf-8")
    assert detect_reference_kind(path) is None
    with pytest.raises(SourceFileError, match="x.csv"):
        read_ageeml(path, "x.csv")


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8"])
def test_conapo_estatal(tmp_path, encoding):
    path = write(tmp_path / "00_Pob_Mitad_1950_2070.csv", CONAPO_LINES, encoding)
    assert detect_reference_kind(path) == "conapo_estatal"
    result = read_conapo_estatal(path, "00_Pob_Mitad_1950_2070.csv")
    total = result.frames["poblacion_estatal"]
    assert list(total.columns) == POBLACION_COLUMNS
    assert total[["anio", "cve_ent", "poblacion"]].values.tolist() == [[2024, "00", 270], [2024, "01", 13],
                                                                        [2025, "01", 1014]]
    assert str(total["poblacion"].dtype) == "int64" and str(total["anio"].dtype) == "int64"
    detail = result.frames["poblacion_estatal_detalle"]
    assert list(detail.columns) == POBLACION_DETALLE_COLUMNS
    assert detail["fila_origen"].tolist() == [2, 3, 4, 5, 6, 7, 13]
    assert detail.iloc[5][["anio", "cve_ent", "edad", "sexo", "poblacion"]].tolist() \
        == [2025, "01", "0", "Hombres", 1005]
    assert sorted(records(result, "cuarentena")) == [
        (8, "POBLACION", "x", "conteo_no_numerico"),
        (9, "CVE_GEO", "40", "entidad_desconocida"),
        (11, "SEXO", "2025 | 01 | 1 | Hombres", "clave_duplicada"),
        (12, "SEXO", "2025 | 01 | 1 | Hombres", "clave_duplicada"),
    ]
    assert accounting(result) == (11, 7, 4, 0)


def test_conapo_extract_real_file():
    result = read_conapo_estatal(REAL_CONAPO, "conapo.csv")
    total = result.frames["poblacion_estatal"].set_index(["anio", "cve_ent"])["poblacion"]
    # mid-year 2024: Hombres 64,705,498 + Mujeres 67,568,918 (the file's own Total row says 132,274,416)
    assert total.loc[(2024, "00")] == 132274416
    assert total.loc[(2020, "00")] == 128209170
    assert result.frames["poblacion_estatal_detalle"]["edad"].isna().all()
    assert set(r["motivo"] for r in result.excluidas) == {"total"}
    book = result.contabilidad().iloc[0]
    assert book.leidas == 10059 and book.leidas == book.cargadas + book.en_cuarentena + book.excluidas
    assert book.excluidas == book.leidas // 3


def test_read_reference_dir(tmp_path):
    (tmp_path / "inegi").mkdir()
    write(tmp_path / "inegi" / "AGEEML.csv", AGEEML_LINES, "utf-8-sig")
    write(tmp_path / "conapo.csv", CONAPO_LINES, "cp1252")
    write(tmp_path / "otro.csv", ["a,b", "1,2"], "utf-8")
    result = read_reference_dir(tmp_path)
    # poblacion_municipal is always there (empty without a CONAPO municipal file: test_reference_municipal.py)
    assert set(result.frames) == {"municipios", "poblacion_estatal", "poblacion_estatal_detalle",
                                  "poblacion_municipal"}
    assert len(result.frames["poblacion_municipal"]) == 0
    assert set(result.frames["municipios"]["archivo_origen"]) == {"inegi/AGEEML.csv"}
    assert len(result.frames["municipios"]) == 5 and len(result.frames["poblacion_estatal"]) == 3
    assert sorted(a["tipo"] for a in result.archivos) == ["ageeml", "conapo_estatal"]
    assert any(w.startswith("otro.csv") for w in result.warnings)
    book = result.contabilidad()
    assert book["leidas"].tolist() == [11, 9]
    assert (book["leidas"] == book["cargadas"] + book["en_cuarentena"] + book["excluidas"]).all()
