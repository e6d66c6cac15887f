"""Crosswalk files: loading them (with their version) and the state resolver everything uses.

A crosswalk is a CSV under `harmonize/crosswalks/` that an analyst can open and extend. Its version is the
first 12 hex digits of the file's sha256, so any edit is visible in `warehouse.cargas` and on every
harmonized row that it classified (`versiones_crosswalk`).

An analyst keeps an edited copy outside the package by pointing CIES_CROSSWALK_DIR at a folder: each
crosswalk is read from there when the folder holds `<name>.csv`, else from the package. The variable and
the files are read on every load (a loaded file is cached by path, size and modification time), so the
next run after an edit, even in the same process, classifies with the edited file.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from cies_pipeline.sources.common import normalize_label

CROSSWALK_DIR = Path(__file__).parent / "crosswalks"
CROSSWALK_DIR_ENV = "CIES_CROSSWALK_DIR"


def crosswalk_dir() -> Path:
    """The analyst's folder (CIES_CROSSWALK_DIR) when set, else the package's."""
    configured = os.environ.get(CROSSWALK_DIR_ENV)
    return Path(configured) if configured else CROSSWALK_DIR


def _path(name: str, directory: Path | None) -> Path:
    path = Path(directory or crosswalk_dir()) / f"{name}.csv"
    if directory is None and not path.is_file():
        return CROSSWALK_DIR / f"{name}.csv"     # an override folder may hold only the files it edits
    return path


@lru_cache(maxsize=256)
def _load_file(path: str, _size: int, _mtime_ns: int) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@lru_cache(maxsize=256)
def _version_of_file(path: str, _size: int, _mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def _stat_key(name: str, directory: Path | None) -> tuple[str, int, int]:
    """(path, size, mtime_ns) of the file the crosswalk `name` is read from: what its caches are keyed by."""
    path = _path(name, directory)
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


def load_crosswalk(name: str, directory: Path | None = None) -> pd.DataFrame:
    """The crosswalk `name` (file `<name>.csv`) as text columns; blank cells are ''."""
    return _load_file(*_stat_key(name, directory)).copy()


def crosswalk_version(name: str, directory: Path | None = None) -> str:
    """The file's version, from its bytes alone: ingest/cambios asks for every crosswalk's version on each
    refresh, and a skipped refresh needs none of their tables (parsing the eleven files cost it 0.015 s)."""
    return _version_of_file(*_stat_key(name, directory))


def crosswalk_versions(directory: Path | None = None) -> dict[str, str]:
    """Every crosswalk file's version, for `warehouse.cargas` (the package's files, as overridden)."""
    names = sorted({p.stem for p in CROSSWALK_DIR.glob("*.csv")}
                   | ({p.stem for p in Path(directory or crosswalk_dir()).glob("*.csv")}))
    return {name: crosswalk_version(name, directory) for name in names}


def versions_text(names) -> str:
    """'formas_explotacion@ab12cd34ef56;sexo@…': the versions of the crosswalks that classified a row."""
    return ";".join(f"{name}@{crosswalk_version(name)}" for name in names)


def clear_cache() -> None:
    """Forget loaded crosswalks (files are re-read anyway when their size or modification time change)."""
    _load_file.cache_clear()
    _version_of_file.cache_clear()
    _entidad_index_of.cache_clear()


# -- states ---------------------------------------------------------------------------------------
def entidades() -> pd.DataFrame:
    """The 32 states: cve_ent ('01'-'32'), nombre, nombre_sesnsp, nombre_corto, abreviatura."""
    return load_crosswalk("entidades")


def _entidad_index() -> dict[str, str]:
    return _entidad_index_of(crosswalk_version("entidades") + crosswalk_version("entidades_alias"))


@lru_cache(maxsize=4)
def _entidad_index_of(_version: str) -> dict[str, str]:
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
