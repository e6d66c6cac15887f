"""Charts of the report, drawn with matplotlib and returned as inline SVG text (no CDN, works offline).

Text stays text in the SVG (`svg.fonttype = none`) so pages stay small and searchable, and the output is
deterministic (fixed hash salt, no date) so an unchanged warehouse gives byte-identical pages.
"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from cies_pipeline.reports.data import STATUS_ORDER  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "cies-pipeline", "font.size": 9,
                     "font.family": "DejaVu Sans"})

# One color per status, the same in the heat map legend and the page tables.
COLORES = {"coincide": "#4c9a6a", "sin_dato_sesnsp": "#e0c35a", "sin_reporte_cie": "#b9b9b9",
           "discrepa": "#c8453b"}
ETIQUETA_ESTATUS = {"coincide": "coincide", "discrepa": "discrepa", "sin_reporte_cie": "sin reporte CIE",
                    "sin_dato_sesnsp": "sin dato SESNSP"}
MESES_ABR = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"]


def mes(ts: pd.Timestamp) -> str:
    return f"{MESES_ABR[ts.month - 1]} {ts.year}"


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: the SVG sits inside HTML


def heat_map(status: pd.DataFrame, label: pd.DataFrame, names: dict[str, str]) -> str:
    """State x month grid colored by reconciliation status; discrepancies spelled in their cell."""
    codes = {s: i for i, s in enumerate(STATUS_ORDER)}
    values = status.apply(lambda col: col.map(lambda v: codes.get(v, np.nan))).to_numpy(dtype=float)
    cmap = ListedColormap([COLORES[s] for s in STATUS_ORDER]).with_extremes(bad="#ffffff")
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * status.shape[1], 0.9 + 0.24 * status.shape[0]))
    ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=-0.5, vmax=len(STATUS_ORDER) - 0.5,
              aspect="auto", interpolation="nearest")
    ax.set_xticks(range(status.shape[1]), [mes(c) for c in status.columns], rotation=45, ha="right")
    ax.set_yticks(range(status.shape[0]), [names.get(i, i) for i in status.index])
    ax.set_xticks(np.arange(-0.5, status.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, status.shape[0]), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    for (i, j), text in np.ndenumerate(label.to_numpy()):
        if text:
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white", fontweight="bold")
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLORES[s]) for s in STATUS_ORDER]
    ax.legend(handles, [ETIQUETA_ESTATUS[s] for s in STATUS_ORDER], loc="upper center",
              bbox_to_anchor=(0.5, -0.09 - 1.2 / max(status.shape[0], 1)), ncol=4, frameon=False)
    ax.set_title("Estatus de la conciliación por entidad y mes (C = carpetas, V = víctimas: CIE − SESNSP)")
    return _svg(fig)


def time_series(rec: pd.DataFrame, title: str) -> str:
    """CIE against SESNSP by month, one panel per measure; months in discrepancy marked."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharex=True)
    for ax, medida, nombre in zip(axes, ("carpetas", "victimas"), ("Carpetas de investigación", "Víctimas")):
        sub = rec[rec["medida"] == medida].sort_values("periodo")
        x = pd.to_datetime(sub["periodo"])
        cie = pd.to_numeric(sub["valor_cie"]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        ses = pd.to_numeric(sub["valor_sesnsp"]).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        ax.plot(x, ses, color="#1f5f8b", marker="o", markersize=3, linewidth=1.5, label="SESNSP")
        ax.plot(x, cie, color="#e07b24", marker="s", markersize=3, linewidth=1.2, linestyle="--", label="CIE")
        bad = (sub["estatus"] == "discrepa").to_numpy()
        if bad.any():
            ax.scatter(x[bad], cie[bad], s=60, facecolors="none", edgecolors=COLORES["discrepa"], linewidths=1.5,
                       label="discrepa", zorder=3)
        ax.set_title(nombre)
        ax.set_ylim(bottom=0)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(axis="y", color="#dddddd")
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="x", rotation=45)
        ax.legend(frameon=False, fontsize=8)
    fig.suptitle(title)
    return _svg(fig)


def fulfilment_bars(gob: pd.DataFrame) -> str:
    """Agreements by status per state (stacked), states without agreements left empty."""
    order = [("acuerdos_cumplido", "Cumplido", "#4c9a6a"), ("acuerdos_en_proceso", "En proceso", "#e0c35a"),
             ("acuerdos_pendiente", "Pendiente", "#c8453b"), ("acuerdos_cancelado", "Cancelado", "#b9b9b9")]
    fig, ax = plt.subplots(figsize=(10, 3.4))
    x = np.arange(len(gob))
    bottom = np.zeros(len(gob))
    for column, label, color in order:
        values = gob[column].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, color=color, label=label, width=0.75)
        bottom += values
    ax.set_xticks(x, gob["nombre_corto"] if "nombre_corto" in gob else gob["cve_ent"], rotation=60, ha="right")
    ax.set_ylabel("acuerdos")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, ncol=4)
    ax.set_title("Acuerdos de los CIE por estatus")
    return _svg(fig)
