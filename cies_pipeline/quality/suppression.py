"""Small-cell suppression of victim counts before publication (domain.md section 7).

Counts of victims finer than what SESNSP publishes (by municipality with sex, age or form of exploitation)
are published only with small cells suppressed. This module computes, per cell, a flag and its reason:

- primary: a count between 1 and the threshold (default 4, env CIES_UMBRAL_SUPRESION). A zero is not
  sensitive and a blank (not reported) has nothing to hide: neither is suppressed on its own.
- secondary: a margin (a group of cells whose total is published or can be read from another published
  table) with exactly ONE suppressed cell would give that cell away (total minus the other cells). Another
  cell of that margin is suppressed too, the smallest positive one (then the smallest zero), ties broken by
  the cell's key so that two runs suppress the same cells. Repeated over every margin until no margin has
  exactly one suppressed cell.

A margin holding a single cell cannot be protected by suppressing other cells (its total IS the cell); it
is reported in `Supresion.margenes_sin_complemento` so that nobody publishes that total beside the cells.
Pure pandas: no Dagster, no database.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

UMBRAL_DEFAULT = 4
PRIMARIA, SECUNDARIA = "primaria", "secundaria"


def umbral_supresion(environ: dict | None = None) -> int:
    """The threshold from env CIES_UMBRAL_SUPRESION (an integer >= 1), default 4."""
    raw = (environ if environ is not None else os.environ).get("CIES_UMBRAL_SUPRESION")
    if raw is None or raw.strip() == "":
        return UMBRAL_DEFAULT
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"CIES_UMBRAL_SUPRESION must be an integer >= 1, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"CIES_UMBRAL_SUPRESION must be an integer >= 1, got {raw!r}")
    return value


@dataclass
class Supresion:
    frame: pd.DataFrame                # the cells, plus `suprimida` (bool) and `motivo_supresion`
    iteraciones: int                   # rounds of secondary suppression until no margin had one cell
    margenes_sin_complemento: pd.DataFrame  # margin columns + key values of single-cell suppressed margins


def suprimir(cells: pd.DataFrame, value: str, margins: list[list[str]], umbral: int = UMBRAL_DEFAULT,
             max_rounds: int = 1000) -> Supresion:
    """Flag the cells of `cells` (one row per cell; `value` the count, nullable) to suppress.

    `margins` lists the column groupings whose totals are published: each group of rows sharing those
    columns' values is one margin. Returns the cells sorted by their key columns (every column but `value`).
    `margenes_sin_complemento` lists, once each, the margins left with exactly one suppressed cell (no other
    cell with a figure to suppress beside it), in the order of `margins`, then by the margin's key values.
    """
    if umbral < 1:
        raise ValueError(f"umbral must be >= 1, got {umbral}")
    keys = [c for c in cells.columns if c != value]
    for margin in margins:
        missing = set(margin) - set(keys)
        if missing:
            raise KeyError(f"margin {margin} names columns that are not cell keys: {sorted(missing)}")
    frame = cells.sort_values(keys, na_position="first", kind="stable", ignore_index=True).copy()
    counts = pd.to_numeric(frame[value], errors="raise").astype("Float64")
    # numpy arrays by position from here on (the frame has a RangeIndex)
    known = counts.notna().to_numpy(dtype=bool)
    primary = (counts.notna() & (counts >= 1) & (counts <= umbral)).fillna(False).to_numpy(dtype=bool)
    suppressed = primary.copy()
    # The order in which complements are chosen: positive cells before zeros, smallest first, then by key.
    rank = pd.DataFrame({"zero": (counts == 0).fillna(False).astype(int), "n": counts.fillna(0)})
    order = rank.sort_values(["zero", "n"], kind="stable").index.to_numpy()  # frame is already in key order
    # Each margin's group of every cell (0..n_groups-1), computed once: the cells never change.
    groups = [_group_ids(frame, margin) for margin in margins]
    rounds = 0
    while True:
        changed = False
        for group, n_groups in groups:
            exposed = np.bincount(group[suppressed], minlength=n_groups) == 1  # per group
            if not exposed.any():
                continue
            candidates = exposed[group] & ~suppressed & known  # per cell
            if candidates.any():
                # in each exposed group, the first candidate in complement order
                ranked = order[candidates[order]]
                _, first = np.unique(group[ranked], return_index=True)
                suppressed[ranked[first]] = True
                changed = True
        if not changed:
            break
        rounds += 1
        if rounds >= max_rounds:
            raise RuntimeError(f"secondary suppression did not settle after {max_rounds} rounds")
    # The last round changed nothing, so a margin still holding exactly one suppressed cell had no cell with a
    # figure left to suppress beside it: one that no complement can protect. (A margin that held one suppressed
    # cell earlier and got its complement in a later round holds two by now and is not listed.)
    single = _margenes_sin_complemento(frame, margins, groups, suppressed)
    frame["suprimida"] = suppressed
    frame["motivo_supresion"] = pd.Series(
        np.where(primary, PRIMARIA, np.where(suppressed, SECUNDARIA, None)).astype(object), dtype=object)
    return Supresion(frame=frame, iteraciones=rounds, margenes_sin_complemento=single)


def _group_ids(frame: pd.DataFrame, margin: list[str]) -> tuple[np.ndarray, int]:
    """The group number (0..n-1) of every row of `frame` in `margin`, and the number of groups n."""
    if not margin:
        return np.zeros(len(frame), dtype=np.intp), min(len(frame), 1)
    ids = frame.groupby(margin, dropna=False, sort=False).ngroup().to_numpy(dtype=np.intp)
    return ids, (int(ids.max()) + 1 if len(ids) else 0)


def _margenes_sin_complemento(frame: pd.DataFrame, margins: list[list[str]],
                              groups: list[tuple[np.ndarray, int]], suppressed: np.ndarray) -> pd.DataFrame:
    """One record (margen, valores) per margin group holding exactly one suppressed cell."""
    found: list[tuple[list[str], np.ndarray]] = []
    seen: set[tuple] = set()
    for margin, (group, n_groups) in zip(margins, groups):
        if tuple(margin) in seen:  # a margin listed twice is still one margin
            continue
        seen.add(tuple(margin))
        single = np.bincount(group[suppressed], minlength=n_groups) == 1
        rows = np.flatnonzero(suppressed & single[group])  # the group's one suppressed cell, one per group
        if margin and len(rows) > 1:
            rows = rows[frame.iloc[rows][margin].reset_index(drop=True)
                        .sort_values(margin, na_position="first", kind="stable").index.to_numpy()]
        if len(rows):
            found.append((margin, rows))
    records: list[dict] = []
    if found:
        text = _KeyText(frame, np.unique(np.concatenate([rows for _, rows in found])))
        for margin, rows in found:
            name = ",".join(margin) or "(total)"
            records.extend({"margen": name, "valores": valores} for valores in text.join(margin, rows))
    return pd.DataFrame(records, columns=["margen", "valores"])


class _KeyText:
    """The key values of some rows of `frame` written as before: the values of `frame.loc[row, margin]`, each
    str()-ed (a missing one blank) and joined by ",". That row Series has the common dtype of the margin's
    columns: with mixed key types (strings beside numbers or dates) it is of object dtype and holds each
    column's own scalar (a numpy scalar, a Timestamp, a str), so each column is written once for all `rows`,
    not row by row; with numbers only it holds them cast to their common type (2025 beside a float: 2025.0)."""

    def __init__(self, frame: pd.DataFrame, rows: np.ndarray):
        self.frame, self.rows, self.columns = frame, rows, {}

    def join(self, margin: list[str], rows: np.ndarray) -> list[str]:
        if not margin:
            return [""] * len(rows)
        dtype = self.frame.loc[rows[0], margin].dtype  # the row's dtype: that of every row of these columns
        if (dtype == object or isinstance(dtype, pd.StringDtype)
                or (dtype.kind in "mM" and all(self.frame[c].dtype == dtype for c in margin))):
            # the row holds each column's own scalar (strings only: str; dates of one type: Timestamps)
            at = np.searchsorted(self.rows, rows)
            return [",".join(parts) for parts in zip(*(self._column(col)[at] for col in margin))]
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            # the row's values are the columns' cast to that dtype, iterated as Python scalars (tolist)
            values = self.frame[margin].to_numpy(dtype=dtype)[rows].tolist()
            return [",".join("" if pd.isna(v) else str(v) for v in row) for row in values]
        # Any other common type (nullable numbers only, say): rare, done row by row as before.
        return [",".join("" if pd.isna(v) else str(v) for v in self.frame.loc[i, margin]) for i in rows]

    def _column(self, col: str) -> np.ndarray:
        if col not in self.columns:
            series, rows = self.frame[col], self.rows
            array = series.array
            if isinstance(array, pd.arrays.NumpyExtensionArray):
                values = series.to_numpy()[rows]  # iterating yields the numpy scalars a row holds
                text = ["" if m else str(v) for v, m in zip(values, pd.isna(values))]
            elif isinstance(series.dtype, pd.StringDtype) or array.dtype.kind in "mM":
                # str values, or Timestamps / Timedeltas of one unit: equal values are written alike, so each
                # distinct value is written once (a missing value has code -1: the blank appended last)
                codes, uniques = pd.factorize(array.take(rows))
                text = np.array([str(u) for u in uniques] + [""], dtype=object)[codes]
            else:
                values = [array[i] for i in rows]  # what a row holds: the array's own scalar
                text = ["" if pd.isna(v) else str(v) for v in values]
            self.columns[col] = np.asarray(text, dtype=object)
        return self.columns[col]


# Victims by municipality with form, sex and age: finer than SESNSP publishes, so suppressed. A cell's key:
_BASE = ["periodo", "cve_ent", "fuente", "metodologia"]
_DETALLE = ["cvegeo", "forma_explotacion", "sexo", "grupo_edad"]
VICTIMAS_MUNICIPIO_KEYS = _BASE + _DETALLE


def victimas_municipio_margins() -> list[list[str]]:
    """Totals an analyst can read or compute: the state-month (reconciliacion), the municipality-month
    (reconciliacion_municipal), the state by form (reconciliacion_forma), the state by sex and age (SESNSP),
    every line of the cube (all detail columns but one), and the state-year and municipality-year figures
    of publicado.indicadores (`anio` is a key derived from periodo)."""
    lines = [_BASE + [c for c in _DETALLE if c != dropped] for dropped in _DETALLE]
    anual = ["anio", "cve_ent", "fuente", "metodologia"]
    return [_BASE, _BASE + ["cvegeo"], _BASE + ["forma_explotacion"], _BASE + ["sexo", "grupo_edad"], *lines,
            anual, anual + ["cvegeo"]]


def victimas_municipio_supresion(fact_victimas: pd.DataFrame, umbral: int = UMBRAL_DEFAULT) -> Supresion:
    """warehouse.victimas_municipio_supresion from the victims fact: municipal-level rows summed to one
    cell per key (a blank count stays blank unless the cell has a figure), flagged by `suprimir`."""
    municipal = fact_victimas[fact_victimas["nivel"] == "municipal"] if len(fact_victimas) else fact_victimas
    cells = (municipal.groupby(VICTIMAS_MUNICIPIO_KEYS, dropna=False, sort=True)["victimas"]
             .sum(min_count=1).reset_index()) if len(municipal) else \
        pd.DataFrame({c: pd.Series(dtype=object) for c in VICTIMAS_MUNICIPIO_KEYS + ["victimas"]})
    cells.insert(0, "anio", pd.to_datetime(cells["periodo"]).dt.year)
    result = suprimir(cells, "victimas", victimas_municipio_margins(), umbral=umbral)
    result.frame["victimas"] = result.frame["victimas"].astype("Int64")
    result.frame["umbral"] = umbral
    return result


INDICADORES_KEYS = ["nivel", "anio", "cve_ent", "cvegeo", "fuente", "medida"]


def indicadores_supresion(indicadores: pd.DataFrame, umbral: int = UMBRAL_DEFAULT) -> Supresion:
    """warehouse.indicadores with suppression flags: a municipality's yearly count of victims (finer than the
    state figures SESNSP publishes for 2015-2025) of 1 to `umbral` is suppressed, and so is its rate; the
    margin is the state-year figure published beside it (nivel 'estatal'), so a second municipality is
    suppressed where one would be given away. Carpetas and state-level rows are never suppressed."""
    frame = indicadores.reset_index(drop=True)
    sensitive = (frame["nivel"] == "municipal") & (frame["medida"] == "victimas")
    cells = frame.loc[sensitive, INDICADORES_KEYS + ["valor"]]
    flagged = suprimir(cells, "valor", [["nivel", "anio", "cve_ent", "fuente", "medida"]], umbral=umbral)
    out = frame.merge(flagged.frame[INDICADORES_KEYS + ["suprimida", "motivo_supresion"]], how="left",
                      on=INDICADORES_KEYS)
    out["suprimida"] = out["suprimida"].astype("boolean").fillna(False).astype(bool)
    out["motivo_supresion"] = out["motivo_supresion"].astype(object).where(out["motivo_supresion"].notna(), None)
    out["umbral"] = umbral
    return Supresion(frame=out, iteraciones=flagged.iteraciones,
                     margenes_sin_complemento=flagged.margenes_sin_complemento)
