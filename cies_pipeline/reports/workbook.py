"""Feedback to state liaisons: one .xlsx per state, in Spanish, ready to send.

Sheets: Resumen (what to do, in numbers), Discrepancias (months where the state's figure differs from what
it reported to SESNSP), Meses sin reporte, Filas por corregir (file/sheet/row/column/value/motivo and what
to do), Etiquetas sin mapeo, Archivos rechazados, Columnas rechazadas. Figures are state-month totals and
quality records only: never victims below state level.
"""
from __future__ import annotations

import io

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cies_pipeline.reports import data as d

HEADER_FILL = PatternFill("solid", fgColor="DDE3EA")
BOLD = Font(bold=True)

SHEETS: dict[str, dict[str, str]] = {
    "Discrepancias": {"periodo": "Periodo", "medida": "Medida", "valor_cie": "Cifra CIE",
                      "valor_sesnsp": "Cifra SESNSP", "diferencia": "Diferencia (CIE − SESNSP)"},
    "Meses sin reporte": {"periodo": "Periodo", "medida": "Medida", "valor_sesnsp": "Cifra SESNSP"},
    "Filas por corregir": {"archivo_origen": "Archivo", "hoja": "Hoja", "fila_origen": "Fila",
                           "columna": "Columna", "valor": "Valor", "motivo": "Motivo", "que_hacer": "Qué hacer"},
    "Etiquetas sin mapeo": {"archivo_origen": "Archivo", "columna": "Columna", "etiqueta": "Etiqueta",
                            "filas": "Filas", "efecto": "Cómo se contó mientras tanto"},
    "Archivos rechazados": {"archivo_origen": "Archivo", "hoja": "Hoja", "motivo": "Motivo"},
    "Columnas rechazadas": {"archivo_origen": "Archivo", "hoja": "Hoja", "columna": "Columna",
                            "motivo": "Motivo (sus valores no se guardaron)"},
}
MEDIDA = {"carpetas": "Carpetas de investigación", "victimas": "Víctimas"}


def _value(value):
    if value is None or (not isinstance(value, (list, dict)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m")
    if hasattr(value, "item"):  # numpy scalar -> Python
        return value.item()
    return value


def _sheet(wb: Workbook, title: str, frame: pd.DataFrame, columns: dict[str, str], empty: str) -> None:
    ws = wb.create_sheet(title)
    ws.append(list(columns.values()))
    for cell in ws[1]:
        cell.font, cell.fill = BOLD, HEADER_FILL
    frame = frame.copy()
    if "medida" in frame:
        frame["medida"] = frame["medida"].map(lambda m: MEDIDA.get(m, m))
    for record in frame.to_dict("records"):
        ws.append([_value(record.get(c)) for c in columns])
    if not len(frame):
        ws.append([empty])
    ws.freeze_panes = "A2"
    for i, header in enumerate(columns.values(), start=1):
        width = max([len(str(header))] + [len(str(_value(v) or "")) for v in frame.get(list(columns)[i - 1], [])])
        ws.column_dimensions[get_column_letter(i)].width = min(max(10, width + 2), 70)


def feedback_frames(data: d.ReportData, cve_ent: str) -> dict[str, pd.DataFrame]:
    fix = d.por_corregir(data, cve_ent)
    return {"Discrepancias": d.discrepancias(data, cve_ent), "Meses sin reporte": d.meses_sin_reporte(data, cve_ent),
            "Filas por corregir": fix["cuarentena"], "Etiquetas sin mapeo": fix["etiquetas"],
            "Archivos rechazados": fix["rechazados"], "Columnas rechazadas": fix["columnas_rechazadas"]}


def feedback_workbook(data: d.ReportData, cve_ent: str) -> bytes:
    """The state's feedback workbook as .xlsx bytes."""
    frames = feedback_frames(data, cve_ent)
    wb = Workbook()
    ws = wb.active
    ws.title = "Resumen"
    corte = data.corte.strftime("%Y-%m") if data.corte is not None else "—"
    ws.append([f"Retroalimentación al CIE de {data.nombre(cve_ent)}"])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"Comparación de lo reportado a la Comisión Intersecretarial con lo reportado al SESNSP "
               f"(corte SESNSP {corte}; evaluado el {data.hoy.isoformat()})."])
    ws.append([])
    ws.append(["Hoja", "Registros", "Qué hacer"])
    for cell in ws[4]:
        cell.font, cell.fill = BOLD, HEADER_FILL
    acciones = {
        "Discrepancias": "Revisar con la fiscalía estatal: la cifra enviada al CIE debe ser la misma que la del "
                         "SESNSP. Enviar el reporte corregido.",
        "Meses sin reporte": "Enviar las cifras de esos meses (0 si no hubo casos: una celda vacía es 'no "
                             "reportado').",
        "Filas por corregir": "Corregir cada celda indicada (archivo, hoja, fila, columna) y reenviar el archivo.",
        "Etiquetas sin mapeo": "Usar las categorías de la plantilla, o confirmar con la Secretaría Técnica a qué "
                               "categoría corresponde la etiqueta.",
        "Archivos rechazados": "Reenviar el archivo como libro de Excel (.xlsx) o CSV con la plantilla.",
        "Columnas rechazadas": "No enviar datos personales (nombres, CURP, domicilios, teléfonos, correos).",
    }
    for name, frame in frames.items():
        ws.append([name, len(frame), acciones[name]])
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 11
    ws.column_dimensions["C"].width = 110
    for row in ws.iter_rows(min_row=5):
        row[2].alignment = Alignment(wrap_text=True)
    for name, frame in frames.items():
        _sheet(wb, name, frame, SHEETS[name], "Nada que corregir.")
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def feedback_workbooks(data: d.ReportData) -> dict[str, bytes]:
    """{'retroalimentacion/EE_nombre.xlsx': bytes} for all 32 states (a state that sent nothing is told so)."""
    from cies_pipeline.reports.site import slug

    return {f"retroalimentacion/{cve}_{slug(nombre)}.xlsx": feedback_workbook(data, cve)
            for cve, nombre in zip(data.entidades["cve_ent"], data.entidades["nombre"])}
