"""The figures of the reports, read from the published warehouse and shaped for pages and workbooks.

Everything here comes from warehouse tables after publish, so a report never shows a figure the warehouse
does not hold. Victims are read only as state-month totals (`warehouse.reconciliacion`), which SESNSP itself
publishes; municipal detail is carpetas only. Finer victim counts (municipality with sex, age or form) are
published only through the suppressed `publicado` views (domain.md section 7), and these reports do not
show them at all. The only read of `fact_*` tables is which file belongs to which state (no counts).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from cies_pipeline.harmonize.crosswalks import resolve_entidad

MEDIDAS = ("carpetas", "victimas")
# Worst status first: a state-month shows the most urgent of its two measures.
STATUS_ORDER = ("discrepa", "sin_reporte_cie", "sin_dato_sesnsp", "coincide")

# What a state liaison should do about each quarantine reason (quality.cuarentena.motivo).
MOTIVOS = {
    "conteo_no_numerico": "El conteo no es un número: escriba la cifra con dígitos (0 si no hubo casos).",
    "conteo_negativo": "El conteo es negativo: corrija la cifra.",
    "periodo_futuro": "El periodo es el mes en curso o uno futuro: corrija el mes y el año.",
    "periodo_incompleto": "Falta el mes o el periodo está vacío: escriba mes y año (p. ej. 2025-03).",
    "periodo_invalido": "El periodo no es una fecha válida: use AAAA-MM (p. ej. 2025-03).",
    "entidad_desconocida": "La entidad no se reconoce: use el nombre oficial o la clave INEGI.",
    "municipio_invalido": "La clave de municipio no es válida: use la clave INEGI de 3 o 5 dígitos.",
    "cvegeo_de_otra_entidad": "La clave del municipio pertenece a otra entidad: revise la clave.",
    "formula_sin_valor": "La celda tiene una fórmula sin valor guardado: guarde el libro con los valores "
                         "calculados o escriba la cifra.",
    "clave_duplicada": "La misma clave aparece dos veces: deje una sola fila.",
}
ETIQUETAS = {
    "municipio": "Municipio que no está en el catálogo de INEGI de la entidad (se contó como no especificado)",
    "forma_explotacion": "Forma de explotación que no corresponde al art. 10 (se contó como SIN_CLASIFICAR)",
    "sexo": "Sexo no reconocido (se contó como No identificado)",
    "grupo_edad": "Edad no reconocida (se contó como No especificado)",
    "nacionalidad": "Nacionalidad no reconocida (se contó como No especificada)",
}


def motivo_texto(motivo: str) -> str:
    return MOTIVOS.get(motivo, motivo)


@dataclass
class ReportData:
    """What the reports show. Frames are as read from the warehouse, with `periodo` as Timestamps."""

    entidades: pd.DataFrame            # cve_ent, nombre, nombre_corto
    reconciliacion: pd.DataFrame       # warehouse.reconciliacion
    municipal: pd.DataFrame            # warehouse.reconciliacion_municipal, carpetas only, + municipio name
    cie_estatus: pd.DataFrame
    cie_acuerdos: pd.DataFrame
    cuarentena: pd.DataFrame
    etiquetas: pd.DataFrame
    rechazados: pd.DataFrame
    columnas_rechazadas: pd.DataFrame
    archivos_entidad: pd.DataFrame     # archivo_origen -> cve_ent (how the file was attributed)
    hoy: date
    corte: pd.Timestamp | None = None  # SESNSP release month of the data
    run_id: str | None = None
    tablas: list = field(default_factory=list)  # schema.TABLES values, for the data dictionary

    @property
    def ventana(self) -> list[pd.Timestamp]:
        return ventana(self.reconciliacion["periodo"], self.hoy)

    def nombre(self, cve_ent: str) -> str:
        row = self.entidades[self.entidades["cve_ent"] == cve_ent]
        return str(row["nombre"].iloc[0]) if len(row) else cve_ent


def _periodo(frame: pd.DataFrame, column: str = "periodo") -> pd.DataFrame:
    if column in frame:
        frame[column] = pd.to_datetime(frame[column])
    return frame


def load_report_data(wh, hoy: date, tablas: list | None = None) -> ReportData:
    """Read what the reports need from a `Warehouse` (after publish)."""
    q = wh.query
    entidades = q("SELECT cve_ent, nombre, nombre_corto FROM warehouse.dim_entidad ORDER BY cve_ent")
    rec = _periodo(q("SELECT periodo, cve_ent, medida, valor_cie, valor_sesnsp, diferencia, estatus "
                     "FROM warehouse.reconciliacion ORDER BY cve_ent, medida, periodo"))
    mun = _periodo(q(
        "SELECT r.periodo, r.cve_ent, r.cvegeo, m.nombre AS municipio, r.valor_cie, r.valor_sesnsp, "
        "r.diferencia, r.estatus FROM warehouse.reconciliacion_municipal r "
        "LEFT JOIN warehouse.dim_municipio m ON m.cvegeo = r.cvegeo "
        "WHERE r.medida = 'carpetas' ORDER BY r.cve_ent, r.cvegeo, r.periodo"))
    estatus = q("SELECT * FROM warehouse.cie_estatus ORDER BY cve_ent")
    acuerdos = q("SELECT cve_ent, id_acuerdo, fecha_sesion, responsable, estatus, fecha_compromiso, "
                 "archivo_origen FROM warehouse.cie_acuerdos ORDER BY cve_ent, id_acuerdo")
    cuarentena = q("SELECT archivo_origen, hoja, fila_origen, columna, valor, motivo FROM quality.cuarentena "
                   "ORDER BY archivo_origen, hoja, fila_origen, columna")
    etiquetas = q("SELECT archivo_origen, columna, etiqueta, filas FROM quality.etiquetas_sin_mapeo "
                  "ORDER BY archivo_origen, columna, etiqueta")
    rechazados = q("SELECT archivo_origen, hoja, motivo FROM quality.archivos_rechazados "
                   "ORDER BY archivo_origen, hoja")
    columnas = q("SELECT archivo_origen, hoja, columna, motivo FROM quality.columnas_rechazadas "
                 "ORDER BY archivo_origen, hoja, columna")
    # Which state each CIE file belongs to, as the readers decided it (no figures are read here).
    known = q("SELECT DISTINCT archivo_origen, cve_ent FROM warehouse.fact_carpetas_trata WHERE fuente = 'CIE' "
              "UNION SELECT DISTINCT archivo_origen, cve_ent FROM warehouse.fact_victimas_trata WHERE fuente = 'CIE' "
              "UNION SELECT DISTINCT archivo_origen, cve_ent FROM warehouse.cie_estatus "
              "WHERE archivo_origen IS NOT NULL "
              "UNION SELECT DISTINCT archivo_origen, cve_ent FROM warehouse.cie_acuerdos")
    cargas = q("SELECT run_id, corte FROM warehouse.cargas ORDER BY terminado DESC LIMIT 1")
    files = pd.concat([cuarentena["archivo_origen"], etiquetas["archivo_origen"], rechazados["archivo_origen"],
                       columnas["archivo_origen"]], ignore_index=True)
    return ReportData(
        entidades=entidades, reconciliacion=rec, municipal=mun, cie_estatus=estatus, cie_acuerdos=acuerdos,
        cuarentena=cuarentena, etiquetas=etiquetas, rechazados=rechazados, columnas_rechazadas=columnas,
        archivos_entidad=attribute_files(files, known), hoy=hoy,
        corte=pd.Timestamp(cargas["corte"].iloc[0]) if len(cargas) and pd.notna(cargas["corte"].iloc[0]) else None,
        run_id=str(cargas["run_id"].iloc[0]) if len(cargas) else None, tablas=list(tablas or []))


# -- pure shaping -----------------------------------------------------------------------------------
def ventana(periodos: pd.Series, hoy: date, meses: int = 12) -> list[pd.Timestamp]:
    """The last `meses` closed months that the reconciliation covers: ending at the last reconciled month,
    or at the month before `hoy` if that is earlier (the current month is never closed)."""
    if not len(periodos):
        return []
    ultimo_cerrado = pd.Timestamp(hoy).to_period("M").to_timestamp() - pd.DateOffset(months=1)
    end = min(pd.Timestamp(pd.to_datetime(periodos).max()), ultimo_cerrado)
    return list(pd.date_range(end=end, periods=meses, freq="MS"))


_CSV_KIND = re.compile(r"_(carpetas|victimas|víctimas|comite|comité|acuerdos)$", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-zÁÉÍÓÚÑáéíóúñ.]+")


def _stem(archivo: str) -> str:
    name = archivo.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return _CSV_KIND.sub("", name)


def state_from_file_name(archivo: str) -> str | None:
    """A state written in a file name ('CIE_Guerrero_2025.xlsx' -> '12'), or None. Used only to route an
    unreadable file to its state's feedback: its figures, if any, never depend on the name."""
    words = _TOKEN.findall(_stem(archivo).replace("_", " ").replace("-", " "))
    found = set()
    for size in (3, 2, 1):  # longest names first: 'Baja California Sur' before 'Baja California'
        for i in range(len(words) - size + 1):
            phrase = " ".join(words[i:i + size])
            # Short words only as upper-case abbreviations (BCS, NL, SLP): 'sin' is not Sinaloa.
            cve = resolve_entidad(phrase) if len(phrase) >= 4 or phrase.isupper() else None
            if cve:
                found.add(cve)
        if found:
            break
    return found.pop() if len(found) == 1 else None


