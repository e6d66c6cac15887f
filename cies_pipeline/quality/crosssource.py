"""Checks that look across sources and across time: pure functions, DataFrames in, DataFrames out.

This module owns the rules a person reviews when two figures that should agree do not, or when a figure
moves too much, or when a source is late:
- SESNSP against itself: municipal trafficking carpetas summed by state against the state file;
- a CIE totals row against the rows it sums (recorded by the reader in SourceResult.totales);
- month-over-month jumps (domain.md section 10);
- coverage: per state and reconciled month, did the state report, did SESNSP publish, is the CIE installed;
- freshness: the latest SESNSP release (`corte`) and each state's latest reported month, by age in days.
Every function returns the rows to look at (empty = nothing to look at); the Dagster checks that show them
live in assets/quality_checks.py. No Dagster imports here.
"""
from __future__ import annotations

import os
from datetime import date

import pandas as pd

from cies_pipeline.harmonize.crosswalks import entidades
from cies_pipeline.harmonize.releases import latest_release
from cies_pipeline.reconcile import month_range

# domain.md section 10: a jump is more than FACTOR x the trailing median AND at least MARGEN above it.
SALTO_FACTOR = 3
SALTO_MARGEN = 5
SALTO_VENTANA_MESES = 12
# A median of fewer months says little: a state's third month of reporting is not compared.
SALTO_MINIMO_MESES = 6

ESTADOS_CIE = ("con_cifras", "sin_cifras", "sin_reporte")
COBERTURA_COLUMNS = ["periodo", "cve_ent", "reporto_cie", "estado_cie", "sesnsp_publico", "cie_instalado"]


def _month(value) -> pd.Timestamp:
    return pd.Timestamp(value).to_period("M").to_timestamp()


