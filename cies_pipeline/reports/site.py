"""The static reconciliation site: plain HTML files with inline CSS and SVG, readable offline from disk.

    index.html             national page: CIE against SESNSP by state (last 12 closed months), heat map,
                           states that did not report, files no state could be attributed to
    estados/EE-nombre.html one page per state: time series, discrepancies, municipal table, what to fix
    gobernanza.html        the 2023 agreements: installed CIEs, sessions, agreements, SINTRA
    diccionario.html       every table and column of warehouse/schema.py (TABLES), described once there

The site is written into a fresh folder and swapped in, so a reader never sees half of two refreshes.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import unicodedata
from pathlib import Path

import pandas as pd

from cies_pipeline.reports import charts
from cies_pipeline.reports import data as d

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#2b3a4a;color:#fff;padding:.6em 1.2em}header a{color:#fff;margin-right:1.2em}
main{padding:1em 1.5em;max-width:1250px}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;background:#fff;margin:.4em 0}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
h3{font-size:1em}th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.discrepa{background:#f7d9d6}.sin_reporte_cie{background:#ececec}.ok{color:#2e7d4f}.mal{color:#b3261e}
.nota{color:#555;font-size:.85em}.estados a{display:inline-block;width:15em}
svg{max-width:100%;height:auto}
"""


def slug(text: str) -> str:
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def state_page_name(cve_ent: str, nombre: str) -> str:
    return f"{cve_ent}-{slug(nombre)}.html"


def _fmt(value) -> str:
    if value is None or (not isinstance(value, (list, dict, set)) and pd.isna(value)):
        return "—"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m") if value.day == 1 and value == value.normalize() else value.strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(frame: pd.DataFrame, columns: dict[str, str], row_class: str | None = None,
          links: dict[str, str] | None = None, empty: str = "Nada que reportar.") -> str:
    """An HTML table of `frame` with `columns` {column: header}; numbers right-aligned, blanks as '—'."""
    if not len(frame):
        return f'<p class="nota">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(h)}</th>" for h in columns.values())
    rows = []
    for i, record in enumerate(frame.to_dict("records")):
        cls = f' class="{html.escape(str(record[row_class]))}"' if row_class and record.get(row_class) else ""
        cells = []
        for column in columns:
            value = record.get(column)
            text = html.escape(_fmt(value))
            if links and column in links and pd.notna(value):
                text = f'<a href="{html.escape(links[column].format(**record))}">{text}</a>'
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool) and not pd.isna(value)
            cells.append(f'<td class="n">{text}</td>' if numeric else f"<td>{text}</td>")
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def page(title: str, body: str, depth: int = 0) -> str:
    up = "../" * depth
    nav = (f'<a href="{up}index.html">Nacional</a><a href="{up}gobernanza.html">Gobernanza</a>'
           f'<a href="{up}diccionario.html">Diccionario de datos</a><a href="{up}index.html#estados">Estados</a>')
    return (f'<!DOCTYPE html>\n<html lang="es"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
            f"<body><header><strong>CIES · conciliación de cifras de trata</strong> &nbsp; {nav}</header>"
            f"<main>{body}</main></body></html>\n")


def _periodo_txt(meses: list[pd.Timestamp]) -> str:
    return f"{charts.mes(meses[0])} a {charts.mes(meses[-1])}" if meses else "sin meses conciliados"


def _header_note(data: d.ReportData) -> str:
    corte = charts.mes(data.corte) if data.corte is not None else "—"
    return (f'<p class="nota">Generado desde el warehouse publicado (ejecución {html.escape(data.run_id or "—")}); '
            f"corte SESNSP: {corte}; fecha de evaluación: {data.hoy.isoformat()}.</p>")


