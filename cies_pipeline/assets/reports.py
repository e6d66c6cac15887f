"""Group `reports`: the static reconciliation site, the state feedback workbooks and the Data Docs, after each
publish.

The site and the workbooks read the published warehouse (cies_pipeline/reports/data.py), so they show exactly
what analysts can query; they run only when the publish succeeded (a failed blocking check leaves the previous
site in place).
"""

import time

import dagster as dg

from cies_pipeline.assets.common import CiesResource, preview
from cies_pipeline.quality.data_docs import page_url, site_dir
from cies_pipeline.quality.gx import build_data_docs, pending_docs
from cies_pipeline.reports import data as report_data
from cies_pipeline.reports.site import write_site
from cies_pipeline.reports.workbook import feedback_workbooks
from cies_pipeline.warehouse import schema
from cies_pipeline.warehouse.resource import WarehouseResource

GROUP = "reports"
# Published tables the reports read (the publish multi-asset materializes them together).
_READS = [dg.AssetKey(k) for k in (["warehouse", "reconciliacion"], ["warehouse", "reconciliacion_municipal"],
                                   ["warehouse", "cie_estatus"], ["warehouse", "cie_acuerdos"],
                                   ["warehouse", "cargas"], ["quality", "cuarentena"],
                                   ["quality", "etiquetas_sin_mapeo"], ["quality", "archivos_rechazados"],
                                   ["quality", "columnas_rechazadas"])]


@dg.asset(key=dg.AssetKey([GROUP, "data_docs"]), group_name=GROUP, kinds={"html"},
          deps=[dg.AssetKey(["warehouse", "cargas"])])
def data_docs(cies: CiesResource) -> dg.MaterializeResult:
    """Data Docs de Great Expectations: la página de cada validación de esta corrida y el índice.

    Each GX check links its page (`data_docs_url`). The pages of this run's validations are rendered here, in
    one build after the publish, rather than beside the publish's write: GX renders in Python, and DuckDB's scan
    of the DataFrames it writes needs the GIL too (together they took 3x the write alone). A suite that fails
    has its page rendered at once, where it fails, so a failed run still links to it."""
    started = time.perf_counter()
    nuevas = pending_docs(cies.gx_dir)
    build_data_docs(cies.gx_dir)
    index = site_dir(cies.gx_dir) / "index.html"
    meta = {"paginas_nuevas": nuevas, "segundos": round(time.perf_counter() - started, 2)}
    if index.is_file():
        meta["indice"] = dg.MetadataValue.path(str(index))
        url = page_url(index, cies.gx_dir)
        if url:
            meta["indice_url"] = dg.MetadataValue.url(url)
    return dg.MaterializeResult(metadata=meta)


def _contract() -> list:
    return [*schema.TABLES.values(), *getattr(schema, "VIEWS", {}).values()]


def _load(cies: CiesResource, warehouse: WarehouseResource) -> report_data.ReportData:
    return report_data.load_report_data(warehouse.get(), cies.today(), _contract())


@dg.asset(key=dg.AssetKey([GROUP, "retroalimentacion_estatal"]), group_name=GROUP, kinds={"excel"}, deps=_READS)
def retroalimentacion_estatal(cies: CiesResource, warehouse: WarehouseResource) -> dg.Output:
    """Un libro .xlsx por entidad para su enlace: discrepancias, filas por corregir, etiquetas, rechazos."""
    data = _load(cies, warehouse)
    books = feedback_workbooks(data)
    por_corregir = {cve: report_data.por_corregir(data, cve) for cve in data.entidades["cve_ent"]}
    con_pendientes = sum(1 for cve, fix in por_corregir.items()
                         if any(len(f) for f in fix.values()) or len(report_data.discrepancias(data, cve)))
    return dg.Output(books, metadata={
        "libros": len(books), "entidades_con_pendientes": con_pendientes,
        "carpeta": dg.MetadataValue.path(str(cies.root / "reporte" / "retroalimentacion"))})


@dg.asset(key=dg.AssetKey([GROUP, "reporte_conciliacion"]), group_name=GROUP, kinds={"html"},
          ins={"libros": dg.AssetIn(key=dg.AssetKey([GROUP, "retroalimentacion_estatal"]))}, deps=_READS)
def reporte_conciliacion(cies: CiesResource, warehouse: WarehouseResource, libros: dict) -> dg.Output:
    """Sitio HTML estático (sin internet): página nacional, una por entidad, gobernanza y diccionario."""
    data = _load(cies, warehouse)
    out = cies.root / "reporte"
    pages = write_site(data, out, extra=libros)
    resumen = report_data.resumen_nacional(data)
    meses = data.ventana
    return dg.Output(str(out), metadata={
        "indice": dg.MetadataValue.path(str(pages["index.html"])),
        "paginas": len(pages),
        "periodo": f"{meses[0]:%Y-%m} a {meses[-1]:%Y-%m}" if meses else "",
        "entidades_con_discrepancia": int((resumen["meses_con_discrepancia"] > 0).sum()),
        "entidades_sin_reporte": len(report_data.sin_reporte(data)),
        "resumen": preview(resumen.drop(columns=["cve_ent"]), limit=32)})


ASSETS = [retroalimentacion_estatal, reporte_conciliacion, data_docs]
