"""state_reports: the CIE template and its variants, from files written here to hand-computed frames."""
import datetime as dt
import os

import openpyxl
import pandas as pd
import pytest

from cies_pipeline.sources import state_reports as sr
from cies_pipeline.sources.state_reports import (CellError, FormulaWithoutValue, parse_booleano, parse_count,
                                                 parse_estatus, parse_fecha, parse_municipio, parse_periodo,
                                                 read_state_report, read_state_reports)

TODAY = dt.date(2026, 11, 28)
TS = pd.Timestamp


# -- cell parsers -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    ("2024-03", TS("2024-03-01")), ("03/2024", TS("2024-03-01")), ("3/2024", TS("2024-03-01")),
    ("marzo 2024", TS("2024-03-01")), ("Marzo de 2024", TS("2024-03-01")), ("MARZO DEL 2024", TS("2024-03-01")),
    ("mar-24", TS("2024-03-01")), ("Mar-24", TS("2024-03-01")), ("mar 2024", TS("2024-03-01")),
    ("sept. 2025", TS("2025-09-01")), ("2024 marzo", TS("2024-03-01")),
    (dt.datetime(2024, 3, 15), TS("2024-03-01")), (dt.date(2024, 3, 1), TS("2024-03-01")),
    ("2024-03-15", TS("2024-03-01")), ("2024-03-15 00:00:00", TS("2024-03-01")),
    ("15/03/2024", TS("2024-03-01")), ("05/03/2024", TS("2024-03-01")),  # day first: 5 March
    (45366, TS("2024-03-01")), (45366.0, TS("2024-03-01")), ("45366", TS("2024-03-01")),  # serial of 2024-03-15
    ("2026-10", TS("2026-10-01")),  # last month is complete
])
def test_periodo_formats(value, expected):
    assert parse_periodo(value, TODAY) == expected


@pytest.mark.parametrize("value, motivo", [
    ("2024", "periodo_incompleto"), (2024, "periodo_incompleto"), (2024.0, "periodo_incompleto"),
    (None, "periodo_incompleto"), ("", "periodo_incompleto"), ("  ", "periodo_incompleto"),
    ("marzo", "periodo_incompleto"), ("n/a", "periodo_incompleto"),
    ("2024-13", "periodo_invalido"), ("13/2024", "periodo_invalido"), ("00/2024", "periodo_invalido"),
    ("31/02/2024", "periodo_invalido"), ("primer trimestre", "periodo_invalido"), ("mzo 2024", "periodo_invalido"),
    (2.5, "periodo_invalido"), (123, "periodo_invalido"), (True, "periodo_invalido"),
    ("2026-11", "periodo_futuro"), ("noviembre 2026", "periodo_futuro"), ("2027-01", "periodo_futuro"),
    (dt.datetime(2026, 11, 1), "periodo_futuro"),
])
def test_periodo_failures(value, motivo):
    with pytest.raises(CellError) as err:
        parse_periodo(value, TODAY)
    assert err.value.motivo == motivo


def test_periodo_future_moves_with_today():
    assert parse_periodo("2026-11", dt.date(2026, 12, 1)) == TS("2026-11-01")


@pytest.mark.parametrize("value, expected", [
    (3, 3), (0, 0), (3.0, 3), ("3", 3), (" 7 ", 7), ("0", 0), ("1,234", 1234), ("12,345,678", 12345678),
    ("1 234", 1234), ("1\u00a0234", 1234), ("1.234.567", 1234567), ("3.0", 3), ("1,234.00", 1234),
    (None, None), ("", None), ("  ", None), ("-", None), ("N/A", None), (float("nan"), None),
])
def test_count_formats(value, expected):
    assert parse_count(value) == expected


@pytest.mark.parametrize("value, motivo", [
    ("1.234", "conteo_no_numerico"),  # thousands or decimals: ambiguous, never guessed
    (2.5, "conteo_no_numerico"), ("2.5", "conteo_no_numerico"), ("abc", "conteo_no_numerico"),
    ("1,23", "conteo_no_numerico"), (True, "conteo_no_numerico"), ("#REF!", "conteo_no_numerico"),
    (-1, "conteo_negativo"), ("-3", "conteo_negativo"), (-2.0, "conteo_negativo"), ("-1,234", "conteo_negativo"),
])
def test_count_failures(value, motivo):
    with pytest.raises(CellError) as err:
        parse_count(value)
    assert err.value.motivo == motivo


@pytest.mark.parametrize("value, expected", [
    ("2024-03-15", TS("2024-03-15")), ("15/03/2024", TS("2024-03-15")), ("15-03-2024", TS("2024-03-15")),
    (dt.datetime(2019, 5, 10, 13, 30), TS("2019-05-10")), (dt.date(2019, 5, 10), TS("2019-05-10")),
    (45366, TS("2024-03-15")), (None, None), ("", None),
])
def test_fecha(value, expected):
    assert parse_fecha(value) == expected