def national_page(data: d.ReportData) -> str:
    meses = data.ventana
    resumen = d.resumen_nacional(data)
    resumen["pagina"] = [state_page_name(c, n) for c, n in zip(resumen["cve_ent"], resumen["nombre"])]
    resumen["clase"] = ["discrepa" if m else ("sin_reporte_cie" if s == len(meses) else "")
                        for m, s in zip(resumen["meses_con_discrepancia"], resumen["meses_sin_reporte_cie"])]
    status, label = d.matriz_estatus(data)
    names = dict(zip(data.entidades["cve_ent"], data.entidades["nombre_corto"]))
    faltan = d.sin_reporte(data)
    faltan["instalado"] = faltan["instalado"].map(
        lambda v: "sin información" if v is None or pd.isna(v) else ("sí" if v else "no"))
    sin_entidad = d.archivos_sin_entidad(data)
    discrepan = int((resumen["meses_con_discrepancia"] > 0).sum())
    body = [
        "<h1>Conciliación nacional: CIE contra SESNSP</h1>", _header_note(data),
        f"<p>Últimos 12 meses cerrados: <strong>{_periodo_txt(meses)}</strong>. "
        f"{discrepan} entidades con al menos un mes que no coincide; {len(faltan)} sin ningún reporte del CIE "
        "en el periodo. Cifras estatales de carpetas y de víctimas (totales por mes, como las publica el "
        "SESNSP).</p>",
        "<h2>Por entidad</h2>",
        '<p class="nota">Sumas de los meses en que ambas fuentes tienen cifra (así CIE − SESNSP = diferencia); '
        "los meses sin reporte del CIE se cuentan aparte.</p>",
        table(resumen, {"nombre": "Entidad", "carpetas_cie": "Carpetas CIE", "carpetas_sesnsp": "Carpetas SESNSP",
                        "carpetas_diferencia": "Diferencia", "victimas_cie": "Víctimas CIE",
                        "victimas_sesnsp": "Víctimas SESNSP", "victimas_diferencia": "Diferencia",
                        "meses_con_discrepancia": "Meses que no coinciden",
                        "meses_sin_reporte_cie": "Meses sin reporte CIE"},
              row_class="clase", links={"nombre": "estados/{pagina}"}),
        "<h2>Mapa de calor: entidad × mes</h2>",
        charts.heat_map(status, label, names) if meses else '<p class="nota">Sin meses conciliados.</p>',
        "<h2>Entidades que no reportaron</h2>",
        table(faltan, {"nombre": "Entidad", "instalado": "CIE instalado", "ultimo_reporte": "Último periodo reportado",
                       "carpetas_sesnsp": "Carpetas SESNSP en el periodo",
                       "victimas_sesnsp": "Víctimas SESNSP en el periodo"},
              empty="Todas las entidades reportaron al menos un mes."),
        "<h2>Archivos sin entidad identificada</h2>",
        table(sin_entidad, {"archivo_origen": "Archivo"}, empty="Todos los archivos se atribuyeron a una entidad."),
        '<h2 id="estados">Páginas por entidad</h2><p class="estados">',
        " ".join(f'<a href="estados/{p}">{html.escape(n)}</a>' for n, p in zip(resumen["nombre"], resumen["pagina"])),
        "</p>",
    ]
    return page("Conciliación nacional", "\n".join(body))


