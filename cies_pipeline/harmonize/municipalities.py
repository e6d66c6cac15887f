"""Municipalities: the `dim_municipio` catalogue and the resolver from what a state wrote to a CVEGEO.

The catalogue is INEGI's AGEEML plus, for each of the 32 states, the SESNSP pseudo-municipalities
EE998 (No especificado) and EE999 (Otros municipios) with es_real False. The resolver works within the
row's state only (Benito Juárez is 09014 in CDMX and 23005 in Quintana Roo) and tries, in order, the
rules of domain.md section 3; every answer says which rule decided, and a fuzzy one its score. What does
not resolve, or resolves to two municipalities, becomes the state's EE998 and goes to review.
Abbreviations ('Gral.', 'Sta.') are data: crosswalks/abreviaturas.csv.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Callable

import pandas as pd
from rapidfuzz import fuzz, process

from cies_pipeline.harmonize.crosswalks import crosswalk_version, entidades, load_crosswalk
from cies_pipeline.sources.common import normalize_label

DIM_MUNICIPIO_COLUMNS = ["cvegeo", "cve_ent", "cve_mun", "nombre", "es_real"]
RESOLVE_COLUMNS = ["cvegeo", "regla", "score"]
NO_ESPECIFICADO = ("998", "No especificado")
OTROS_MUNICIPIOS = ("999", "Otros municipios")

# Words that introduce a name rather than being part of it; only removed at the start.
_LEADING = re.compile(r"^(?:municipio|mpio)(?: de)? ")
# A code as a state writes it, or as a spreadsheet stores it ('39', '039', '14039', '14039.0').
_CODE = re.compile(r"^(\d{1,5})(?:\.0+)?$")


def build_dim_municipio(ageeml: pd.DataFrame) -> pd.DataFrame:
    """cvegeo, cve_ent, cve_mun, nombre, es_real: the AGEEML municipalities plus EE998/EE999 per state."""
    real = pd.DataFrame({
        "cvegeo": ageeml["cvegeo"].astype(str).str.zfill(5),
        "cve_ent": ageeml["cve_ent"].astype(str).str.zfill(2),
        "cve_mun": ageeml["cve_mun"].astype(str).str.zfill(3),
        "nombre": ageeml["nombre"].astype(str),
        "es_real": True,
    })
    pseudo = [{"cvegeo": cve + code, "cve_ent": cve, "cve_mun": code, "nombre": nombre, "es_real": False}
              for cve in entidades()["cve_ent"] for code, nombre in (NO_ESPECIFICADO, OTROS_MUNICIPIOS)]
    dim = pd.concat([real, pd.DataFrame.from_records(pseudo, columns=DIM_MUNICIPIO_COLUMNS)],
                    ignore_index=True)
    # A catalogue that already lists 998/999 (some SESNSP-derived ones do) keeps one row per code.
    dim = dim.drop_duplicates("cvegeo", keep="first").sort_values("cvegeo", ignore_index=True)
    dim["es_real"] = dim["es_real"].astype(bool)
    return dim[DIM_MUNICIPIO_COLUMNS]


@lru_cache(maxsize=4)
def _abbreviations(_version: str) -> dict[str, str]:
    return {normalize_label(r.abreviatura): normalize_label(r.expansion)
            for r in load_crosswalk("abreviaturas").itertuples(index=False)}


def normalize_municipio(value: object) -> str:
    """normalize_label, without a leading 'municipio de' / 'mpio.', abbreviations expanded word by word."""
    return municipio_normalizer()(value)


def municipio_normalizer() -> Callable[[object], str]:
    """normalize_municipio with the abbreviations crosswalk as it is now (normalize_municipio looks the file up
    on each call, to see an edit: for the thousands of names of one resolution, once is enough)."""
    expand = _abbreviations(crosswalk_version("abreviaturas"))

    def normalize(value: object) -> str:
        text = _LEADING.sub("", normalize_label(value) + " ").strip()
        return " ".join(expand.get(word, word) for word in text.split())

    return normalize


class _State:
    """One state's municipalities, indexed for the resolver (`names`: (cvegeo, nombre, normalised nombre))."""

    def __init__(self, names: list[tuple[str, str, str]], normalize: Callable[[object], str]):
        self.normalize = normalize
        self.codes = {cvegeo for cvegeo, _, _ in names}
        self.names = names
        self.exact: dict[str, set[str]] = {}
        self.normalized: dict[str, set[str]] = {}
        for cvegeo, nombre, norm in self.names:
            self.exact.setdefault(nombre, set()).add(cvegeo)
            self.normalized.setdefault(norm, set()).add(cvegeo)


