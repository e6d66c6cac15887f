"""CIE against SESNSP: a pure comparison of harmonized facts (domain.md sections 5 and 10).

For each key (state or municipality, month, measure): `valor_cie` sums the state's non-blank counts and is
NULL when every count was blank; `valor_sesnsp` is the SESNSP figure; `diferencia = valor_cie - valor_sesnsp`
only when both exist. Months run from the earliest CIE period (or CIES_RECONCILIACION_DESDE) to the last
month SESNSP published; a row exists where at least one side has a figure.
"""
from __future__ import annotations

import pandas as pd

ESTATUS = ("coincide", "discrepa", "sin_reporte_cie", "sin_dato_sesnsp")
RECONCILIACION_COLUMNS = ["periodo", "cve_ent", "medida", "valor_cie", "valor_sesnsp", "diferencia", "estatus"]
MUNICIPAL_COLUMNS = ["periodo", "cve_ent", "cvegeo", "medida", "valor_cie", "valor_sesnsp", "diferencia",
                     "estatus"]
FORMA_COLUMNS = ["periodo", "cve_ent", "forma_explotacion", "valor_cie", "valor_sesnsp", "diferencia", "estatus"]


def month_range(cie: list[pd.DataFrame], sesnsp: list[pd.DataFrame],
                desde: str | None = None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """(first, last) reconciled month. None, None when there is nothing to reconcile."""
    cie_periods = pd.concat([f["periodo"] for f in cie if len(f)], ignore_index=True) \
        if any(len(f) for f in cie) else pd.Series(dtype="datetime64[ns]")
    ses_periods = pd.concat([f["periodo"] for f in sesnsp if len(f)], ignore_index=True) \
        if any(len(f) for f in sesnsp) else pd.Series(dtype="datetime64[ns]")
    if desde:
        first = pd.Timestamp(desde).to_period("M").to_timestamp()
    elif len(cie_periods):
        first = pd.Timestamp(cie_periods.min())
    else:
        return None, None
    last = pd.Timestamp(ses_periods.max()) if len(ses_periods) else \
        (pd.Timestamp(cie_periods.max()) if len(cie_periods) else None)
    return first, last


def _side(frame: pd.DataFrame, keys: list[str], value: str, name: str) -> pd.DataFrame:
    if not len(frame):
        return pd.DataFrame(columns=keys + [name])
    counts = pd.to_numeric(frame[value], errors="coerce").astype("Float64")
    grouped = frame[keys].assign(_v=counts).groupby(keys, dropna=False, sort=False)["_v"]
    # min_count=1: all blank → NULL (not reported), never 0.
    return grouped.sum(min_count=1).rename(name).reset_index()


def compare(cie: pd.DataFrame, sesnsp: pd.DataFrame, keys: list[str], value: str,
            first: pd.Timestamp | None, last: pd.Timestamp | None) -> pd.DataFrame:
    """Outer comparison of two fact frames on `keys` (which include 'periodo') within [first, last]."""
    columns = keys + ["valor_cie", "valor_sesnsp", "diferencia", "estatus"]
    if first is None or last is None:
        return pd.DataFrame(columns=columns)
    a = _side(cie, keys, value, "valor_cie")
    b = _side(sesnsp, keys, value, "valor_sesnsp")
    merged = a.merge(b, on=keys, how="outer")
    merged["periodo"] = pd.to_datetime(merged["periodo"])
    merged = merged[(merged["periodo"] >= first) & (merged["periodo"] <= last)]
    merged = merged[merged["valor_cie"].notna() | merged["valor_sesnsp"].notna()].copy()
    vc = merged["valor_cie"].astype("Float64").round().astype("Int64")
    vs = merged["valor_sesnsp"].astype("Float64").round().astype("Int64")
    merged["valor_cie"], merged["valor_sesnsp"] = vc, vs
    merged["diferencia"] = (vc - vs).astype("Int64")
    both = vc.notna() & vs.notna()
    estatus = pd.Series("sin_dato_sesnsp", index=merged.index, dtype="object")
    estatus[vc.isna()] = "sin_reporte_cie"
    estatus[both & (vc == vs).fillna(False)] = "coincide"
    estatus[both & (vc != vs).fillna(False)] = "discrepa"
    merged["estatus"] = estatus
    return merged[columns].sort_values(keys, kind="stable").reset_index(drop=True)


def _only(frame: pd.DataFrame, **conditions) -> pd.DataFrame:
    if not len(frame):
        return frame
    mask = pd.Series(True, index=frame.index)
    for column, value in conditions.items():
        mask &= frame[column] == value
    return frame[mask]


def reconciliacion(carpetas: pd.DataFrame, victimas: pd.DataFrame, desde: str | None = None) -> dict[str, pd.DataFrame]:
    """The three reconciliation tables from the harmonized fact frames (both sources in each)."""
    cie_c, cie_v = _only(carpetas, fuente="CIE"), _only(victimas, fuente="CIE")
    ses_c, ses_v = _only(carpetas, fuente="SESNSP", nivel="estatal"), _only(victimas, fuente="SESNSP",
                                                                          nivel="estatal")
    first, last = month_range([cie_c, cie_v], [ses_c, ses_v], desde)

    estatal = pd.concat([
        compare(cie_c, ses_c, ["periodo", "cve_ent"], "carpetas", first, last).assign(medida="carpetas"),
        compare(cie_v, ses_v, ["periodo", "cve_ent"], "victimas", first, last).assign(medida="victimas"),
    ], ignore_index=True)[RECONCILIACION_COLUMNS]

    ses_cm = _only(carpetas, fuente="SESNSP", nivel="municipal")
    ses_vm = _only(victimas, fuente="SESNSP", nivel="municipal")
    municipal = [compare(cie_c, ses_cm, ["periodo", "cve_ent", "cvegeo"], "carpetas", first, last)
                 .assign(medida="carpetas")]
    if len(ses_vm):  # victims by municipality exist only where SESNSP publishes them (2026 onwards)
        months = set(pd.to_datetime(ses_vm["periodo"]))
        cie_vm = cie_v[pd.to_datetime(cie_v["periodo"]).isin(months)]
        municipal.append(compare(cie_vm, ses_vm, ["periodo", "cve_ent", "cvegeo"], "victimas", first, last)
                         .assign(medida="victimas"))
    municipal = pd.concat(municipal, ignore_index=True)[MUNICIPAL_COLUMNS]

    ses_forms = ses_v[ses_v["forma_explotacion"] != "NO_ESPECIFICADA"] if len(ses_v) else ses_v
    if len(ses_forms):
        months = set(pd.to_datetime(ses_forms["periodo"]))
        cie_f = cie_v[pd.to_datetime(cie_v["periodo"]).isin(months)]
        forma = compare(cie_f, ses_forms, ["periodo", "cve_ent", "forma_explotacion"], "victimas", first, last)
    else:
        forma = pd.DataFrame(columns=FORMA_COLUMNS)
    return {"reconciliacion": estatal, "reconciliacion_municipal": municipal,
            "reconciliacion_forma": forma[FORMA_COLUMNS]}
