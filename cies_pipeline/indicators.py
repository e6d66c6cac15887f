"""Rates per 100,000 inhabitants: a pure function of the harmonized facts and CONAPO's populations.

`warehouse.indicadores` holds, for each source (CIE, SESNSP) and measure (carpetas, victimas), the yearly
figure by state and by municipality, the population it was divided by and the rate (domain.md section 8).
Which rows make a figure, so that nothing is counted twice:
- state level: SESNSP from its state files (nivel 'estatal'); the CIE from all its rows (it reports by
  municipality, a blank municipality being the state's EE998);
- municipal level: SESNSP from its municipal files (carpetas always, victims from 2026); the CIE by the
  CVEGEO its rows resolved to. EE998/EE999 have no population: their rate is NULL, their figure is kept.
A year's figure sums the non-blank monthly counts available (NULL when every count is blank): a year still
being published is a partial year, as the table's description says.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

INDICADORES_COLUMNS = ["nivel", "anio", "cve_ent", "cvegeo", "fuente", "medida", "valor", "poblacion",
                       "tasa_100k"]
POR = 100_000


def _yearly(frame: pd.DataFrame, measure: str, keys: list[str]) -> pd.DataFrame:
    if not len(frame):
        return pd.DataFrame(columns=["anio", *keys, "valor"])
    counts = pd.to_numeric(frame[measure], errors="coerce").astype("Float64")
    grouped = frame.assign(anio=pd.to_datetime(frame["periodo"]).dt.year, _v=counts) \
        .groupby(["anio", *keys], sort=True)["_v"]
    return grouped.sum(min_count=1).rename("valor").reset_index()


def _population(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """One population per (anio, key). Two files giving the same one are not added: the first file (by
    name) is used; the GX suites flag such repeats before this runs."""
    if frame is None or not len(frame):
        return pd.DataFrame({"anio": pd.Series(dtype="int64"), key: pd.Series(dtype=object),
                             "poblacion": pd.Series(dtype="Int64")})
    ordered = frame.sort_values(["anio", key, "archivo_origen"]) if "archivo_origen" in frame else frame
    out = ordered.drop_duplicates(["anio", key])[["anio", key, "poblacion"]].copy()
    out["anio"] = out["anio"].astype("int64")
    out["poblacion"] = out["poblacion"].astype("Int64")
    return out


def _level(facts: dict[str, pd.DataFrame], nivel: str, population: pd.DataFrame) -> list[pd.DataFrame]:
    key = "cve_ent" if nivel == "estatal" else "cvegeo"
    parts = []
    for medida, frame in facts.items():
        for fuente in ("CIE", "SESNSP"):
            rows = frame[frame["fuente"] == fuente] if len(frame) else frame
            if len(rows) and fuente == "SESNSP":
                rows = rows[rows["nivel"] == nivel]
            if not len(rows):
                continue
            keys = ["cve_ent"] if nivel == "estatal" else ["cve_ent", "cvegeo"]
            yearly = _yearly(rows, medida, keys)
            yearly["anio"] = yearly["anio"].astype("int64")
            yearly = yearly.merge(population, on=["anio", key], how="left")
            yearly["nivel"], yearly["fuente"], yearly["medida"] = nivel, fuente, medida
            if nivel == "estatal":
                yearly["cvegeo"] = None
            parts.append(yearly)
    return parts


def indicadores(carpetas: pd.DataFrame, victimas: pd.DataFrame, poblacion_estatal: pd.DataFrame,
                poblacion_municipal: pd.DataFrame) -> pd.DataFrame:
    """INDICADORES_COLUMNS from the harmonized fact frames (both sources, both levels) and the populations
    (poblacion_estatal: anio, cve_ent, poblacion; poblacion_municipal: anio, cvegeo, poblacion)."""
    facts = {"carpetas": carpetas, "victimas": victimas}
    parts = _level(facts, "estatal", _population(poblacion_estatal, "cve_ent")) \
        + _level(facts, "municipal", _population(poblacion_municipal, "cvegeo"))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in INDICADORES_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["valor"] = out["valor"].astype("Float64").round().astype("Int64")
    out["poblacion"] = out["poblacion"].astype("Int64")
    valor = out["valor"].astype("float64").to_numpy(na_value=np.nan)
    poblacion = out["poblacion"].astype("float64").to_numpy(na_value=np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        tasa = np.where(poblacion > 0, valor * POR / poblacion, np.nan)
    out["tasa_100k"] = pd.Series(tasa, index=out.index, dtype="float64")
    out["cvegeo"] = out["cvegeo"].astype(object).where(out["cvegeo"].notna(), None)
    out = out.sort_values(["nivel", "fuente", "medida", "anio", "cve_ent", "cvegeo"], na_position="first",
                          kind="stable", ignore_index=True)
    return out[INDICADORES_COLUMNS]
