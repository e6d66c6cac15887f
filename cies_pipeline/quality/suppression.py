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
    known = counts.notna()
    primary = (known & (counts >= 1) & (counts <= umbral)).fillna(False).astype(bool)
    suppressed = primary.copy()
    # The order in which complements are chosen: positive cells before zeros, smallest first, then by key.
    rank = pd.DataFrame({"zero": (counts == 0).fillna(False).astype(int), "n": counts.fillna(0)})
    order = rank.sort_values(["zero", "n"], kind="stable").index  # frame is already in key order
    rounds = 0
    single: dict[tuple, dict] = {}
    while True:
        changed = False
        for margin in margins:
            group = (frame.groupby(margin, dropna=False, sort=False).ngroup() if margin
                     else pd.Series(0, index=frame.index))
            n_suppressed = suppressed.groupby(group).transform("sum")
            exposed = n_suppressed == 1
            if not exposed.any():
                continue
            candidates = exposed & ~suppressed & known
            if candidates.any():
                chosen = group[order][candidates[order]].drop_duplicates(keep="first").index
                suppressed.loc[chosen] = True
                changed = True
            # margins with one suppressed cell and nothing left to suppress beside it
            no_complement = exposed & suppressed & ~group.isin(group[candidates])
            for idx in frame.index[no_complement]:
                key = (tuple(margin), tuple(frame.loc[idx, margin]))
                single[key] = {"margen": ",".join(margin) or "(total)",
                               "valores": ",".join("" if pd.isna(v) else str(v) for v in frame.loc[idx, margin])}
        if not changed:
            break
        rounds += 1
        if rounds >= max_rounds:
            raise RuntimeError(f"secondary suppression did not settle after {max_rounds} rounds")
    # A margin counted as single-cell in an early round may have been given a complement later.
    final_single = []
    for (margin, values), record in single.items():
        margin = list(margin)
        mask = pd.Series(True, index=frame.index)
        for col, v in zip(margin, values):
            mask &= frame[col].isna() if pd.isna(v) else frame[col] == v
        if int(suppressed[mask].sum()) == 1:
            final_single.append(record)
    frame["suprimida"] = suppressed.to_numpy()
    frame["motivo_supresion"] = pd.Series(
        [PRIMARIA if p else (SECUNDARIA if s else None) for p, s in zip(primary, suppressed)], dtype=object)
    return Supresion(frame=frame, iteraciones=rounds,
                     margenes_sin_complemento=pd.DataFrame(final_single, columns=["margen", "valores"]))


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