@pytest.mark.parametrize("value", ["31/02/2024", "ayer", "2024-03", 12, "03/15/2024"])
def test_fecha_invalida(value):
    with pytest.raises(CellError, match="fecha_invalida"):
        parse_fecha(value)


@pytest.mark.parametrize("value, expected", [
    ("Sí", True), ("si", True), ("SI", True), ("x", True), ("true", True), ("Verdadero", True), (1, True),
    (True, True), ("1", True), ("No", False), ("false", False), (0, False), ("0", False), (False, False),
    (None, None), ("", None),
])
def test_booleano(value, expected):
    assert parse_booleano(value) is expected


@pytest.mark.parametrize("value", ["quizá", "en trámite", 2])
def test_booleano_invalido(value):
    with pytest.raises(CellError, match="booleano_invalido"):
        parse_booleano(value)


@pytest.mark.parametrize("value, expected", [
    ("cumplido", "Cumplido"), ("CUMPLIDA", "Cumplido"), ("En Proceso", "En proceso"), ("en-proceso", "En proceso"),
    ("pendiente", "Pendiente"), ("Cancelado", "Cancelado"), (None, None),
])
def test_estatus(value, expected):
    assert parse_estatus(value) == expected


def test_estatus_desconocido():
    with pytest.raises(CellError, match="estatus_desconocido"):
        parse_estatus("en revisión")


@pytest.mark.parametrize("value, cve_ent, expected", [
    (" Zapopan ", "14", "Zapopan"), ("039", "14", "039"), (39, "14", "39"), (39.0, "14", "39"),
    (14039.0, "14", "14039"), ("14039.0", "14", "14039"), ("1001", "01", "1001"), ("01001", "01", "01001"),
    (None, "14", None), ("", "14", None),
])
def test_municipio_as_written(value, cve_ent, expected):
    assert parse_municipio(value, cve_ent) == expected


@pytest.mark.parametrize("value", ["09001", 9001, "1001", 14039.0])
def test_municipio_cvegeo_de_otra_entidad(value):
    with pytest.raises(CellError, match="cvegeo_de_otra_entidad"):
        parse_municipio(value, "15")


# -- helpers --------------------------------------------------------------------------------------------------
def _sheet(wb, title, rows: dict[int, list]):
    ws = wb.create_sheet(title)
    for number, values in rows.items():
        for col, value in enumerate(values, start=1):
            if value is not None:
                ws.cell(row=number, column=col, value=value)
    return ws


def _records(result):
    return {name: result.table(name) for name in
            ("cuarentena", "excluidas", "rechazados", "columnas_rechazadas", "archivos")}


def _all_strings(result) -> str:
    """Every value the result holds, as one searchable string."""
    parts = []
    for frame in list(result.frames.values()) + list(_records(result).values()) + [result.contabilidad()]:
        parts += [str(v) for v in frame.astype(str).to_numpy().ravel()] + list(map(str, frame.columns))
    parts += result.warnings + [str(k) for k in result.leidas]
    for name in ("cuarentena", "excluidas", "excluidas_resumen", "rechazados", "columnas_rechazadas"):
        parts += [str(v) for record in getattr(result, name) for v in record.values()]
    return "\n".join(parts)


def _accounting(result) -> dict:
    frame = result.contabilidad()
    return {(r.archivo_origen, r.hoja): (r.leidas, r.cargadas, r.en_cuarentena, r.excluidas)
            for r in frame.itertuples()}


def _quarantine(result) -> list[tuple]:
    return sorted((r["archivo_origen"], r["hoja"], r["fila_origen"], r["columna"], r["valor"], r["motivo"])
                  for r in result.cuarentena)


def _excluded(result) -> list[tuple]:
    return sorted((r["archivo_origen"], r["hoja"], r["fila_origen"], r["motivo"]) for r in result.excluidas)


CARPETAS = "Carpetas de investigación"
PII_VALUES = ["María López Gómez", "Pedro Ruiz", "secreto interno", "GOMC850101MJCRRR09", "LOPM900202HJCPRD04"]