def state_page(data: d.ReportData, cve_ent: str) -> str:
    nombre = data.nombre(cve_ent)
    rec = data.reconciliacion[data.reconciliacion["cve_ent"] == cve_ent]
    est = data.cie_estatus[data.cie_estatus["cve_ent"] == cve_ent]
    inst = est["instalado"].iloc[0] if len(est) else None
    inst_txt = "sin información" if inst is None or pd.isna(inst) else ("instalado" if inst else "no instalado")
    ultimo = est["ultimo_reporte"].iloc[0] if len(est) else None
    fix = d.por_corregir(data, cve_ent)
    disc = d.discrepancias(data, cve_ent)
    faltan = d.meses_sin_reporte(data, cve_ent)
    workbook = f"../retroalimentacion/{cve_ent}_{slug(nombre)}.xlsx"
    body = [
        f"<h1>{html.escape(nombre)}</h1>", _header_note(data),
        f"<p>CIE: <strong>{inst_txt}</strong>; último periodo reportado: "
        f"{html.escape(_fmt(pd.Timestamp(ultimo) if ultimo is not None and pd.notna(ultimo) else None))}. "
        f'Retroalimentación para el enlace estatal: <a href="{workbook}">libro de Excel</a>.</p>',
        "<h2>CIE contra SESNSP, por mes</h2>",
        charts.time_series(rec, nombre) if len(rec) else '<p class="nota">Sin cifras conciliadas.</p>',
        "<h2>Meses que no coinciden</h2>",
        table(disc, {"periodo": "Periodo", "medida": "Medida", "valor_cie": "CIE", "valor_sesnsp": "SESNSP",
                     "diferencia": "Diferencia"}, empty="Todas las cifras comparables coinciden."),
        "<h2>Meses sin reporte del CIE</h2>",
        table(faltan, {"periodo": "Periodo", "medida": "Medida", "valor_sesnsp": "SESNSP"},
              empty="El CIE reportó todos los meses en que el SESNSP tiene cifra."),
        f"<h2>Carpetas por municipio ({_periodo_txt(data.ventana)})</h2>",
        '<p class="nota">Contra el archivo municipal del SESNSP. Las víctimas no se muestran por municipio: '
        "ese detalle sólo se publica con celdas pequeñas suprimidas.</p>",
        table(d.tabla_municipal(data, cve_ent),
              {"cvegeo": "CVEGEO", "municipio": "Municipio", "carpetas_cie": "CIE", "carpetas_sesnsp": "SESNSP",
               "diferencia": "Diferencia", "meses_con_discrepancia": "Meses que no coinciden"},
              empty="Sin carpetas municipales en el periodo."),
        "<h2>Qué debe corregir la entidad</h2>",
        "<h3>Filas en cuarentena (no se cargaron)</h3>",
        table(fix["cuarentena"], {"archivo_origen": "Archivo", "hoja": "Hoja", "fila_origen": "Fila",
                                  "columna": "Columna", "valor": "Valor", "motivo": "Motivo",
                                  "que_hacer": "Qué hacer"}, empty="Ninguna."),
        "<h3>Etiquetas no reconocidas (sí se cargaron)</h3>",
        table(fix["etiquetas"], {"archivo_origen": "Archivo", "columna": "Columna", "etiqueta": "Etiqueta",
                                 "filas": "Filas", "efecto": "Cómo se contó"}, empty="Ninguna."),
        "<h3>Archivos u hojas rechazados</h3>",
        table(fix["rechazados"], {"archivo_origen": "Archivo", "hoja": "Hoja", "motivo": "Motivo"}, empty="Ninguno."),
        "<h3>Columnas rechazadas (sus valores no se guardan)</h3>",
        table(fix["columnas_rechazadas"], {"archivo_origen": "Archivo", "hoja": "Hoja", "columna": "Columna",
                                           "motivo": "Motivo"}, empty="Ninguna."),
    ]
    return page(nombre, "\n".join(body), depth=1)


