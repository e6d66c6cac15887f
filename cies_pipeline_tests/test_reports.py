"""Reports on literal warehouse contents: figures computed by hand, pages and workbooks as a reader sees them."""
from __future__ import annotations

import io
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from cies_pipeline.reports import data as d
from cies_pipeline.reports import site, workbook
from cies_pipeline.warehouse.schema import TABLES

T = pd.Timestamp


def _rec(rows):
    frame = pd.DataFrame(rows, columns=["periodo", "cve_ent", "medida", "valor_cie", "valor_sesnsp", "estatus"])
    frame["periodo"] = pd.to_datetime(frame["periodo"])
    for c in ("valor_cie", "valor_sesnsp"):
        frame[c] = frame[c].astype("Int64")
    frame["diferencia"] = frame["valor_cie"] - frame["valor_sesnsp"]
    return frame


@pytest.fixture
def data() -> d.ReportData:
    entidades = pd.DataFrame({"cve_ent": ["01", "11", "12"], "nombre": ["Aguascalientes", "Guanajuato", "Guerrero"],
                              "nombre_corto": ["Aguascalientes", "Guanajuato", "Guerrero"]})
    rec = _rec([
        ("2025-01-01", "01", "carpetas", 2, 2, "coincide"), ("2025-02-01", "01", "carpetas", 3, 3, "coincide"),
        ("2025-03-01", "01", "carpetas", None, 1, "sin_reporte_cie"),
        ("2025-01-01", "01", "victimas", 4, 4, "coincide"),
        ("2025-01-01", "11", "carpetas", 6, 4, "discrepa"), ("2025-01-01", "11", "victimas", 5, 6, "discrepa"),
        ("2025-02-01", "11", "carpetas", 1, 1, "coincide"),
        ("2025-04-01", "11", "carpetas", 9, 1, "discrepa"),  # the current month: outside the window
        ("2025-02-01", "12", "carpetas", None, 7, "sin_reporte_cie"),
        ("2025-03-01", "12", "victimas", None, 2, "sin_reporte_cie"),
    ])
    municipal = pd.DataFrame({
        "periodo": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-01"]), "cve_ent": ["11"] * 3,
        "cvegeo": ["11020", "11998", "11020"], "municipio": ["León", "No especificado", "León"],
        "valor_cie": pd.array([5, 1, 1], dtype="Int64"), "valor_sesnsp": pd.array([3, 1, 1], dtype="Int64"),
        "diferencia": pd.array([2, 0, 0], dtype="Int64"), "estatus": ["discrepa", "coincide", "coincide"]})
    estatus = pd.DataFrame({"cve_ent": ["01", "11", "12"], "instalado": [True, False, None],
                            "ultimo_reporte": [T("2025-02-01"), T("2025-02-01"), None],
                            "acuerdos_total": [3, 0, None], "acuerdos_cumplidos": [2, 0, None],
                            "fecha_instalacion": ["2020-01-01", None, None], "sesiones_ordinarias": [2, 0, None],
                            "sesiones_extraordinarias": [1, 0, None], "fecha_ultima_sesion": ["2025-02-03", None, None],
                            "usuarios_sintra_asignados": [4, 0, None], "usuarios_sintra_capacitados": [3, 0, None],
                            "fecha_primera_carga_sintra": ["2024-05-06", None, None]})
    acuerdos = pd.DataFrame({"cve_ent": ["01", "01", "01", "01"], "id_acuerdo": ["A1", "A2", "A3", "A4"],
                             "fecha_sesion": ["2025-02-03", "2025-02-03", "2024-11-05", "2025-01-10"],
                             "responsable": ["x"] * 4, "estatus": ["Cumplido", "Cumplido", "Pendiente", "Cancelado"],
                             "fecha_compromiso": [None] * 4, "archivo_origen": ["ags.xlsx"] * 4})
    cuarentena = pd.DataFrame([{"archivo_origen": "gto_carpetas.csv", "hoja": "carpetas", "fila_origen": 7,
                                "columna": "Número de carpetas (D)", "valor": "doce", "motivo": "conteo_no_numerico"}])
    etiquetas = pd.DataFrame([{"archivo_origen": "gto_victimas.csv", "columna": "sexo", "etiqueta": "Se reserva",
                               "filas": 1}])
    rechazados = pd.DataFrame([{"archivo_origen": "CIE_Guerrero_2025.xlsx", "hoja": None, "motivo": "página HTML"},
                               {"archivo_origen": "sin_nombre.xlsx", "hoja": None, "motivo": "no es un libro"}])
    columnas = pd.DataFrame([{"archivo_origen": "ags.xlsx", "hoja": "Víctimas", "columna": "CURP",
                              "motivo": "dato_personal"}])
    known = pd.DataFrame({"archivo_origen": ["gto_carpetas.csv", "ags.xlsx"], "cve_ent": ["11", "01"]})
    files = pd.concat([cuarentena["archivo_origen"], etiquetas["archivo_origen"], rechazados["archivo_origen"],
                       columnas["archivo_origen"]])
    return d.ReportData(entidades=entidades, reconciliacion=rec, municipal=municipal, cie_estatus=estatus,
                        cie_acuerdos=acuerdos, cuarentena=cuarentena, etiquetas=etiquetas, rechazados=rechazados,
                        columnas_rechazadas=columnas, archivos_entidad=d.attribute_files(files, known),
                        hoy=date(2025, 4, 15), corte=T("2025-04-01"), run_id="r1", tablas=list(TABLES.values()))