def attribute_files(archivos: pd.Series, known: pd.DataFrame) -> pd.DataFrame:
    """archivo_origen -> (cve_ent, regla) for every file named in the quality tables.

    Rules, in order: the state its loaded rows carry ('contenido'); the state of a CSV of the same set
    (`<stem>_carpetas.csv` … share a stem: 'juego_csv'); a state named in the file name ('nombre_archivo').
    A file none of these places is listed on the national page under 'sin entidad'.
    """
    known = known.dropna(subset=["archivo_origen", "cve_ent"]).drop_duplicates("archivo_origen")
    by_file = dict(zip(known["archivo_origen"], known["cve_ent"]))
    by_stem: dict[str, set[str]] = {}
    for archivo, cve in by_file.items():
        by_stem.setdefault(_stem(archivo), set()).add(cve)
    rows = []
    for archivo in sorted(set(archivos.dropna()) | set(by_file)):
        if archivo in by_file:
            rows.append((archivo, by_file[archivo], "contenido"))
        elif len(by_stem.get(_stem(archivo), ())) == 1:
            rows.append((archivo, next(iter(by_stem[_stem(archivo)])), "juego_csv"))
        else:
            rows.append((archivo, state_from_file_name(archivo), "nombre_archivo"))
    return pd.DataFrame(rows, columns=["archivo_origen", "cve_ent", "regla"])