def governance_page(data: d.ReportData) -> str:
    gob, year = d.gobernanza(data)
    gob = gob.merge(data.entidades[["cve_ent", "nombre_corto"]], on="cve_ent", how="left")
    gob["instalado_txt"] = gob["instalado"].map(
        lambda v: "sin información" if v is None or pd.isna(v) else ("sí" if v else "no"))
    for column in ("fecha_instalacion", "fecha_ultima_sesion", "fecha_primera_carga_sintra"):
        gob[column] = gob[column].map(lambda v: None if v is None or pd.isna(v) else str(v)[:10])
    gob["pct"] = gob["pct_cumplidos"].map(lambda v: None if pd.isna(v) else f"{v:.1f} %")
    n_inst = int((gob["instalado_txt"] == "sí").sum())
    n_no = int((gob["instalado_txt"] == "no").sum())
    n_na = int((gob["instalado_txt"] == "sin información").sum())
    total = int(pd.to_numeric(gob["acuerdos_total"]).fillna(0).sum())
    cumplidos = int(pd.to_numeric(gob["acuerdos_cumplidos"]).fillna(0).sum())
    carga = int(gob["fecha_primera_carga_sintra"].notna().sum())
    body = [
        "<h1>Gobernanza: seguimiento de los acuerdos de 2023</h1>", _header_note(data),
        f"<p>CIE instalados: <strong>{n_inst}</strong>; no instalados: <strong>{n_no}</strong>; sin información: "
        f"<strong>{n_na}</strong>. Acuerdos vigentes (sin cancelados): {total}, cumplidos {cumplidos}"
        f"{f' ({100 * cumplidos / total:.1f} %)' if total else ''}. Entidades con primera carga en SINTRA: "
        f"{carga} de 32.</p>",
        charts.fulfilment_bars(gob),
        "<h2>Por entidad</h2>",
        f'<p class="nota">Sesiones con acuerdos en {year}: fechas de sesión distintas de los acuerdos reportados '
        "en ese año (el año del último mes del periodo del informe). % cumplido = cumplidos / vigentes.</p>",
        table(gob, {"nombre": "Entidad", "instalado_txt": "CIE instalado", "fecha_instalacion": "Instalación",
                    "sesiones_ordinarias": "Sesiones ordinarias", "sesiones_extraordinarias": "Extraordinarias",
                    "fecha_ultima_sesion": "Última sesión", f"sesiones_con_acuerdos_{year}": f"Sesiones {year}",
                    "acuerdos_cumplido": "Cumplidos", "acuerdos_en_proceso": "En proceso",
                    "acuerdos_pendiente": "Pendientes", "acuerdos_cancelado": "Cancelados",
                    "pct": "% cumplido", "usuarios_sintra_asignados": "SINTRA asignados",
                    "usuarios_sintra_capacitados": "SINTRA capacitados",
                    "fecha_primera_carga_sintra": "Primera carga SINTRA"}),
    ]
    return page("Gobernanza de los CIE", "\n".join(body))


def dictionary_page(tablas: list) -> str:
    """Every table and view of the contract (schema.TABLES and schema.VIEWS: warehouse, quality, publicado)."""
    body = ["<h1>Diccionario de datos</h1>",
            '<p class="nota">Generado desde <code>cies_pipeline/warehouse/schema.py</code>: la misma fuente de la '
            "DDL, de los esquemas de columnas que muestra Dagster y de docs/data_dictionary.md.</p><ul>"]
    body += [f'<li><a href="#{html.escape(t.qualified)}">{html.escape(t.qualified)}</a></li>' for t in tablas]
    body.append("</ul>")
    for t in tablas:
        cols = pd.DataFrame([{"columna": c.name, "tipo": c.type, "descripcion": c.description} for c in t.columns])
        vista = " (vista)" if hasattr(t, "sql") else ""
        lee = f" Lee: {', '.join(t.sources)}." if hasattr(t, "sources") else ""
        body += [f'<h2 id="{html.escape(t.qualified)}"><code>{html.escape(t.qualified)}</code>{vista}</h2>',
                 f"<p>{html.escape(t.description + lee)}</p>",
                 table(cols, {"columna": "Columna", "tipo": "Tipo", "descripcion": "Descripción"})]
    return page("Diccionario de datos", "\n".join(body))


def write_site(data: d.ReportData, out_dir: Path, extra: dict[str, bytes] | None = None) -> dict[str, Path]:
    """Write every page into `out_dir` (replaced as a whole). `extra` adds files (relative path -> bytes),
    e.g. the state workbooks, so they are swapped in together. Returns {name: path} of the pages."""
    out_dir = Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".nuevo")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "estados").mkdir(parents=True)
    pages = {"index.html": national_page(data), "gobernanza.html": governance_page(data),
             "diccionario.html": dictionary_page(data.tablas)}
    for cve, nombre in zip(data.entidades["cve_ent"], data.entidades["nombre"]):
        pages[f"estados/{state_page_name(cve, nombre)}"] = state_page(data, cve)
    for name, text in pages.items():
        (staging / name).write_text(text, encoding="utf-8")
    for name, content in (extra or {}).items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(content)
    old = out_dir.with_name(out_dir.name + ".anterior")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return {name: out_dir / name for name in pages}
