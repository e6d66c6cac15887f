"""SESNSP 2015-2025 reader: layouts by header, corte, quarantine and exclusions, accounting, the real file.

Fixture files are written from literal text here (tmp_path), in the encoding and line endings under test.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cies_pipeline.sources import sesnsp
from cies_pipeline.sources.common import SourceFileError
from cies_pipeline.sources.sesnsp import (
    SESNSP_KINDS, detect_sesnsp_kind, read_sesnsp, read_sesnsp_dir, release_month_from_name,
)

REAL = Path("/work/shared/data/real/IDVFC_NM_jun25.csv")
MESES = "Enero,Febrero,Marzo,Abril,Mayo,Junio,Julio,Agosto,Septiembre,Octubre,Noviembre,Diciembre"
TRATA = "La sociedad,Trata de personas,Trata de personas,Trata de personas"
H_ESTATAL = f"Año,Clave_Ent,Entidad,Bien jurídico afectado,Tipo de delito,Subtipo de delito,Modalidad,{MESES}"
H_VICTIMAS = ("Año,Clave_Ent,Entidad,Bien jurídico afectado,Tipo de delito,Subtipo de delito,Modalidad,"
              f"Sexo,Rango de edad,{MESES}")
H_MUNICIPAL = ("Año,Clave_Ent,Entidad,Cve. Municipio,Municipio,Bien jurídico afectado,Tipo de delito,"
               f"Subtipo de delito,Modalidad,{MESES}")

# The state crimes file; physical line numbers on the right (header = 1).
ESTATAL_LINES = [
    H_ESTATAL,                                                                                  # 1
    f"2024,1,Aguascalientes,{TRATA},1,0,2,0,0,0,0,0,0,0,0,3",                                   # 2
    f'2024,9,Ciudad de México,{TRATA},"1,234",5,0,0,0,0,0,0,0,0,0,1',                           # 3 thousands
    "2024,9,Ciudad de México,El patrimonio,Robo,Otros robos,Con violencia “armada”,"
    "10,11,12,13,14,15,16,17,18,19,20,21",                                                      # 4 other crime
    H_ESTATAL,                                                                                  # 5 header again
    f"2025,1,Aguascalientes,{TRATA},2,x,,,,,,,,,,",                                             # 6 Feb not a number
    "2025,9,Ciudad de México,El patrimonio,Robo,Otros robos,Con violencia,5,6,7,,,,,,,,,",      # 7 last month: Mar
    f"2025,33,Desconocida,{TRATA},1,1,,,,,,,,,,",                                               # 8 no such state
    "",                                                                                         # 9 blank
    f"2025,2,Baja California,{TRATA},-1,0,,,,,,,,,,",                                           # 10 negative
    f"2025,3,Baja California Sur,{TRATA},,,,,,,,,,,,",                                          # 11 nothing published
    "2025,4,Campeche,La sociedad,Trata de personas,Trata de per",                               # 12 broken, last
]


@pytest.fixture(autouse=True, params=["entero", "en_dos_mitades"])
def scan_mode(request, monkeypatch):
    """Every test of this module runs twice: files scanned in one piece, and (as a file of _SPLIT_BYTES or more
    is) in two halves on two threads, cut after the first newline past the middle."""
    if request.param == "en_dos_mitades":
        monkeypatch.setattr(sesnsp, "_SPLIT_BYTES", 0)
    return request.param


def write(path: Path, lines: list[str], encoding: str = "cp1252", newline: str = "\r\n",
          final_newline: bool = False) -> Path:
    text = newline.join(lines) + (newline if final_newline else "")
    path.write_bytes(text.encode(encoding))
    return path


def records(result, name: str) -> list[tuple]:
    table = result.table(name)
    return [tuple(r) for r in table.drop(columns=["archivo_origen", "hoja"]).itertuples(index=False)]


def accounting(result) -> tuple[int, int, int, int]:
    row = result.contabilidad().iloc[0]
    return int(row.leidas), int(row.cargadas), int(row.en_cuarentena), int(row.excluidas)


@pytest.mark.parametrize("encoding,newline", [("cp1252", "\r\n"), ("cp1252", "\n"), ("utf-8-sig", "\r\n"),
                                              ("utf-8", "\n")])
def test_state_crimes_file(tmp_path, encoding, newline):
    path = write(tmp_path / "IDEFC_NM.csv", ESTATAL_LINES, encoding, newline)
    assert detect_sesnsp_kind(path) == "sesnsp_carpetas_estatal"
    result = read_sesnsp(path, "sesnsp/IDEFC_NM.csv")

    frame = result.frames["sesnsp_carpetas_estatal"]
    assert list(frame.columns) == ["archivo_origen", "archivo_sha256", "hoja", "fila_origen", "corte",
                                   "metodologia", "periodo", "cve_ent", "delito", "carpetas"]
    # no month in the name: corte is the last month with any figure in the file, here the robbery of line 7
    assert set(frame["corte"]) == {pd.Timestamp("2025-03-01")}
    assert set(frame["metodologia"]) == {"CNSP-38-15"}
    assert set(frame["archivo_origen"]) == {"sesnsp/IDEFC_NM.csv"}
    assert frame["hoja"].isna().all()
    assert str(frame["carpetas"].dtype) == "int64" and str(frame["fila_origen"].dtype) == "int64"
    got = [(r.fila_origen, r.periodo.strftime("%Y-%m"), r.cve_ent, r.delito, r.carpetas)
           for r in frame.itertuples()]
    expected = ([(2, f"2024-{m:02d}", "01", "Trata de personas", v)
                 for m, v in zip(range(1, 13), [1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3])]
                + [(3, f"2024-{m:02d}", "09", "Trata de personas", v)
                   for m, v in zip(range(1, 13), [1234, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])]
                + [(6, "2025-01", "01", "Trata de personas", 2), (10, "2025-02", "02", "Trata de personas", 0)])
    assert got == expected

    assert records(result, "cuarentena") == [
        (8, "Clave_Ent", "33", "entidad_desconocida"),
        (6, "Febrero", "x", "conteo_no_numerico"),
        (10, "Enero", "-1", "conteo_negativo"),
    ]
    assert sorted(records(result, "excluidas")) == [(5, "encabezado_repetido"), (11, "vacia"), (12, "fila_rota")]
    assert records(result, "excluidas_resumen") == [("delito_fuera_de_alcance", 2)]
    assert any("fila 12" in w and "rota" in w for w in result.warnings)
    # leidas: lines 2-8 and 10-12; loaded 2, 3; quarantined 6, 8, 10; excluded 5, 11, 12 + two other crimes
    assert accounting(result) == (10, 2, 3, 5)
    assert result.archivos[0]["tipo"] == "sesnsp_carpetas_estatal"
    assert result.archivos[0]["archivo_sha256"] == frame["archivo_sha256"].iloc[0]
    assert len(frame["archivo_sha256"].iloc[0]) == 64


def test_corte_argument_stops_loading(tmp_path):
    path = write(tmp_path / "IDEFC_NM_dic2025.csv", ESTATAL_LINES)
    result = read_sesnsp(path, "x.csv", corte=date(2025, 1, 1))
    frame = result.frames["sesnsp_carpetas_estatal"]
    assert set(frame["corte"]) == {pd.Timestamp("2025-01-01")}
    assert frame["periodo"].max() == pd.Timestamp("2025-01-01")
    # February of line 6 ('x') is after corte: not published, so not quarantined; line 6 loads January
    assert records(result, "cuarentena") == [(8, "Clave_Ent", "33", "entidad_desconocida"),
                                             (10, "Enero", "-1", "conteo_negativo")]
    assert frame.loc[frame["fila_origen"] == 6, "carpetas"].tolist() == [2]
    assert accounting(result) == (10, 3, 2, 5)


def test_corte_from_the_file_name(tmp_path):
    path = write(tmp_path / "Estatal-Delitos-2015-2025_feb2025.csv", ESTATAL_LINES)
    frame = read_sesnsp(path, "x.csv").frames["sesnsp_carpetas_estatal"]
    assert set(frame["corte"]) == {pd.Timestamp("2025-02-01")}


def test_small_chunks_give_the_same_result(tmp_path, monkeypatch):
    lines = ESTATAL_LINES[:3] + ['2024,9,CDMX,El patrimonio,Robo,"Robo de cables,\r\n tubos",Con violencia,'
                                 '1,1,1,1,1,1,1,1,1,1,1,1'] + ESTATAL_LINES[3:]
    path = write(tmp_path / "IDEFC_NM.csv", lines)
    whole = read_sesnsp(path, "x.csv")
    monkeypatch.setattr(sesnsp, "_CHUNK_BYTES", 7)     # records and quoted newlines straddle chunks
    small = read_sesnsp(path, "x.csv")
    pd.testing.assert_frame_equal(whole.frames["sesnsp_carpetas_estatal"],
                                  small.frames["sesnsp_carpetas_estatal"])
    assert records(whole, "cuarentena") == records(small, "cuarentena")
    assert records(whole, "excluidas") == records(small, "excluidas")
    # the quoted newline does not start a row: the lines after it keep their spreadsheet row numbers + 1
    assert sorted(records(small, "excluidas")) == [(6, "encabezado_repetido"), (12, "vacia"),
                                                  (13, "fila_rota")]
    assert accounting(small) == (11, 2, 3, 6)


@pytest.mark.parametrize("chunk", [7, 64, 1 << 21])
def test_sha256_and_rows_do_not_depend_on_the_blocks_read(tmp_path, monkeypatch, chunk):
    """The scan reads blocks into two buffers in turn, hashing each in a thread: the sha256 is that of every
    byte of the file (BOM included) and the records, the quoted newline inside one, are the same for any
    block size (7 bytes: each buffer is reused many times while the other is hashed)."""
    import hashlib
    lines = ESTATAL_LINES[:3] + ['2024,9,CDMX,El patrimonio,Robo,"Robo de cables,\r\n tubos",Con violencia,'
                                 '1,1,1,1,1,1,1,1,1,1,1,1'] + ESTATAL_LINES[3:]
    path = tmp_path / "IDEFC_NM.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8"))
    monkeypatch.setattr(sesnsp, "_CHUNK_BYTES", chunk)
    layout = sesnsp._layout_of(sesnsp._read_head(path))
    assert layout.bom == 3
    scan = sesnsp._scan(path, layout, sesnsp._needles(("Trata de personas",), layout.encoding), False)
    assert scan.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert scan.nonempty == 11    # 12 records below the header (one holds a quoted newline), one empty
    result = read_sesnsp(path, "x.csv")
    assert result.archivos[0]["archivo_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(records(result, "excluidas")) == [(6, "encabezado_repetido"), (12, "vacia"),
                                                   (13, "fila_rota")]
    assert accounting(result) == (11, 2, 3, 6)


def test_municipal_file(tmp_path):
    lines = [
        H_MUNICIPAL,
        f"2025,1,Aguascalientes,1001,Aguascalientes,{TRATA},1,0,7,,,,,,,,,",     # March after corte (name)
        f"2025,14,Jalisco,14998,No Especificado,{TRATA},0,2,,,,,,,,,,",
        f"2025,14,Jalisco,15001,Acambay,{TRATA},3,3,,,,,,,,,,",                   # 15 is not Jalisco
        f"2025,20,Oaxaca,20208,San Juan “Mixtepec”,{TRATA},1,,,,,,,,,,,",
        "2025,1,Aguascalientes,1001,Aguascalientes,El patrimonio,Robo,Otros robos,Con violencia,4,4,4,,,,,,,,,",
    ]
    path = write(tmp_path / "Municipal-Delitos-2015-2025_feb2025.csv", lines, final_newline=True)
    assert detect_sesnsp_kind(path) == "sesnsp_carpetas_municipal"
    result = read_sesnsp(path, "m.csv")
    frame = result.frames["sesnsp_carpetas_municipal"]
    assert list(frame.columns)[-3:] == ["cvegeo", "municipio", "carpetas"]
    got = [(r.fila_origen, r.periodo.strftime("%Y-%m"), r.cve_ent, r.cvegeo, r.municipio, r.carpetas)
           for r in frame.itertuples()]
    assert got == [(2, "2025-01", "01", "01001", "Aguascalientes", 1),
                   (2, "2025-02", "01", "01001", "Aguascalientes", 0),
                   (3, "2025-01", "14", "14998", "No Especificado", 0),
                   (3, "2025-02", "14", "14998", "No Especificado", 2),
                   (5, "2025-01", "20", "20208", "San Juan “Mixtepec”", 1)]
    assert set(frame["corte"]) == {pd.Timestamp("2025-02-01")}
    assert records(result, "cuarentena") == [(4, "Cve. Municipio", "15001", "cvegeo_de_otra_entidad")]
    assert any("después del corte" in w for w in result.warnings)
    assert accounting(result) == (5, 3, 1, 1)


def test_victims_file_with_a_repeated_key(tmp_path):
    lines = [
        H_VICTIMAS,
        f"2024,7,Chiapas,{TRATA},Mujer,Adultos (18 y más),1,2,3,4,5,6,7,8,9,10,11,12",
        f"2024,7,Chiapas,{TRATA},Hombre,Adultos (18 y más),0,0,0,0,0,0,0,0,0,0,0,0",
        f"2024,7,Chiapas,{TRATA},Mujer,Adultos (18 y más),1,1,1,1,1,1,1,1,1,1,1,1",
        f"2024,7,Chiapas,{TRATA},Mujer,Menores de edad (0-17),1,0,0,0,0,0,0,0,0,0,0,0",
    ]
    path = write(tmp_path / "IDVFC_NM_ene25.csv", lines)
    assert detect_sesnsp_kind(path) == "sesnsp_victimas_estatal"
    result = read_sesnsp(path, "v.csv")
    frame = result.frames["sesnsp_victimas_estatal"]
    assert list(frame.columns)[-3:] == ["sexo", "rango_edad", "victimas"]
    assert sorted(set(frame["fila_origen"])) == [3, 5]
    assert len(frame) == 24 and int(frame["victimas"].sum()) == 1
    assert frame.loc[frame["fila_origen"] == 5, ["sexo", "rango_edad"]].drop_duplicates().values.tolist() \
        == [["Mujer", "Menores de edad (0-17)"]]
    key = "Año + Clave_Ent + Subtipo de delito + Modalidad + Sexo + Rango de edad"
    assert records(result, "cuarentena") == [
        (2, key, "2024 | 7 | Trata de personas | Trata de personas | Mujer | Adultos (18 y más) (también en fila 4)",
         "clave_duplicada"),
        (4, key, "2024 | 7 | Trata de personas | Trata de personas | Mujer | Adultos (18 y más) (también en fila 2)",
         "clave_duplicada"),
    ]
    assert accounting(result) == (4, 2, 2, 0)


def test_other_delitos_and_case_of_labels(tmp_path):
    lines = [H_ESTATAL,
             "2024,1,Aguascalientes,La sociedad,TRATA DE PERSONAS,Trata de personas,Trata de personas,"
             "1,1,1,1,1,1,1,1,1,1,1,1",
             "2024,1,Aguascalientes,La sociedad,Corrupción de menores,Corrupción de menores,"
             "Corrupción de menores,2,2,2,2,2,2,2,2,2,2,2,2"]
    path = write(tmp_path / "e_dic24.csv", lines)
    trata = read_sesnsp(path, "e.csv").frames["sesnsp_carpetas_estatal"]
    assert trata["carpetas"].sum() == 12 and set(trata["fila_origen"]) == {2}
    both = read_sesnsp(path, "e.csv", delitos=("Trata de personas", "corrupcion de menores"))
    frame = both.frames["sesnsp_carpetas_estatal"]
    assert frame.groupby("delito")["carpetas"].sum().to_dict() == {"Corrupción de menores": 24,
                                                                   "Trata de personas": 12}
    assert accounting(both) == (2, 2, 0, 0)


@pytest.mark.parametrize("name,expected", [
    ("IDVFC_NM_jun25.csv", date(2025, 6, 1)),
    ("IDVFC_NM_jun25", date(2025, 6, 1)),
    ("Estatal-Delitos-2015-2025_ago2026.csv", date(2026, 8, 1)),
    ("Municipal-Delitos-2015-2025_sep2025.csv", date(2025, 9, 1)),
    ("RNID-Delitos_Estatal-2026-ene2026.csv", date(2026, 1, 1)),
    ("datos_diciembre2024.csv", date(2024, 12, 1)),
    ("IDM_NM.csv", None),
    ("victimas_2015_2025.csv", None),
])
def test_release_month_from_name(name, expected):
    assert release_month_from_name(name) == expected


def test_detect_rejects_other_files(tmp_path):
    ageeml = tmp_path / "ageeml.csv"
    ageeml.write_bytes(b'"CVEGEO","CVE_ENT","NOM_ENT","NOM_ABR","CVE_MUN","NOM_MUN"\r\n"01001","01","A","Ags.","001","A"\r\n')
    html = tmp_path / "IDEFC_NM_jun25.csv"
    html.write_bytes(b"<!DOCTYPE html><html><body>Request unsuccessful</body></html>")
    assert detect_sesnsp_kind(ageeml) is None
    assert detect_sesnsp_kind(html) is None
    with pytest.raises(SourceFileError, match="IDEFC_NM_jun25.csv"):
        read_sesnsp(html, "IDEFC_NM_jun25.csv")


def test_read_dir(tmp_path):
    (tmp_path / "estatal").mkdir()
    write(tmp_path / "estatal" / "IDEFC_NM_mar25.csv", ESTATAL_LINES)
    write(tmp_path / "IDVFC_NM_ene25.csv",
          [H_VICTIMAS, f"2025,7,Chiapas,{TRATA},Mujer,Adultos (18 y más),4,,,,,,,,,,,"])
    (tmp_path / "notas.csv").write_bytes(b"a,b\r\n1,2\r\n")
    result = read_sesnsp_dir(tmp_path)
    assert set(result.frames) == set(SESNSP_KINDS)
    assert len(result.frames["sesnsp_carpetas_municipal"]) == 0
    assert list(result.frames["sesnsp_carpetas_municipal"].columns) \
        == sesnsp.FRAME_COLUMNS["sesnsp_carpetas_municipal"]
    assert set(result.frames["sesnsp_carpetas_estatal"]["archivo_origen"]) == {"estatal/IDEFC_NM_mar25.csv"}
    assert len(result.frames["sesnsp_carpetas_estatal"]) == 26
    assert result.frames["sesnsp_victimas_estatal"]["victimas"].tolist() == [4]
    assert any(w.startswith("notas.csv") for w in result.warnings)
    assert sorted(a["archivo_origen"] for a in result.archivos) == ["IDVFC_NM_ene25.csv",
                                                                    "estatal/IDEFC_NM_mar25.csv"]
    book = result.contabilidad().set_index("archivo_origen")
    assert (book["leidas"] == book["cargadas"] + book["en_cuarentena"] + book["excluidas"]).all()


def test_real_victims_file():
    result = read_sesnsp(REAL, "IDVFC_NM_jun25.csv")
    frame = result.frames["sesnsp_victimas_estatal"]
    by_year = frame.groupby(frame["periodo"].dt.year)["victimas"].sum()
    assert by_year.loc[[2015, 2019, 2022, 2023, 2024]].tolist() == [1171, 682, 942, 936, 790]
    assert set(frame["corte"]) == {pd.Timestamp("2025-06-01")}
    assert frame["periodo"].max() == pd.Timestamp("2025-06-01")
    assert frame["cve_ent"].nunique() == 32
    book = result.contabilidad().iloc[0]
    assert book.leidas == 80960 and book.leidas == book.cargadas + book.en_cuarentena + book.excluidas
    assert result.cuarentena == []


def test_a_stray_quote_does_not_swallow_the_file(tmp_path, monkeypatch):
    filler = "2024,1,Aguascalientes,El patrimonio,Robo,Otros robos,Con violencia,1,1,1,1,1,1,1,1,1,1,1,1"
    lines = [H_ESTATAL, filler.replace("Con violencia", 'Con "violencia')] + [filler] * 40 \
        + [f"2024,1,Aguascalientes,{TRATA},5,0,0,0,0,0,0,0,0,0,0,0"]
    path = write(tmp_path / "e_dic24.csv", lines)
    monkeypatch.setattr(sesnsp, "_CHUNK_BYTES", 64)
    monkeypatch.setattr(sesnsp, "_MAX_RECORD_BYTES", 256)
    result = read_sesnsp(path, "e.csv")
    frame = result.frames["sesnsp_carpetas_estatal"]
    assert frame["carpetas"].tolist() == [5] + [0] * 11
    leidas, cargadas, en_cuarentena, excluidas = accounting(result)
    assert leidas == cargadas + en_cuarentena + excluidas and cargadas == 1


def test_a_year_that_is_not_a_year(tmp_path):
    lines = [H_ESTATAL, f"20X4,1,Aguascalientes,{TRATA},1,,,,,,,,,,,",
             f"2024,1,Aguascalientes,{TRATA},2,,,,,,,,,,,"]
    result = read_sesnsp(write(tmp_path / "e_dic24.csv", lines), "e.csv")
    assert records(result, "cuarentena") == [(2, "Año", "20X4", "periodo_invalido")]
    assert result.frames["sesnsp_carpetas_estatal"]["carpetas"].tolist() == [2]
    assert accounting(result) == (2, 1, 1, 0)


@pytest.mark.parametrize("chunk", [None, 64])
def test_unusual_lines_among_plain_ones(tmp_path, monkeypatch, chunk):
    """Lines of the usual shape are parsed in bulk; the others, in the same file, one by one, as before."""
    lines = [
        H_MUNICIPAL,
        f"2025,1,Aguascalientes,1001,Aguascalientes,{TRATA},1,2,,,,,,,,,,",                # 2 plain, key of 9
        f'2025,1,Aguascalientes,1002,Asientos,{TRATA},"1,234",0,,,,,,,,,,',                 # 3 thousands
        f"2025,1,Aguascalientes,1003,Calvillo,{TRATA},-1,5,,,,,,,,,,",                      # 4 negative
        f"2025,1,Aguascalientes,1004,Cosío,{TRATA},doce,3,,,,,,,,,,",                       # 5 text
        f"2025,1,Aguascalientes,1005,Jesús María,{TRATA},{'9' * 19},0,,,,,,,,,,",           # 6 too large
        f'2025,20,Oaxaca,20549,"Heroica Villa, Oaxaca",{TRATA},4,,,,,,,,,,,',               # 7 quoted, plain
        f"2025,1.0,Aguascalientes,1006,Pabellón,{TRATA},7,,,,,,,,,,,",                      # 8 state '1.0'
        f"2025,1,Aguascalientes,1001,Aguascalientes,{TRATA}, 9,9,,,,,,,,,,",                # 9 space, key of 2
        '2025,1,Aguascalientes,1007,Rincón,El patrimonio,Robo,Otros robos,"Con violencia, arma",5,5,,,,,,,,,,',
        f"2025,2,Baja California,2001,Ensenada,{TRATA},3,1,,,,,,,,,,",                      # 11 plain
        "2025,2,Baja California,2001,Ensenada,El patrimonio,Robo,Otros robos,Sin violencia,1,,,,,,,,,,,",
    ]
    path = write(tmp_path / "Municipal-Delitos-2015-2025_feb2025.csv", lines)
    if chunk:
        monkeypatch.setattr(sesnsp, "_CHUNK_BYTES", chunk)
    layout = sesnsp._layout_of(sesnsp._read_head(path))
    scan = sesnsp._scan(path, layout, sesnsp._needles(("Trata de personas",), layout.encoding), False)
    plain, fuera, _, unusual = sesnsp._parse_plain(scan.plain, layout, {"trata de personas"}, False)
    # line 10, a robbery with one whole quoted cell and the layout's commas outside it, is out of scope
    # already in the scan (not parsed): no line reaches the bulk parser only to be counted out of scope
    assert plain.fila.tolist() == [2, 7, 11] and fuera == 0
    assert scan.nonempty - len(scan.slow) - len(scan.plain.fila) == 1     # line 10 (12, the last, is parsed)
    assert sorted(f for f, _ in unusual) == [3, 4, 5, 6, 8, 9]

    result = read_sesnsp(path, "m.csv")
    frame = result.frames["sesnsp_carpetas_municipal"]
    got = [(r.fila_origen, r.periodo.strftime("%Y-%m"), r.cve_ent, r.cvegeo, r.municipio, r.carpetas)
           for r in frame.itertuples()]
    assert got == [(3, "2025-01", "01", "01002", "Asientos", 1234), (3, "2025-02", "01", "01002", "Asientos", 0),
                   (4, "2025-02", "01", "01003", "Calvillo", 5), (5, "2025-02", "01", "01004", "Cosío", 3),
                   (6, "2025-02", "01", "01005", "Jesús María", 0),
                   (7, "2025-01", "20", "20549", "Heroica Villa, Oaxaca", 4),
                   (8, "2025-01", "01", "01006", "Pabellón", 7),
                   (11, "2025-01", "02", "02001", "Ensenada", 3), (11, "2025-02", "02", "02001", "Ensenada", 1)]
    key = "Año + Clave_Ent + Cve. Municipio + Subtipo de delito + Modalidad"
    assert records(result, "cuarentena") == [
        (2, key, "2025 | 1 | 1001 | Trata de personas | Trata de personas (también en fila 9)", "clave_duplicada"),
        (4, "Enero", "-1", "conteo_negativo"),
        (5, "Enero", "doce", "conteo_no_numerico"),
        (6, "Enero", "9" * 19, "conteo_fuera_de_rango"),
        (9, key, "2025 | 1 | 1001 | Trata de personas | Trata de personas (también en fila 2)", "clave_duplicada"),
    ]
    assert records(result, "excluidas_resumen") == [("delito_fuera_de_alcance", 2)]
    # leidas: lines 2-12; loaded 3, 7, 8, 11; quarantined 2, 4, 5, 6, 9; excluded the robberies (10, 12)
    assert accounting(result) == (11, 4, 5, 2)


QUOTED_ROBO = "2025,1,Aguascalientes,1007,Rincón,El patrimonio,Robo,Otros robos,{}," + ",".join(["5"] * 12)


@pytest.mark.parametrize("cell", [
    '"Con violencia, arma"',              # one whole quoted cell: out of scope in the scan
    '"Con violencia, arma, y más"',       # two commas inside
    '"Con violencia"',                    # no comma inside: the layout's commas, out of scope either way
    'Con "violencia, arma"',              # quotes inside a cell: csv splits at the comma -> fila_rota
    '"Con violencia, arma"x',             # text after the closing quote
    '"Con ""violencia"", arma"',          # doubled quotes
    '"Con violencia, arma",""',           # two quoted cells: one cell too many -> fila_rota
    '"Con violencia, arma",',             # one comma too many outside the quotes -> fila_rota
    '"Con violencia\n arma"',             # a quoted newline
])
def test_a_quoted_line_out_of_scope_is_decided_as_the_parser_would(tmp_path, monkeypatch, cell):
    """The scan's shortcut for records with one whole quoted cell (_one_quoted_cell) gives the same rows,
    exclusions and accounting as sending every quoted record to the parser."""
    lines = [H_MUNICIPAL, f"2025,1,Aguascalientes,1001,Aguascalientes,{TRATA},1,2,,,,,,,,,,",
             QUOTED_ROBO.format(cell.replace("\\n", "\n")),
             f"2025,2,Baja California,2001,Ensenada,{TRATA},3,1,,,,,,,,,,"]
    path = write(tmp_path / "Municipal-Delitos-2015-2025_feb2025.csv", lines)
    fast = read_sesnsp(path, "m.csv")
    monkeypatch.setattr(sesnsp, "_one_quoted_cell",
                        lambda arr, comma, quotes, line_of, starts, *rest: np.zeros(len(starts), bool))
    parsed = read_sesnsp(path, "m.csv")
    pd.testing.assert_frame_equal(fast.frames["sesnsp_carpetas_municipal"],
                                  parsed.frames["sesnsp_carpetas_municipal"])
    assert records(fast, "excluidas") == records(parsed, "excluidas")
    assert records(fast, "excluidas_resumen") == records(parsed, "excluidas_resumen")
    assert accounting(fast) == accounting(parsed)
    assert fast.warnings == parsed.warnings