def resumen_nacional(data: ReportData) -> pd.DataFrame:
    """One row per state (32): both measures summed over the window's comparable months (both sides have a
    figure, so CIE - SESNSP = diferencia, the warehouse's own column), months in discrepancy, and months
    where SESNSP has a figure and the state sent none."""
    meses = data.ventana
    rec = data.reconciliacion[data.reconciliacion["periodo"].isin(meses)]
    out = data.entidades[["cve_ent", "nombre"]].copy()
    for medida in MEDIDAS:
        sub = rec[(rec["medida"] == medida) & rec["diferencia"].notna()]
        agg = sub.groupby("cve_ent").agg(
            cie=("valor_cie", lambda s: pd.to_numeric(s).sum(min_count=1)),
            sesnsp=("valor_sesnsp", lambda s: pd.to_numeric(s).sum(min_count=1)),
            diferencia=("diferencia", lambda s: pd.to_numeric(s).sum(min_count=1)))
        agg.columns = [f"{medida}_{c}" for c in agg.columns]
        out = out.merge(agg, on="cve_ent", how="left")
    by_month = rec.groupby(["cve_ent", "periodo"])["estatus"].agg(set)
    discrepa = by_month[by_month.map(lambda s: "discrepa" in s)].groupby(level=0).size()
    sin_reporte = by_month[by_month.map(lambda s: s <= {"sin_reporte_cie"})].groupby(level=0).size()
    out["meses_con_discrepancia"] = out["cve_ent"].map(discrepa).fillna(0).astype(int)
    out["meses_sin_reporte_cie"] = out["cve_ent"].map(sin_reporte).fillna(0).astype(int)
    for column in out.columns[2:8]:
        out[column] = pd.to_numeric(out[column]).astype("Int64")
    return out