def _jalisco_workbook(path):
    """A workbook with every variant states send: title, merged cells, hidden and personal-data columns,
    Excel dates, a formula without cached value, a repeated header, a TOTAL row, a note, blank rows."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    ws = _sheet(wb, CARPETAS, {
        1: ["Reporte mensual del CIE de Jalisco"],
        3: ["Mes", "Estado", "Municipio o alcaldía", "Observaciones internas", "No. de carpetas",
            "Nombre de la víctima"],
        4: ["2024-03", "Jalisco", "Guadalajara", "secreto interno", 3, "María López Gómez"],
        5: [dt.datetime(2024, 4, 1), "Jal.", 14039.0, None, 2.0, "Pedro Ruiz"],
        7: ["mayo 2024", "Jalisco", "Zapopan", None, "1,234"],
        8: [None, "Jalisco", "Tlaquepaque", None, None],
        9: ["mar-24", "Jalisco", "09001", None, 1],
        10: ["2024", "Jalisco", "Tonalá", None, "abc"],
        11: ["2024-06", "Jalisco", "Zapopan", None, "=E4+E5"],
        12: ["Mes", "Estado", "Municipio o alcaldía", None, "No. de carpetas"],
        13: ["TOTAL", None, None, None, 1239],
        15: ["Fuente: Fiscalía del Estado de Jalisco"],
        16: [None, None, None, "secreto interno"],
    })
    ws.merge_cells("A1:E1")
    ws.merge_cells("A7:A8")
    ws.column_dimensions["D"].hidden = True
    _sheet(wb, "Víctimas", {
        1: ["Periodo de reporte", "Entidad federativa", "Municipio", "Modalidad", "Género", "Edad",
            "País de origen", "Número de víctimas", "Dato", "Comentario"],
        2: ["2024-03", "Jalisco", "Guadalajara", "explotación sexual", "Mujer", 15, "Mexicana", 1,
            "GOMC850101MJCRRR09", "revisado"],
        3: ["2024-03", "Jalisco", "Guadalajara", "explotación sexual", "Mujer", 15, "Mexicana", 1,
            "LOPM900202HJCPRD04", None],
        4: ["2024-03", "Jalisco", "Guadalajara", "laboral", "Hombre", "Adultos", None, None],
        5: ["Total", None, None, None, None, None, None, 2],
    })
    _sheet(wb, "Instrucciones", {1: ["Llene una fila por municipio y mes."]})
    wb.create_sheet("Hoja3")  # empty default sheet: ignored silently
    _sheet(wb, "Comité", {
        1: ["Entidad", "Instalado", "Fecha de instalación", "Instrumento jurídico", "Sesiones ordinarias",
            "Sesiones extraordinarias", "Fecha de la última sesión", "Usuarios SINTRA asignados",
            "Usuarios SINTRA capacitados", "Fecha de primera carga SINTRA"],
        2: ["Jalisco", "Sí", dt.datetime(2019, 5, 10), "Decreto", "4", 1, "15/03/2024", 5, None, "2024-02-01"],
    })
    _sheet(wb, "Seguimiento de acuerdos", {
        1: ["Entidad", "ID acuerdo", "Fecha de sesión", "Descripción", "Responsable", "Estatus",
            "Fecha compromiso"],
        2: ["Jalisco", "CIE-01/2024", "2024-03-15", "Capacitar a ministerios públicos",
            "enlace@fiscalia.jalisco.gob.mx", "cumplido", None],
        3: ["Jalisco", "CIE-02/2024", dt.datetime(2024, 3, 15), "Instalar mesa", "SEGOB", "en revisión",
            "30/06/2024"],
        4: ["Jalisco", "CIE-03/2024", "2024-03-15", "Informe", "SEGOB", "Pendiente", "31/13/2024"],
    })
    wb.save(path)
    return path


@pytest.fixture
def jalisco(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "jalisco").mkdir(parents=True)
    _jalisco_workbook(inbox / "jalisco" / "JAL_2024.xlsx")
    return read_state_reports(inbox, TODAY)


ARCHIVO = "jalisco/JAL_2024.xlsx"


def test_workbook_carpetas_frame(jalisco):
    frame = jalisco.frames["carpetas"]
    assert list(frame.columns) == sr.COLUMNS["carpetas"]
    assert frame["fila_origen"].tolist() == [4, 5, 7, 8]
    assert frame["periodo"].tolist() == [TS("2024-03-01"), TS("2024-04-01"), TS("2024-05-01"), TS("2024-05-01")]
    assert frame["cve_ent"].tolist() == ["14"] * 4
    assert frame["municipio"].tolist() == ["Guadalajara", "14039", "Zapopan", "Tlaquepaque"]
    assert frame["carpetas"].dtype == "Int64"
    assert frame["carpetas"].tolist()[:3] == [3, 2, 1234] and frame["carpetas"].isna().tolist() == [False] * 3 + [True]
    assert set(frame["hoja"]) == {CARPETAS} and set(frame["reporte"]) == {ARCHIVO}
    assert set(frame["archivo_origen"]) == {ARCHIVO}
    assert frame["archivo_sha256"].str.len().unique().tolist() == [64]


def test_workbook_quarantine_exclusions_and_accounting(jalisco):
    assert [q for q in _quarantine(jalisco) if q[1] == CARPETAS] == [
        (ARCHIVO, CARPETAS, 9, "Municipio o alcaldía (C)", "09001", "cvegeo_de_otra_entidad"),
        (ARCHIVO, CARPETAS, 10, "Mes (A)", "2024", "periodo_incompleto"),
        (ARCHIVO, CARPETAS, 10, "No. de carpetas (E)", "abc", "conteo_no_numerico"),
        (ARCHIVO, CARPETAS, 11, "No. de carpetas (E)", "=E4+E5", "formula_sin_valor"),
    ]
    assert [x for x in _excluded(jalisco) if x[1] == CARPETAS] == [
        (ARCHIVO, CARPETAS, 12, "encabezado_repetido"), (ARCHIVO, CARPETAS, 13, "total"),
        (ARCHIVO, CARPETAS, 15, "nota"), (ARCHIVO, CARPETAS, 16, "vacia")]
    # read = the non-empty physical rows below the header: 4 5 7 8 9 10 11 12 13 15 16
    assert _accounting(jalisco) == {
        (ARCHIVO, CARPETAS): (11, 4, 3, 4),
        (ARCHIVO, "Víctimas"): (4, 3, 0, 1),
        (ARCHIVO, "Comité"): (1, 1, 0, 0),
        (ARCHIVO, "Seguimiento de acuerdos"): (3, 1, 2, 0),
    }
    # the TOTAL (1239) disagrees with 3 + 2 + 1234 + 1 (row 9's count is readable) = 1240; the victims' agrees
    assert [w for w in jalisco.warnings if "total" in w] == [
        f"{ARCHIVO}, hoja '{CARPETAS}', fila 13: el total escrito (1239) no coincide con la suma de las filas "
        "de arriba (1240); la fila de total no se carga"]


def test_workbook_refused_columns_and_rejected_sheets(jalisco):
    refused = sorted(map(tuple, jalisco.table("columnas_rechazadas").to_numpy().tolist()))
    assert refused == [
        (ARCHIVO, CARPETAS, "Nombre de la víctima", "dato_personal"),
        (ARCHIVO, CARPETAS, "Observaciones internas", "columna_oculta"),
        (ARCHIVO, "Víctimas", "Comentario", "columna_desconocida"),
        (ARCHIVO, "Víctimas", "Dato", "dato_personal"),
    ]
    assert jalisco.rechazados == [{"archivo_origen": ARCHIVO, "hoja": "Instrucciones",
                                   "motivo": "hoja no reconocida: sin encabezado reconocible en las primeras 30 filas"}]
    assert jalisco.table("archivos")[["archivo_origen", "tipo"]].to_numpy().tolist() == [[ARCHIVO, "xlsx"]]


def test_personal_data_values_are_stored_nowhere(jalisco):
    everything = _all_strings(jalisco)
    for value in PII_VALUES:
        assert value not in everything
    assert "Guadalajara" in everything  # the search does see frame values


def test_workbook_victimas_keep_duplicates_and_blanks(jalisco):
    frame = jalisco.frames["victimas"]
    assert list(frame.columns) == sr.COLUMNS["victimas"]
    assert frame["fila_origen"].tolist() == [2, 3, 4]
    assert frame["forma_explotacion"].tolist() == ["explotación sexual", "explotación sexual", "laboral"]
    assert frame["sexo"].tolist() == ["Mujer", "Mujer", "Hombre"]
    assert frame["grupo_edad"].tolist() == ["15", "15", "Adultos"]
    assert frame["nacionalidad"].tolist() == ["Mexicana", "Mexicana", None]
    assert frame["victimas"].tolist()[:2] == [1, 1] and pd.isna(frame["victimas"].iloc[2])
    assert (ARCHIVO, "Víctimas", 5, "total") in _excluded(jalisco)
    assert f"{ARCHIVO}, hoja 'Víctimas': 1 filas repiten la clave (cve_ent, periodo, municipio, " \
           "forma_explotacion, sexo, grupo_edad, nacionalidad) de otra fila; se conservan como registros " \
           "separados" in jalisco.warnings


def test_workbook_comite_and_acuerdos(jalisco):
    comite = jalisco.frames["comite"]
    assert list(comite.columns) == sr.COLUMNS["comite"]
    row = comite.iloc[0]
    assert (row.cve_ent, bool(row.instalado), row.fecha_instalacion, row.instrumento_juridico) == \
        ("14", True, TS("2019-05-10"), "Decreto")
    assert (row.sesiones_ordinarias, row.sesiones_extraordinarias, row.usuarios_sintra_asignados) == (4, 1, 5)
    assert pd.isna(row.usuarios_sintra_capacitados)
    assert (row.fecha_ultima_sesion, row.fecha_primera_carga_sintra) == (TS("2024-03-15"), TS("2024-02-01"))
    assert str(comite["instalado"].dtype) == "boolean"
    acuerdos = jalisco.frames["acuerdos"]
    assert list(acuerdos.columns) == sr.COLUMNS["acuerdos"]
    assert acuerdos[["id_acuerdo", "responsable", "estatus"]].to_numpy().tolist() == [
        ["CIE-01/2024", "enlace@fiscalia.jalisco.gob.mx", "Cumplido"]]  # a contract column: never refused
    assert acuerdos["fecha_sesion"].tolist() == [TS("2024-03-15")] and pd.isna(acuerdos["fecha_compromiso"].iloc[0])
    assert [q for q in _quarantine(jalisco) if q[1] == "Seguimiento de acuerdos"] == [
        (ARCHIVO, "Seguimiento de acuerdos", 3, "Estatus (F)", "en revisión", "estatus_desconocido"),
        (ARCHIVO, "Seguimiento de acuerdos", 4, "Fecha compromiso (G)", "31/13/2024", "fecha_invalida")]


# -- CSV sets ------------------------------------------------------------------------------------------------
def test_csv_set_cp1252_semicolon_and_utf8_bom_comma(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "oax_2025_carpetas.csv").write_bytes((
        "Informe del CIE de Oaxaca\r\n"                                    # 1 title
        "\r\n"                                                              # 2 blank
        "Periodo;Entidad;Municipio;Carpetas de investigación\r\n"         # 3 header
        "01/2025;Oaxaca;Santa María Huatulco;2\r\n"                         # 4
        "\r\n"                                                              # 5 blank: not read (7 rows read)
        "02/2025;Oax.;San Juan Bautista Tuxtepec;1 234\r\n"                 # 6
        "febrero 2025;Oaxaca;20184;1.234\r\n"                               # 7 ambiguous thousands
        "02/2025;Oaxaca;;\r\n"                                              # 8 blank count, blank municipio
        "02/2025;Oaxaca;Salina Cruz;-1\r\n"                                 # 9
        "Total;;;1236\r\n"                                                  # 10 agrees with 2 + 1234
        "Nota: cifras preliminares\r\n"                                     # 11
    ).encode("cp1252"))
    (inbox / "oax_2025_victimas.csv").write_bytes((
        "periodo,entidad,municipio,finalidad,sexo,grupo etario,nacionalidad,víctimas\n"   # 1
        '2025-01,Oaxaca,Huatulco,"explotación\nlaboral",Mujer,NNA,Mexicana,2\n'            # 2: quoted newline
        "2025-01,Oaxaca,Huatulco,mendicidad,Hombre,Adultos,Guatemala,1\n"                  # 3 (as a spreadsheet shows it)
        "2025-01,Veracruz,20184,laboral,Mujer,NNA,Mexicana,1\n"                            # 4 state 30, CVEGEO of 20
        "2025-01,Oaxaca,Huatulco,laboral,Mujer,NNA,Mexicana,\n"                            # 5 blank count
    ).encode("utf-8-sig"))
    result = read_state_reports(inbox, TODAY)
    carpetas = result.frames["carpetas"]
    assert carpetas[["fila_origen", "hoja", "reporte", "municipio"]].to_numpy().tolist() == [
        [4, "carpetas", "oax_2025", "Santa María Huatulco"], [6, "carpetas", "oax_2025", "San Juan Bautista Tuxtepec"],
        [8, "carpetas", "oax_2025", None]]
    assert carpetas["carpetas"].tolist()[:2] == [2, 1234] and pd.isna(carpetas["carpetas"].iloc[2])
    assert carpetas["periodo"].tolist() == [TS("2025-01-01"), TS("2025-02-01"), TS("2025-02-01")]
    victimas = result.frames["victimas"]
    assert victimas["fila_origen"].tolist() == [2, 3, 5]
    assert victimas["forma_explotacion"].tolist() == ["explotación\nlaboral", "mendicidad", "laboral"]
    assert victimas["nacionalidad"].tolist() == ["Mexicana", "Guatemala", "Mexicana"]
    assert victimas["cve_ent"].tolist() == ["20"] * 3
    assert _quarantine(result) == [
        ("oax_2025_carpetas.csv", "carpetas", 7, "Carpetas de investigación (D)", "1.234", "conteo_no_numerico"),
        ("oax_2025_carpetas.csv", "carpetas", 9, "Carpetas de investigación (D)", "-1", "conteo_negativo"),
        ("oax_2025_victimas.csv", "victimas", 4, "municipio (C)", "20184", "cvegeo_de_otra_entidad"),
    ]
    assert _excluded(result) == [("oax_2025_carpetas.csv", "carpetas", 10, "total"),
                                 ("oax_2025_carpetas.csv", "carpetas", 11, "nota")]
    assert _accounting(result) == {("oax_2025_carpetas.csv", "carpetas"): (7, 3, 2, 2),
                                   ("oax_2025_victimas.csv", "victimas"): (4, 3, 1, 0)}
    assert not [w for w in result.warnings if "total" in w]
    assert result.rechazados == []


def test_csv_with_unknown_suffix_is_classified_by_header(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "yuc").mkdir(parents=True)
    (inbox / "yuc" / "yucatan_comite_2025.csv").write_bytes(
        b"Estado,Instalado,Fecha de instalacion,Sesiones ordinarias\nYucatan,no,,0\n")
    (inbox / "yuc" / "yuc_2025_Seguimiento_de_acuerdos.csv").write_bytes(
        b"cve_ent;ID;estatus\n31;A-1;Cancelada\n")
    result = read_state_reports(inbox, TODAY)
    comite = result.frames["comite"]
    assert comite[["archivo_origen", "hoja", "reporte", "cve_ent", "fila_origen"]].to_numpy().tolist() == [
        ["yuc/yucatan_comite_2025.csv", "comite", "yuc/yucatan_comite_2025", "31", 2]]
    assert comite["instalado"].tolist() == [False] and comite["sesiones_ordinarias"].tolist() == [0]
    assert pd.isna(comite["fecha_instalacion"].iloc[0])
    acuerdos = result.frames["acuerdos"]
    assert acuerdos[["hoja", "reporte", "id_acuerdo", "estatus"]].to_numpy().tolist() == [
        ["acuerdos", "yuc/yuc_2025", "A-1", "Cancelado"]]
    assert result.frames["carpetas"].empty and list(result.frames["carpetas"].columns) == sr.COLUMNS["carpetas"]


# -- rejected files ---------------------------------------------------------------------------------------
def test_bad_files_are_rejected_and_the_others_load(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "ruido.xlsx").write_bytes(bytes(range(256)) * 8)
    (inbox / "portal.xlsx").write_bytes(b"<!DOCTYPE html><html><body>Acceso denegado</body></html>")
    (inbox / "portal_carpetas.csv").write_bytes(b"<html><head><title>gob.mx</title></head></html>")
    (inbox / "vacio.csv").write_bytes(b"")
    (inbox / "antiguo.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)
    (inbox / "carta.csv").write_bytes("Estimada Secretaría Técnica:\nle enviamos el reporte.\n".encode())
    wb = openpyxl.Workbook()
    wb.active.title = "Hoja1"
    wb.active["A1"] = "Reporte sin tabla"
    wb.save(inbox / "sin_tabla.xlsx")
    title_rows = "".join(f"línea {i}\n" for i in range(1, 31))
    (inbox / "tarde_carpetas.csv").write_bytes((title_rows + "periodo,entidad,carpetas\n2024-01,Colima,1\n").encode())
    (inbox / "col_2024_carpetas.csv").write_bytes(b"periodo,entidad,carpetas\n2024-01,Colima,1\n")
    result = read_state_reports(inbox, TODAY)
    assert sorted(((r["archivo_origen"], r["hoja"] or "", r["motivo"]) for r in result.rechazados)) == [
        ("antiguo.xls", "", "libro de Excel antiguo (.xls) o protegido con contraseña: no es un libro .xlsx legible"),
        ("carta.csv", "", "sin encabezado reconocible en las primeras 30 filas"),
        ("portal.xlsx", "", "página HTML guardada como .xlsx"),
        ("portal_carpetas.csv", "", "página HTML guardada como .csv"),
        ("ruido.xlsx", "", "no es un libro de Excel ni un CSV"),
        ("sin_tabla.xlsx", "", "ninguna hoja con encabezado reconocible"),
        ("sin_tabla.xlsx", "Hoja1", "hoja no reconocida: sin encabezado reconocible en las primeras 30 filas"),
        ("tarde_carpetas.csv", "carpetas",
         "sin encabezado reconocible en las primeras 30 filas (se esperaba una hoja de carpetas)"),
        ("vacio.csv", "", "archivo vacío: no es un libro de Excel ni un CSV"),
    ]
    assert result.frames["carpetas"][["archivo_origen", "cve_ent", "carpetas"]].to_numpy().tolist() == [
        ["col_2024_carpetas.csv", "06", 1]]
    assert len(result.archivos) == 9
    assert {r["archivo_origen"]: r["tipo"] for r in result.archivos}["portal.xlsx"] == "html"


def test_header_on_row_30_is_found(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    title_rows = "".join(f"línea {i}\n" for i in range(1, 30))
    (inbox / "col_carpetas.csv").write_bytes((title_rows + "periodo,entidad,carpetas\n2024-01,Colima,1\n").encode())
    result = read_state_reports(inbox, TODAY)
    assert result.frames["carpetas"]["fila_origen"].tolist() == [31]


# -- re-sent reports ---------------------------------------------------------------------------------------
def _report(path, carpetas: list[list], comite: list | None, acuerdos: list[list], mtime: int):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _sheet(wb, "carpetas", {1: ["periodo", "entidad", "municipio", "carpetas"],
                            **{i + 2: row for i, row in enumerate(carpetas)}})
    if comite:
        _sheet(wb, "CIE", {1: ["entidad", "instalado", "sesiones ordinarias"], 2: comite})
    _sheet(wb, "acuerdos", {1: ["entidad", "id_acuerdo", "estatus"], **{i + 2: r for i, r in enumerate(acuerdos)}})
    wb.save(path)
    os.utime(path, (mtime, mtime))


def test_resent_report_newest_periods_win(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # The older report arrives LAST (mtime), but the other one's periods end later: periods decide first.
    _report(inbox / "a.xlsx", [["2024-01", "Colima", "Colima", 1], ["2024-02", "Colima", "Colima", 2],
                               ["2024-02", "Colima", "Manzanillo", 3]],
            ["Colima", "no", 0], [["Colima", "A-1", "Pendiente"], ["Colima", "A-2", "Pendiente"]], mtime=2_000_000_000)
    _report(inbox / "b.xlsx", [["2024-02", "Colima", "Colima", 5], ["2024-03", "Colima", "Colima", 7]],
            ["Colima", "sí", 3], [["Colima", "A-2", "Cumplido"]], mtime=1_900_000_000)
    result = read_state_reports(inbox, TODAY)
    carpetas = result.frames["carpetas"]
    assert carpetas[["archivo_origen", "fila_origen", "carpetas"]].to_numpy().tolist() == [
        ["a.xlsx", 2, 1], ["b.xlsx", 2, 5], ["b.xlsx", 3, 7]]
    assert result.frames["comite"][["archivo_origen", "sesiones_ordinarias"]].to_numpy().tolist() == [["b.xlsx", 3]]
    assert result.frames["acuerdos"][["archivo_origen", "id_acuerdo", "estatus"]].to_numpy().tolist() == [
        ["a.xlsx", "A-1", "Pendiente"], ["b.xlsx", "A-2", "Cumplido"]]
    assert _excluded(result) == [("a.xlsx", "CIE", 2, "reemplazada"), ("a.xlsx", "acuerdos", 3, "reemplazada"),
                                 ("a.xlsx", "carpetas", 3, "reemplazada"), ("a.xlsx", "carpetas", 4, "reemplazada")]
    assert _accounting(result) == {("a.xlsx", "CIE"): (1, 0, 0, 1), ("a.xlsx", "acuerdos"): (2, 1, 0, 1),
                                   ("a.xlsx", "carpetas"): (3, 1, 0, 2), ("b.xlsx", "CIE"): (1, 1, 0, 0),
                                   ("b.xlsx", "acuerdos"): (1, 1, 0, 0), ("b.xlsx", "carpetas"): (2, 2, 0, 0)}


def test_resent_report_same_periods_last_modified_wins(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _report(inbox / "z_primero.xlsx", [["2024-02", "Colima", "Colima", 2]], None, [], mtime=1_900_000_000)
    _report(inbox / "a_despues.xlsx", [["2024-02", "Colima", "Colima", 4]], None, [], mtime=1_900_000_100)
    result = read_state_reports(inbox, TODAY)
    assert result.frames["carpetas"][["archivo_origen", "carpetas"]].to_numpy().tolist() == [["a_despues.xlsx", 4]]
    assert _excluded(result) == [("z_primero.xlsx", "carpetas", 2, "reemplazada")]


def test_other_states_are_not_replaced(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _report(inbox / "col.xlsx", [["2024-02", "Colima", None, 2]], None, [], mtime=1_900_000_000)
    _report(inbox / "jal.xlsx", [["2024-03", "Jalisco", None, 4], ["2024-02", "Jalisco", None, 1]], None, [],
            mtime=1_900_000_100)
    result = read_state_reports(inbox, TODAY)
    assert sorted(result.frames["carpetas"]["carpetas"].tolist()) == [1, 2, 4]
    assert result.excluidas == []


def test_read_state_report_reads_one_csv_set(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "col_carpetas.csv").write_bytes(b"periodo,entidad,carpetas\n2024-01,Colima,1\n2026-11,Colima,2\n")
    (inbox / "col_victimas.csv").write_bytes(b"periodo,entidad,victimas\n2024-01,6,3\n")
    result = read_state_report([inbox / "col_carpetas.csv", inbox / "col_victimas.csv"], inbox, TODAY)
    assert result.frames["carpetas"]["reporte"].tolist() == ["col"]
    assert result.frames["victimas"][["reporte", "cve_ent", "victimas"]].to_numpy().tolist() == [["col", "06", 3]]
    assert _quarantine(result) == [("col_carpetas.csv", "carpetas", 3, "periodo (A)", "2026-11", "periodo_futuro")]
    assert sorted(result.frames) == ["acuerdos", "carpetas", "comite", "victimas"]


def test_formula_cell_marker_is_quarantined_not_read_as_blank():
    values, failures = sr._parse_row("carpetas", {"periodo": "2024-01", "entidad": "Colima",
                                                  "carpetas": FormulaWithoutValue("=B2+B3")}, TODAY)
    assert failures == [("carpetas", "formula_sin_valor")]


def test_hidden_contract_column_is_ignored_in_favour_of_the_visible_one(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "CI"
    for row in (["Periodo", "Entidad", "Carpetas", "Carpetas iniciadas"], ["2024-01", "Colima", 987654321, 4]):
        ws.append(row)
    ws.column_dimensions["C"].hidden = True
    wb.save(inbox / "col.xlsx")
    result = read_state_reports(inbox, TODAY)
    assert result.frames["carpetas"][["hoja", "carpetas"]].to_numpy().tolist() == [["CI", 4]]
    assert result.columnas_rechazadas == [{"archivo_origen": "col.xlsx", "hoja": "CI", "columna": "Carpetas",
                                           "motivo": "columna_oculta"}]
    assert "987654321" not in _all_strings(result)


def test_quarantined_value_shaped_like_personal_data_is_masked(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "x_carpetas.csv").write_bytes(b"periodo,entidad,carpetas\n2024-01,GOMC850101MJCRRR09,1\n")
    result = read_state_reports(inbox, TODAY)
    assert _quarantine(result) == [("x_carpetas.csv", "carpetas", 2, "entidad (B)",
                                    "(valor con forma de dato personal: no se guarda)", "entidad_desconocida")]
    assert "GOMC850101MJCRRR09" not in _all_strings(result)


def test_row_accounting_counts_distinct_rows_per_file_and_sheet():
    """contabilidad by hand: rows repeated in a frame (one per month) count once; a row loaded but also
    quarantined or excluded counts there, not as loaded; a missing sheet (None or NaN) is one key."""
    from cies_pipeline.sources.common import SourceResult

    result = SourceResult(frames={
        "carpetas": pd.DataFrame({
            "archivo_origen": pd.Categorical(["a.xlsx"] * 5 + ["b.csv"] * 4),
            "hoja": ["Hoja1", "Hoja1", "Hoja1", "Hoja2", "Hoja2", None, float("nan"), None, None],
            "fila_origen": [5, 5, 6, 5, 7, 2, 2, 3, 4]}),
        "victimas": pd.DataFrame({"archivo_origen": ["a.xlsx", "a.xlsx"], "hoja": ["Hoja1", "Hoja1"],
                                  "fila_origen": [6, 8]}),
        "comite": pd.DataFrame({"archivo_origen": ["c.csv"], "fila_origen": [9]}),   # no sheet column
    })
    result.leidas = {("a.xlsx", "Hoja1"): 4, ("a.xlsx", "Hoja2"): 3, ("b.csv", None): 4, ("c.csv", None): 1}
    result.quarantine("a.xlsx", "Hoja1", 8, "victimas", "x", "no_numerico")
    result.exclude("a.xlsx", "Hoja2", 7, "total")
    result.exclude("a.xlsx", "Hoja2", 9, "total")
    result.exclude_many("b.csv", None, "delito_fuera_de_alcance", 1)
    table = result.contabilidad()
    records = [{**r, "hoja": None if pd.isna(r["hoja"]) else r["hoja"]} for r in table.to_dict("records")]
    assert records == [
        # Hoja1: rows 5, 6 loaded (6 in two frames), 8 loaded but quarantined
        {"archivo_origen": "a.xlsx", "hoja": "Hoja1", "leidas": 4, "cargadas": 2, "en_cuarentena": 1,
         "excluidas": 0},
        # Hoja2: row 5 loaded; 7 loaded but excluded, 9 excluded
        {"archivo_origen": "a.xlsx", "hoja": "Hoja2", "leidas": 3, "cargadas": 1, "en_cuarentena": 0,
         "excluidas": 2},
        # rows 2 (twice, once with a NaN sheet), 3 and 4; one more row excluded in bulk
        {"archivo_origen": "b.csv", "hoja": None, "leidas": 4, "cargadas": 3, "en_cuarentena": 0,
         "excluidas": 1},
        {"archivo_origen": "c.csv", "hoja": None, "leidas": 1, "cargadas": 1, "en_cuarentena": 0,
         "excluidas": 0},
    ]