def test_window_is_the_last_twelve_closed_months():
    meses = d.ventana(pd.Series(pd.to_datetime(["2024-01-01", "2025-04-01"])), date(2025, 4, 15))
    assert meses[0] == T("2024-04-01") and meses[-1] == T("2025-03-01") and len(meses) == 12
    # SESNSP's last month earlier than last month: the window ends there
    assert d.ventana(pd.Series([T("2025-12-01")]), date(2026, 11, 28))[-1] == T("2025-12-01")
    assert d.ventana(pd.Series([], dtype="datetime64[ns]"), date(2025, 4, 15)) == []


def test_files_are_attributed_by_content_then_csv_set_then_name(data):
    a = data.archivos_entidad.set_index("archivo_origen")
    assert a.loc["gto_carpetas.csv"].tolist() == ["11", "contenido"]
    assert a.loc["gto_victimas.csv"].tolist() == ["11", "juego_csv"]     # same stem 'gto' as gto_carpetas.csv
    assert a.loc["CIE_Guerrero_2025.xlsx"].tolist() == ["12", "nombre_archivo"]
    assert pd.isna(a.loc["sin_nombre.xlsx", "cve_ent"])
    assert d.state_from_file_name("Baja California Sur 2025.xlsx") == "03"
    assert d.state_from_file_name("CIE_2025.xlsx") is None
    assert d.state_from_file_name("reporte_SLP.xlsx") == "24"
    assert list(d.archivos_sin_entidad(data)["archivo_origen"]) == ["sin_nombre.xlsx"]


def test_national_summary_sums_comparable_months(data):
    r = d.resumen_nacional(data).set_index("cve_ent")
    # Aguascalientes: carpetas 2+3 on both sides (March has no CIE figure: counted apart)
    assert r.loc["01", ["carpetas_cie", "carpetas_sesnsp", "carpetas_diferencia"]].tolist() == [5, 5, 0]
    assert r.loc["01", ["victimas_cie", "victimas_sesnsp"]].tolist() == [4, 4]
    assert r.loc["01", "meses_sin_reporte_cie"] == 1
    # Guanajuato: January 6 vs 4 and February 1 vs 1; April is the current month, not in the window
    assert r.loc["11", ["carpetas_cie", "carpetas_sesnsp", "carpetas_diferencia"]].tolist() == [7, 5, 2]
    assert r.loc["11", "victimas_diferencia"] == -1
    assert r.loc["11", "meses_con_discrepancia"] == 1
    assert pd.isna(r.loc["12", "carpetas_cie"]) and r.loc["12", "meses_sin_reporte_cie"] == 2


def test_status_matrix_takes_the_worst_measure_and_spells_differences(data):
    status, label = d.matriz_estatus(data)
    assert status.loc["11", T("2025-01-01")] == "discrepa"
    assert label.loc["11", T("2025-01-01")] == "C+2 V-1"
    assert status.loc["01", T("2025-01-01")] == "coincide"
    assert status.loc["01", T("2025-03-01")] == "sin_reporte_cie"
    assert pd.isna(status.loc["12", T("2025-01-01")])
    assert T("2025-04-01") not in status.columns


def test_states_without_report_and_their_committee(data):
    faltan = d.sin_reporte(data)
    assert list(faltan["cve_ent"]) == ["12"]
    assert faltan.loc[0, ["carpetas_sesnsp", "victimas_sesnsp"]].tolist() == [7, 2]


def test_municipal_table_is_carpetas_over_the_window(data):
    m = d.tabla_municipal(data, "11").set_index("cvegeo")
    assert m.loc["11020", ["carpetas_cie", "carpetas_sesnsp", "diferencia", "meses_con_discrepancia"]].tolist() \
        == [6, 4, 2, 1]
    assert m.loc["11998", "municipio"] == "No especificado"


