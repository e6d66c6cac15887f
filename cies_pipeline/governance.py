"""The 2023 agreements: each state's committee (CIE) status, always one row per state, from its reports."""
from __future__ import annotations

import pandas as pd

from cies_pipeline.harmonize.crosswalks import entidades

COMITE_FIELDS = ["instalado", "fecha_instalacion", "instrumento_juridico", "sesiones_ordinarias",
                 "sesiones_extraordinarias", "fecha_ultima_sesion", "usuarios_sintra_asignados",
                 "usuarios_sintra_capacitados", "fecha_primera_carga_sintra"]


def cie_estatus(comite: pd.DataFrame, acuerdos: pd.DataFrame, periodos: list[pd.DataFrame]) -> pd.DataFrame:
    """32 rows: what each state last said about its committee (null = unknown: it never reported)."""
    out = entidades()[["cve_ent"]].copy()
    if len(comite):
        # The reader already excluded re-sent (older) reports; of what is left, the last row per state wins.
        latest = comite.drop_duplicates("cve_ent", keep="last")
        out = out.merge(latest[["cve_ent", *COMITE_FIELDS, "archivo_origen"]], on="cve_ent", how="left")
    else:
        for column in [*COMITE_FIELDS, "archivo_origen"]:
            out[column] = None
    if len(acuerdos):
        vigentes = acuerdos[acuerdos["estatus"] != "Cancelado"]
        counts = vigentes.groupby("cve_ent").agg(
            acuerdos_total=("estatus", "size"),
            acuerdos_cumplidos=("estatus", lambda s: int((s == "Cumplido").sum())))
        out = out.merge(counts, on="cve_ent", how="left")
    else:
        out["acuerdos_total"] = pd.NA
        out["acuerdos_cumplidos"] = pd.NA
    # A state that reported agreements has a known count, possibly 0 after excluding cancelled ones.
    reported = set(acuerdos["cve_ent"]) if len(acuerdos) else set()
    for column in ("acuerdos_total", "acuerdos_cumplidos"):
        out[column] = out[column].astype("Int64")
        out.loc[out["cve_ent"].isin(reported) & out[column].isna(), column] = 0
    frames = [f[["cve_ent", "periodo"]] for f in periodos if len(f)]
    if frames:
        last = pd.concat(frames).groupby("cve_ent")["periodo"].max().rename("ultimo_reporte")
        out = out.merge(last, on="cve_ent", how="left")
    else:
        out["ultimo_reporte"] = pd.NaT
    if "instalado" in out:
        out["instalado"] = out["instalado"].astype("boolean")
    return out.reset_index(drop=True)