def _one(cve_ent: str, written: object, states: dict[str, _State], umbral: float
         ) -> tuple[str | None, str, float]:
    state = states.get(cve_ent)
    unknown = (f"{cve_ent}998" if state else None, "sin_resolver", math.nan)
    if written is None or (not isinstance(written, str) and pd.isna(written)) or not str(written).strip():
        return (f"{cve_ent}998" if state else None), "vacio", math.nan
    if state is None:
        return unknown
    text = str(written).strip()

    code = _CODE.match(text)
    if code:
        digits = code.group(1)
        # 1-3 digits: cve_mun within the row's state; 4-5: a CVEGEO (its state prefix must be this state)
        cvegeo = cve_ent + digits.zfill(3) if len(digits) <= 3 else digits.zfill(5)
        return (cvegeo, "codigo", math.nan) if cvegeo in state.codes else unknown

    norm = state.normalize(text)
    for rule, index, key in (("exacta", state.exact, text), ("normalizada", state.normalized, norm)):
        found = index.get(key, set())
        if len(found) == 1:
            return next(iter(found)), rule, math.nan
        if len(found) > 1:
            return f"{cve_ent}998", "ambigua", math.nan

    if not norm:
        return unknown
    words = norm.split()
    prefixed = {cvegeo for cvegeo, _, official in state.names
                if len(official.split()) > len(words) and official.split()[:len(words)] == words}
    if len(prefixed) == 1:
        return prefixed.pop(), "prefijo", math.nan

    matches = process.extract(norm, [official for _, _, official in state.names], scorer=fuzz.ratio,
                              score_cutoff=umbral, limit=None)
    if matches:
        best = max(score for _, score, _ in matches)
        winners = {state.names[i][0] for _, score, i in matches if score == best}
        if len(winners) == 1:
            return winners.pop(), "aproximada", float(best)
        return f"{cve_ent}998", "ambigua", math.nan
    return unknown


def _states(dim: pd.DataFrame) -> dict[str, _State]:
    """The catalogue by state, every official name normalised once."""
    normalize = municipio_normalizer()
    by_state: dict[str, list[tuple[str, str, str]]] = {}
    for cve, cvegeo, nombre in zip(dim["cve_ent"].tolist(), dim["cvegeo"].tolist(), dim["nombre"].tolist()):
        by_state.setdefault(cve, []).append((cvegeo, nombre, normalize(nombre)))
    return {cve: _State(names, normalize) for cve, names in by_state.items()}


def resolve_municipios(cve_ent: pd.Series, municipio: pd.Series, dim: pd.DataFrame,
                       umbral: float = 90.0) -> pd.DataFrame:
    """cvegeo, regla, score per row (index of `municipio`); names resolve within the row's state only.

    Rules in order: vacio (blank -> EE998), codigo (must exist in `dim`, 998/999 included), exacta,
    normalizada, prefijo (a unique official name starts with the written words), aproximada (fuzz.ratio on
    normalised names >= umbral, unique best; score recorded), ambigua (2+ municipalities -> EE998),
    sin_resolver (-> EE998). score is NaN except for aproximada. A state not in `dim` gives cvegeo None.
    """
    pairs = pd.DataFrame({"cve_ent": pd.Series(cve_ent, dtype="object").to_numpy(),
                          "municipio": pd.Series(municipio, dtype="object").to_numpy()},
                         index=pd.Series(municipio).index)
    if not len(pairs):
        return pd.DataFrame({"cvegeo": pd.Series(dtype=object), "regla": pd.Series(dtype=object),
                             "score": pd.Series(dtype=float)}, index=pairs.index)
    states = _states(dim)
    # Resolve each distinct (state, text) once: inputs have many rows but few distinct pairs.
    keys = pairs.astype(str).where(pairs.notna(), "\0")
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(keys))
    firsts = pd.Series(range(len(pairs))).groupby(codes).first()
    cve_ent, written = pairs["cve_ent"].to_numpy(), pairs["municipio"].to_numpy()
    resolved = [_one(cve_ent[i], written[i], states, umbral) for i in firsts]
    table = pd.DataFrame.from_records(resolved, columns=RESOLVE_COLUMNS)
    out = table.iloc[codes].set_axis(pairs.index)
    out["score"] = out["score"].astype(float)
    out["cvegeo"] = out["cvegeo"].astype(object).where(out["cvegeo"].notna(), None)
    out["regla"] = out["regla"].astype(object)
    return out


RULES = ("codigo", "exacta", "normalizada", "prefijo", "aproximada", "ambigua", "sin_resolver", "vacio")
REPORT_COLUMNS = ["regla", "nombres", "filas"]


def resolution_report(cve_ent: pd.Series, municipio: pd.Series, dim: pd.DataFrame,
                      umbral: float = 90.0) -> pd.DataFrame:
    """How the municipalities written were resolved: per rule (RULES order, every rule listed), how many
    distinct (state, written text) pairs (`nombres`) and how many rows (`filas`) it decided."""
    resolved = resolve_municipios(cve_ent, municipio, dim, umbral)
    pairs = pd.DataFrame({"cve_ent": pd.Series(cve_ent, dtype=object).to_numpy(),
                          "municipio": pd.Series(municipio, dtype=object).astype(str).to_numpy(),
                          "regla": resolved["regla"].to_numpy()})
    filas = pairs["regla"].value_counts()
    nombres = pairs.drop_duplicates(["cve_ent", "municipio"])["regla"].value_counts()
    return pd.DataFrame({"regla": list(RULES),
                         "nombres": [int(nombres.get(r, 0)) for r in RULES],
                         "filas": [int(filas.get(r, 0)) for r in RULES]}, columns=REPORT_COLUMNS)