# -- SESNSP municipal against SESNSP state ------------------------------------------------------------------
def sesnsp_municipal_vs_estatal(estatal: pd.DataFrame, municipal: pd.DataFrame) -> pd.DataFrame:
    """State-months where the municipal file's carpetas, summed over the state's municipalities (998 and 999
    included), differ from the state file, over the months both files publish. Both sides from their latest
    release; a state-month missing on one side counts as 0 there (shown NULL). Columns: cve_ent, periodo,
    estatal, municipal, diferencia (= municipal - estatal)."""
    columns = ["cve_ent", "periodo", "estatal", "municipal", "diferencia"]

    def by_state(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        if not len(frame):
            return pd.DataFrame(columns=["cve_ent", "periodo", name])
        frame = latest_release(frame)
        return (frame.assign(_n=pd.to_numeric(frame["carpetas"], errors="coerce"))
                .groupby(["cve_ent", "periodo"], as_index=False)["_n"].sum(min_count=1)
                .rename(columns={"_n": name}))

    state, muni = by_state(estatal, "estatal"), by_state(municipal, "municipal")
    # Only months both files publish are compared (two releases may end in different months).
    months = set(state["periodo"]) & set(muni["periodo"])
    both = state[state["periodo"].isin(months)].merge(muni[muni["periodo"].isin(months)],
                                                      on=["cve_ent", "periodo"], how="outer")
    if not len(both):
        return pd.DataFrame(columns=columns)
    both["estatal"] = both["estatal"].astype("Int64")
    both["municipal"] = both["municipal"].astype("Int64")
    # A state-month missing on one side counts as 0 there: a state file 0 with no municipal line agrees.
    both["diferencia"] = both["municipal"].fillna(0) - both["estatal"].fillna(0)
    differ = both["diferencia"] != 0
    out = both[differ].sort_values(["periodo", "cve_ent"]).reset_index(drop=True)
    out["periodo"] = pd.to_datetime(out["periodo"])
    return out[columns]


# -- CIE totals rows -------------------------------------------------------------------------------------------
def totales_discrepantes(totales: list[dict]) -> pd.DataFrame:
    """Totals rows whose written figure is not the sum of the rows above them (a blank total is not
    compared). Columns: archivo_origen, hoja, fila_origen, columna, escrito, suma, diferencia."""
    columns = ["archivo_origen", "hoja", "fila_origen", "columna", "escrito", "suma", "diferencia"]
    rows = [{**t, "diferencia": t["escrito"] - t["suma"]} for t in totales
            if t.get("escrito") is not None and t["escrito"] != t["suma"]]
    return pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


# -- jumps -------------------------------------------------------------------------------------------------------
def serie_estatal(frame: pd.DataFrame, medida: str) -> pd.DataFrame:
    """A state's monthly figure per source from harmonized facts: CIE sums its (municipal) rows, NULL when
    every count is blank; SESNSP is its state file (nivel 'estatal'). Columns: fuente, medida, cve_ent,
    periodo, valor."""
    columns = ["fuente", "medida", "cve_ent", "periodo", "valor"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    use = frame[(frame["fuente"] == "CIE") | ((frame["fuente"] == "SESNSP") & (frame["nivel"] == "estatal"))]
    out = (use.assign(_n=pd.to_numeric(use[medida], errors="coerce"))
           .groupby(["fuente", "cve_ent", "periodo"], as_index=False)["_n"].sum(min_count=1)
           .rename(columns={"_n": "valor"}))
    out["medida"] = medida
    return out.dropna(subset=["valor"])[columns].reset_index(drop=True)


def saltos(serie: pd.DataFrame, factor: float = SALTO_FACTOR, margen: float = SALTO_MARGEN,
           ventana: int = SALTO_VENTANA_MESES, minimo: int = SALTO_MINIMO_MESES) -> pd.DataFrame:
    """Months whose value is more than `factor` times the median of the same state's (and source's and
    measure's) figures of the `ventana` months before it AND exceeds that median by at least `margen`.
    Months without a figure are not part of the median; fewer than `minimo` figures: not compared.
    Columns: fuente, medida, cve_ent, periodo, valor, mediana, meses_en_mediana."""
    columns = ["fuente", "medida", "cve_ent", "periodo", "valor", "mediana", "meses_en_mediana"]
    rows = []
    if len(serie):
        for (fuente, medida, cve_ent), group in serie.groupby(["fuente", "medida", "cve_ent"], sort=True):
            values = {_month(p): float(v) for p, v in zip(group["periodo"], group["valor"])}
            for periodo in sorted(values):
                before = [values[m] for k in range(1, ventana + 1)
                          if (m := periodo - pd.DateOffset(months=k)) in values]
                if len(before) < minimo:
                    continue
                median = float(pd.Series(before).median())
                value = values[periodo]
                if value > factor * median and value - median >= margen:
                    rows.append({"fuente": fuente, "medida": medida, "cve_ent": cve_ent, "periodo": periodo,
                                 "valor": int(value) if value.is_integer() else value, "mediana": median,
                                 "meses_en_mediana": len(before)})
    return pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


# -- coverage --------------------------------------------------------------------------------------------------
def cobertura(carpetas: pd.DataFrame, victimas: pd.DataFrame, cie_estatus: pd.DataFrame,
              desde: str | None = None) -> pd.DataFrame:
    """quality.cobertura: one row per state (all 32) and month of the reconciled range (reconcile.month_range:
    from the earliest CIE period, or `desde`, to the last month SESNSP published), from harmonized facts.

    reporto_cie: the state sent rows (carpetas or victims) for the month, after re-sent reports were resolved;
    estado_cie: 'con_cifras' (some count written), 'sin_cifras' (rows sent, every count blank) or 'sin_reporte';
    sesnsp_publico: the SESNSP state file has the state-month (either measure); cie_instalado: from
    cie_estatus (NULL = unknown)."""
    def part(frame: pd.DataFrame, fuente: str, nivel: str | None = None) -> pd.DataFrame:
        if not len(frame):
            return frame
        keep = frame["fuente"] == fuente
        if nivel:
            keep &= frame["nivel"] == nivel
        return frame[keep]

    cie = [part(carpetas, "CIE"), part(victimas, "CIE")]
    ses = [part(carpetas, "SESNSP", "estatal"), part(victimas, "SESNSP", "estatal")]
    first, last = month_range(cie, ses, desde)
    if first is None or last is None or last < first:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            COBERTURA_COLUMNS, ["datetime64[ns]", object, "boolean", object, "boolean", "boolean"])})
    months = pd.date_range(first, last, freq="MS")
    grid = pd.MultiIndex.from_product([months, entidades()["cve_ent"]], names=["periodo", "cve_ent"]) \
        .to_frame(index=False)

    cie_rows = [pd.DataFrame({"cve_ent": f["cve_ent"], "periodo": f["periodo"],
                              "cifra": pd.to_numeric(f[m], errors="coerce").notna()})
                for f, m in zip(cie, ("carpetas", "victimas")) if len(f)]
    if cie_rows:
        sent = pd.concat(cie_rows).groupby(["cve_ent", "periodo"], as_index=False)["cifra"].any()
        sent["reporto_cie"] = True
    else:
        sent = pd.DataFrame(columns=["cve_ent", "periodo", "cifra", "reporto_cie"])
    ses_keys = pd.concat([f[["cve_ent", "periodo"]] for f in ses if len(f)] or
                         [pd.DataFrame(columns=["cve_ent", "periodo"])]).drop_duplicates()
    ses_keys["sesnsp_publico"] = True
    out = grid.merge(sent, on=["cve_ent", "periodo"], how="left") \
        .merge(ses_keys, on=["cve_ent", "periodo"], how="left")
    out["reporto_cie"] = out["reporto_cie"].fillna(False).astype("boolean")
    out["sesnsp_publico"] = out["sesnsp_publico"].fillna(False).astype("boolean")
    out["estado_cie"] = [("con_cifras" if c else "sin_cifras") if r else "sin_reporte"
                         for r, c in zip(out["reporto_cie"], out["cifra"].fillna(False).astype(bool))]
    instalado = cie_estatus.set_index("cve_ent")["instalado"] if len(cie_estatus) else pd.Series(dtype="boolean")
    out["cie_instalado"] = pd.array(out["cve_ent"].map(instalado).tolist(), dtype="boolean") if len(instalado) \
        else pd.array([pd.NA] * len(out), dtype="boolean")
    out["periodo"] = out["periodo"].astype("datetime64[ns]")
    return out.sort_values(["periodo", "cve_ent"]).reset_index(drop=True)[COBERTURA_COLUMNS]


