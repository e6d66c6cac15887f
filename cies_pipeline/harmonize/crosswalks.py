"""Crosswalk files: loading them (with their version) and the state resolver everything uses.

A crosswalk is a CSV under `harmonize/crosswalks/` that an analyst can open and extend. Its version is the
first 12 hex digits of the file's sha256, so any edit is visible in `warehouse.cargas` and on every
harmonized row that it classified.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import pandas as pd

from cies_pipeline.sources.common import normalize_label

CROSSWALK_DIR = Path(__file__).parent / "crosswalks"


@lru_cache(maxsize=None)
def _load(name: str, directory: str) -> tuple[pd.DataFrame, str]:
    path = Path(directory) / f"{name}.csv"
    raw = path.read_bytes()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return frame, hashlib.sha256(raw).hexdigest()[:12]


def load_crosswalk(name: str, directory: Path | None = None) -> pd.DataFrame:
    """The crosswalk `name` (file `<name>.csv`) as text columns; blank cells are ''."""
    return _load(name, str(directory or CROSSWALK_DIR))[0].copy()


def crosswalk_version(name: str, directory: Path | None = None) -> str:
    return _load(name, str(directory or CROSSWALK_DIR))[1]


def crosswalk_versions(directory: Path | None = None) -> dict[str, str]:
    """Every crosswalk file's version, for `warehouse.cargas`."""
    directory = directory or CROSSWALK_DIR
    return {p.stem: crosswalk_version(p.stem, directory) for p in sorted(directory.glob("*.csv"))}


def clear_cache() -> None:
    """Forget loaded crosswalks (after an analyst edits one in a long-lived process)."""
    _load.cache_clear()
    _entidad_index.cache_clear()


# -- states ---------------------------------------------------------------------------------------
def entidades() -> pd.DataFrame:
    """The 32 states: cve_ent ('01'-'32'), nombre, nombre_sesnsp, nombre_corto, abreviatura."""
    return load_crosswalk("entidades")


@lru_cache(maxsize=1)
def _entidad_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for row in entidades().itertuples(index=False):
        for label in (row.nombre, row.nombre_sesnsp, row.nombre_corto, row.abreviatura):
            index[normalize_label(label)] = row.cve_ent
        index[str(int(row.cve_ent))] = row.cve_ent
        index[row.cve_ent] = row.cve_ent
    for row in load_crosswalk("entidades_alias").itertuples(index=False):
        index[normalize_label(row.alias)] = row.cve_ent
    return index


def resolve_entidad(value: object) -> str | None:
    """'01'-'32' for any accepted way of writing a state (name, short name, abbreviation, code), else None."""
    if value is None:
        return None
    if isinstance(value, float):
        if pd.isna(value) or not value.is_integer():
            return None
        value = int(value)
    key = normalize_label(value)
    if key.isdigit():
        key = str(int(key))
    return _entidad_index().get(key)