def matriz_estatus(data: ReportData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(status, label) state x month matrices over the window. Status is the worst of the two measures
    (STATUS_ORDER), NaN where neither side has a figure; the label spells each discrepancy ('C+2 V-1')."""
    meses = data.ventana
    rec = data.reconciliacion[data.reconciliacion["periodo"].isin(meses)]
    index = list(data.entidades["cve_ent"])
    status = pd.DataFrame(index=index, columns=meses, dtype="object")
    label = pd.DataFrame("", index=index, columns=meses)
    for (cve, periodo), grp in rec.groupby(["cve_ent", "periodo"]):
        present = set(grp["estatus"])
        status.loc[cve, periodo] = next(s for s in STATUS_ORDER if s in present)
        parts = [f"{'C' if r.medida == 'carpetas' else 'V'}{int(r.diferencia):+d}"
                 for r in grp.itertuples() if r.estatus == "discrepa"]
        label.loc[cve, periodo] = " ".join(parts)
    return status, label


def sin_reporte(data: ReportData) -> pd.DataFrame:
    """States with no CIE figure in any month of the window, with what is known of their committee."""
    meses = data.ventana
    rec = data.reconciliacion[data.reconciliacion["periodo"].isin(meses)]
    reported = set(rec.loc[rec["valor_cie"].notna(), "cve_ent"])
    out = data.entidades[~data.entidades["cve_ent"].isin(reported)][["cve_ent", "nombre"]]
    for medida in MEDIDAS:
        sums = rec[rec["medida"] == medida].groupby("cve_ent")["valor_sesnsp"].agg(
            lambda s: pd.to_numeric(s).sum(min_count=1))
        out[f"{medida}_sesnsp"] = pd.to_numeric(out["cve_ent"].map(sums)).astype("Int64")
    est = data.cie_estatus[["cve_ent", "instalado", "ultimo_reporte"]]
    return out.merge(est, on="cve_ent", how="left").reset_index(drop=True)


def discrepancias(data: ReportData, cve_ent: str) -> pd.DataFrame:
    rec = data.reconciliacion
    return rec[(rec["cve_ent"] == cve_ent) & (rec["estatus"] == "discrepa")][
        ["periodo", "medida", "valor_cie", "valor_sesnsp", "diferencia"]].reset_index(drop=True)


def meses_sin_reporte(data: ReportData, cve_ent: str) -> pd.DataFrame:
    """Months and measures where SESNSP has a figure and the state sent none."""
    rec = data.reconciliacion
    return rec[(rec["cve_ent"] == cve_ent) & (rec["estatus"] == "sin_reporte_cie")][
        ["periodo", "medida", "valor_sesnsp"]].reset_index(drop=True)


def tabla_municipal(data: ReportData, cve_ent: str) -> pd.DataFrame:
    """Carpetas per municipality over the window: CIE, SESNSP (municipal file), difference, months differing."""
    mun = data.municipal
    mun = mun[(mun["cve_ent"] == cve_ent) & mun["periodo"].isin(data.ventana)]
    if not len(mun):
        return pd.DataFrame(columns=["cvegeo", "municipio", "carpetas_cie", "carpetas_sesnsp", "diferencia",
                                     "meses_con_discrepancia"])
    out = mun.groupby(["cvegeo"], dropna=False).agg(
        municipio=("municipio", "first"),
        carpetas_cie=("valor_cie", lambda s: pd.to_numeric(s).sum(min_count=1)),
        carpetas_sesnsp=("valor_sesnsp", lambda s: pd.to_numeric(s).sum(min_count=1)),
        diferencia=("diferencia", lambda s: pd.to_numeric(s).sum(min_count=1)),
        meses_con_discrepancia=("estatus", lambda s: int((s == "discrepa").sum()))).reset_index()
    for column in ("carpetas_cie", "carpetas_sesnsp", "diferencia"):
        out[column] = pd.to_numeric(out[column]).astype("Int64")
    return out


def _files_of(data: ReportData, cve_ent: str) -> set[str]:
    a = data.archivos_entidad
    return set(a.loc[a["cve_ent"] == cve_ent, "archivo_origen"])


def por_corregir(data: ReportData, cve_ent: str) -> dict[str, pd.DataFrame]:
    """What the state must fix: quarantined cells, unknown labels, rejected files and refused columns."""
    files = _files_of(data, cve_ent)
    cuarentena = data.cuarentena[data.cuarentena["archivo_origen"].isin(files)].copy()
    cuarentena["que_hacer"] = cuarentena["motivo"].map(motivo_texto)
    etiquetas = data.etiquetas[data.etiquetas["archivo_origen"].isin(files)].copy()
    etiquetas["efecto"] = etiquetas["columna"].map(lambda c: ETIQUETAS.get(c, "Etiqueta no reconocida"))
    return {
        "cuarentena": cuarentena.reset_index(drop=True),
        "etiquetas": etiquetas.reset_index(drop=True),
        "rechazados": data.rechazados[data.rechazados["archivo_origen"].isin(files)].reset_index(drop=True),
        "columnas_rechazadas": data.columnas_rechazadas[
            data.columnas_rechazadas["archivo_origen"].isin(files)].reset_index(drop=True),
    }


def archivos_sin_entidad(data: ReportData) -> pd.DataFrame:
    a = data.archivos_entidad
    return a[a["cve_ent"].isna()][["archivo_origen"]].reset_index(drop=True)


def gobernanza(data: ReportData) -> tuple[pd.DataFrame, int]:
    """(one row per state, reference year). Agreements by status from warehouse.cie_acuerdos; % fulfilled
    = acuerdos_cumplidos / acuerdos_total of warehouse.cie_estatus (cancelled ones excluded there); sessions
    with agreements in the reference year (the year of the report window's last month) from fecha_sesion."""
    meses = data.ventana
    year = meses[-1].year if meses else data.hoy.year
    est = data.cie_estatus.copy()
    out = data.entidades[["cve_ent", "nombre"]].merge(est, on="cve_ent", how="left")
    acuerdos = data.cie_acuerdos
    for estatus in ("Cumplido", "En proceso", "Pendiente", "Cancelado"):
        counts = acuerdos[acuerdos["estatus"] == estatus].groupby("cve_ent").size()
        out[f"acuerdos_{estatus.lower().replace(' ', '_')}"] = out["cve_ent"].map(counts).fillna(0).astype(int)
    fechas = pd.to_datetime(acuerdos["fecha_sesion"], errors="coerce")
    this_year = acuerdos[fechas.dt.year == year]
    sesiones = this_year.drop_duplicates(["cve_ent", "fecha_sesion"]).groupby("cve_ent").size()
    out[f"sesiones_con_acuerdos_{year}"] = out["cve_ent"].map(sesiones).fillna(0).astype(int)
    total = pd.to_numeric(out["acuerdos_total"]).astype("Float64")
    cumplidos = pd.to_numeric(out["acuerdos_cumplidos"]).astype("Float64")
    out["pct_cumplidos"] = (100 * cumplidos / total.where(total > 0)).round(1)
    return out, year