def ultimo_mes_cerrado(hoy: date) -> pd.Timestamp:
    """The month before today's month (America/Mexico_City): the last month a state can have closed."""
    return _month(hoy) - pd.DateOffset(months=1)


def faltantes_ultimo_mes(cobertura_frame: pd.DataFrame, hoy: date) -> tuple[pd.Timestamp, pd.DataFrame | None]:
    """(last closed month, states that did not report it). None instead of a frame when that month is outside
    the SESNSP range (the coverage table does not reach it: there is nothing to compare with yet)."""
    month = ultimo_mes_cerrado(hoy)
    if not len(cobertura_frame) or month not in set(cobertura_frame["periodo"]):
        return month, None
    rows = cobertura_frame[(cobertura_frame["periodo"] == month) & ~cobertura_frame["reporto_cie"].astype(bool)]
    return month, rows.merge(entidades()[["cve_ent", "nombre"]], on="cve_ent", how="left")[
        ["cve_ent", "nombre", "periodo", "sesnsp_publico", "cie_instalado"]].reset_index(drop=True)


# -- freshness -------------------------------------------------------------------------------------------------
MAX_EDAD_SESNSP_DIAS = 75
MAX_EDAD_CIE_DIAS = 100


def env_days(name: str, default: int) -> int:
    """A maximum age in days from the environment; a value that is not a whole number fails loudly."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    if not raw.strip().isdigit():
        raise ValueError(f"{name}='{raw}': se esperaba un número entero de días (por omisión {default})")
    return int(raw)


def limites_frescura() -> tuple[int, int]:
    """(CIE, SESNSP) maximum ages in days: CIES_MAX_EDAD_CIE_DIAS and CIES_MAX_EDAD_SESNSP_DIAS, or the defaults."""
    return (env_days("CIES_MAX_EDAD_CIE_DIAS", MAX_EDAD_CIE_DIAS),
            env_days("CIES_MAX_EDAD_SESNSP_DIAS", MAX_EDAD_SESNSP_DIAS))


def dias_desde_corte(corte, hoy: date) -> int:
    """Days from a SESNSP release month (`corte`, its first day) to `hoy`: the freshness rule of the checks
    and of ingest/cambios, in one place."""
    return (pd.Timestamp(hoy) - pd.Timestamp(corte)).days


def dias_desde_fin_de_periodo(periodo, hoy: date) -> int:
    """Days from the end of a reported month (the first day of the next one: a report cannot come sooner) to
    `hoy`."""
    return (pd.Timestamp(hoy) - (pd.Timestamp(periodo) + pd.DateOffset(months=1))).days


def sesnsp_vencido(cortes: pd.Series, hoy: date, max_dias: int) -> pd.DataFrame:
    """The latest SESNSP release month (`corte`, first of month) if it is older than `max_dias` days on `hoy`;
    also when no release was read at all (corte NULL). Columns: fuente, ultimo, dias, max_dias."""
    columns = ["fuente", "ultimo", "dias", "max_dias"]
    cortes = pd.to_datetime(pd.Series(cortes), errors="coerce").dropna()
    if not len(cortes):
        return pd.DataFrame([{"fuente": "SESNSP", "ultimo": None, "dias": None, "max_dias": max_dias}],
                            columns=columns)
    ultimo = pd.Timestamp(cortes.max())
    dias = dias_desde_corte(ultimo, hoy)
    if dias <= max_dias:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame([{"fuente": "SESNSP", "ultimo": ultimo, "dias": dias, "max_dias": max_dias}],
                        columns=columns)


def cie_vencidos(periodos: pd.DataFrame, hoy: date, max_dias: int) -> pd.DataFrame:
    """States whose latest reported `periodo` ended more than `max_dias` days before `hoy` (a month ends on
    the first day of the next one: a report cannot come sooner). States that never reported are not listed
    here (quality.cobertura shows them). Columns: cve_ent, nombre, ultimo_periodo, dias, max_dias."""
    columns = ["cve_ent", "nombre", "ultimo_periodo", "dias", "max_dias"]
    if not len(periodos):
        return pd.DataFrame(columns=columns)
    last = periodos.dropna(subset=["periodo"]).groupby("cve_ent", as_index=False)["periodo"].max() \
        .rename(columns={"periodo": "ultimo_periodo"})
    last["dias"] = pd.Series([dias_desde_fin_de_periodo(p, hoy) for p in last["ultimo_periodo"]],
                             index=last.index, dtype="int64")
    last["max_dias"] = max_dias
    stale = last[last["dias"] > max_dias].merge(entidades()[["cve_ent", "nombre"]], on="cve_ent", how="left")
    return stale.sort_values("cve_ent").reset_index(drop=True)[columns]


def entradas_frescura(periodos: pd.DataFrame, cortes: pd.Series) -> dict:
    """All the freshness checks read from the inputs, small enough to remember between runs: each state's latest
    CIE `periodo` and the latest SESNSP `corte`, as ISO dates (None: no release read)."""
    last = periodos.dropna(subset=["periodo"]).groupby("cve_ent")["periodo"].max()
    cortes = pd.to_datetime(pd.Series(cortes), errors="coerce").dropna()
    return {"cie": {str(cve): pd.Timestamp(p).date().isoformat() for cve, p in last.items()},
            "corte": pd.Timestamp(cortes.max()).date().isoformat() if len(cortes) else None}


def vencidas(entradas: dict, hoy: date, max_cie: int, max_sesnsp: int) -> dict:
    """What the freshness checks find stale on `hoy`, from `entradas_frescura`: {"cie": [cve_ent, …] (the
    rows of cie_vencidos), "sesnsp": whether sesnsp_vencido lists the release}. Two dates with the same
    answer give the same check outcomes (only the day counts in their listings differ). The same day rules as
    the checks, without their tables: ingest/cambios evaluates this twice on every skipped night (the tables
    cost it 0.02 s)."""
    corte = entradas["corte"]
    return {"cie": sorted(cve for cve, periodo in entradas["cie"].items()
                          if dias_desde_fin_de_periodo(periodo, hoy) > max_cie),
            "sesnsp": corte is None or dias_desde_corte(corte, hoy) > max_sesnsp}