def test_what_to_fix_goes_to_the_right_state(data):
    gto = d.por_corregir(data, "11")
    assert gto["cuarentena"][["fila_origen", "columna", "valor"]].values.tolist() == \
        [[7, "Número de carpetas (D)", "doce"]]
    assert gto["cuarentena"].loc[0, "que_hacer"].startswith("El conteo no es un número")
    assert list(gto["etiquetas"]["etiqueta"]) == ["Se reserva"]
    assert list(d.por_corregir(data, "12")["rechazados"]["archivo_origen"]) == ["CIE_Guerrero_2025.xlsx"]
    assert list(d.por_corregir(data, "01")["columnas_rechazadas"]["columna"]) == ["CURP"]


def test_governance_counts_agreements_and_sessions_of_the_year(data):
    gob, year = d.gobernanza(data)
    assert year == 2025
    ags = gob.set_index("cve_ent").loc["01"]
    assert [ags["acuerdos_cumplido"], ags["acuerdos_pendiente"], ags["acuerdos_cancelado"]] == [2, 1, 1]
    assert ags["sesiones_con_acuerdos_2025"] == 2          # 2025-02-03 and 2025-01-10
    assert ags["pct_cumplidos"] == pytest.approx(66.7)      # 2 of 3 in force
    assert pd.isna(gob.set_index("cve_ent").loc["11", "pct_cumplidos"])  # 0 agreements: no percentage


def test_site_pages_offline_escaped_and_complete(data, tmp_path):
    pages = site.write_site(data, tmp_path / "reporte", extra={"retroalimentacion/x.xlsx": b"x"})
    assert set(pages) == {"index.html", "gobernanza.html", "diccionario.html", "estados/01-aguascalientes.html",
                          "estados/11-guanajuato.html", "estados/12-guerrero.html"}
    assert (tmp_path / "reporte" / "retroalimentacion" / "x.xlsx").read_bytes() == b"x"
    index = pages["index.html"].read_text()
    assert "<svg" in index and "C+2 V-1" in index
    assert 'href="estados/11-guanajuato.html"' in index
    for path in pages.values():  # works offline: nothing is fetched from elsewhere
        text = path.read_text()
        assert "<script" not in text and 'src="http' not in text and "<link" not in text
    gto = pages["estados/11-guanajuato.html"].read_text()
    assert "Número de carpetas (D)" in gto and "doce" in gto and "León" in gto
    dictionary = pages["diccionario.html"].read_text()
    assert all(f'id="{name}"' in dictionary for name in TABLES)
    # rewriting replaces the folder as a whole: a stale file disappears
    (tmp_path / "reporte" / "viejo.html").write_text("x")
    site.write_site(data, tmp_path / "reporte")
    assert not (tmp_path / "reporte" / "viejo.html").exists()
    assert site.table(pd.DataFrame({"a": ["<b>"]}), {"a": "A"}) == \
        "<table><thead><tr><th>A</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table>"


def test_feedback_workbook_in_spanish_with_rows_to_fix(data):
    books = workbook.feedback_workbooks(data)
    assert sorted(books) == ["retroalimentacion/01_aguascalientes.xlsx", "retroalimentacion/11_guanajuato.xlsx",
                             "retroalimentacion/12_guerrero.xlsx"]
    wb = load_workbook(io.BytesIO(books["retroalimentacion/11_guanajuato.xlsx"]))
    assert wb.sheetnames == ["Resumen", *workbook.SHEETS]
    assert wb["Resumen"]["A1"].value == "Retroalimentación al CIE de Guanajuato"
    disc = [list(r) for r in wb["Discrepancias"].iter_rows(values_only=True)]
    assert disc[0] == ["Periodo", "Medida", "Cifra CIE", "Cifra SESNSP", "Diferencia (CIE − SESNSP)"]
    assert disc[1:] == [["2025-01", "Carpetas de investigación", 6, 4, 2], ["2025-01", "Víctimas", 5, 6, -1],
                        ["2025-04", "Carpetas de investigación", 9, 1, 8]]
    fix = [list(r) for r in wb["Filas por corregir"].iter_rows(values_only=True)]
    assert fix[1][:6] == ["gto_carpetas.csv", "carpetas", 7, "Número de carpetas (D)", "doce", "conteo_no_numerico"]
    empty = [list(r) for r in wb["Archivos rechazados"].iter_rows(values_only=True)]
    assert empty[1] == ["Nada que corregir.", None, None]
