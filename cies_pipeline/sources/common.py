"""What every reader shares: the result container, lineage, file hashing, text normalisation.

Every reader returns a `SourceResult`. Its frames are long and canonical; every row carries the lineage
columns `archivo_origen, archivo_sha256, hoja, fila_origen`. What could not be used is never dropped
silently: it is a quarantine record (one per failing cell), an excluded row (with a reason), a rejected
file or sheet, or a refused column. Row accounting per file and sheet is derived from these records and
from `leidas`, which the reader counts independently (so a reader that loses rows fails the accounting).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

LINEAGE_COLUMNS = ["archivo_origen", "archivo_sha256", "hoja", "fila_origen"]
QUARANTINE_COLUMNS = ["archivo_origen", "hoja", "fila_origen", "columna", "valor", "motivo"]
EXCLUDED_COLUMNS = ["archivo_origen", "hoja", "fila_origen", "motivo"]
# Bulk exclusions that are counted rather than listed row by row (e.g. 2.7 million out-of-scope crime
# lines of a SESNSP municipal file).
EXCLUDED_SUMMARY_COLUMNS = ["archivo_origen", "hoja", "motivo", "filas"]
REJECTED_FILE_COLUMNS = ["archivo_origen", "hoja", "motivo"]
REJECTED_COLUMN_COLUMNS = ["archivo_origen", "hoja", "columna", "motivo"]
ACCOUNTING_COLUMNS = ["archivo_origen", "hoja", "leidas", "cargadas", "en_cuarentena", "excluidas"]
FILE_COLUMNS = ["archivo_origen", "archivo_sha256", "tipo", "bytes", "modificado"]

# Reasons (motivo) used across readers. Quarantine reasons name what was wrong with one cell.
EXCLUDED_REASONS = {"total", "vacia", "nota", "encabezado_repetido", "reemplazada",
                    "delito_fuera_de_alcance", "fila_rota"}

# Strings a count cell may hold that mean "blank" (not reported), never zero.
BLANK_STRINGS = {"", "nan", "none", "null", "-", "--", "n/a", "na", "s/d", "sd"}


def empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def _used_categories(values: pd.Series) -> pd.Index:
    """The categories a categorical column uses, in their order (those remove_unused_categories keeps), from
    one count of its codes instead of sorting them (0.001-0.002 s against 0.01 s per column of 336,000 rows)."""
    codes = values.cat.codes.to_numpy()
    return values.cat.categories[np.bincount(codes[codes >= 0], minlength=len(values.cat.categories)) > 0]


KEY_LIMIT = 2**62   # the product of the columns' code counts that still fits one int64 key per row


def combined_key(columns: pd.DataFrame, limit: int = KEY_LIMIT, renumber: bool = True) -> np.ndarray | None:
    """One int64 per row, equal for two rows exactly when all their values in `columns` are (a missing value
    equal to a missing one): each column's codes (its categories', or pandas.factorize's; missing as 0)
    combined, without factorizing the rows' tuples. When the combinations would reach `limit`, the key so far
    is renumbered to its distinct values (`renumber`), or None is returned."""
    key = np.zeros(len(columns), dtype=np.int64)
    combinations = 1
    for i in range(columns.shape[1]):
        column = columns.iloc[:, i]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes, count = column.cat.codes.to_numpy(), len(column.dtype.categories)
        elif (constant := _constant_codes(column)) is not None:
            codes, count = constant
        else:
            codes, uniques = pd.factorize(column, use_na_sentinel=True)
            count = len(uniques)
        if combinations * (count + 1) >= limit:
            if not renumber:
                return None
            key, distinct = pd.factorize(key)
            key, combinations = key.astype(np.int64), max(len(distinct), 1)
        combinations *= count + 1
        key = key * (count + 1) + (codes.astype(np.int64) + 1)
    return key


def _constant_codes(column: pd.Series) -> tuple[np.ndarray, int] | None:
    """pandas.factorize's (codes, number of values) for a numpy integer or datetime column holding one value in
    every row (a load's time, a file's release month), from one comparison instead of a hash of every row;
    None for any other column."""
    values = column.to_numpy()
    if not len(values) or values.dtype.kind not in "iuMm":
        return None
    as_int = values.view(np.int64) if values.dtype.itemsize == 8 else values
    if not (as_int == as_int[0]).all():
        return None
    missing = values.dtype.kind in "Mm" and np.isnat(values[0])
    return np.full(len(values), -1 if missing else 0, dtype=np.int8), 0 if missing else 1


def all_missing(n: int) -> pd.Categorical:
    """n missing labels, as a categorical without categories: no Python None per row to pickle, hash or
    factorize (a csv's `hoja`, a fact's columns that do not apply to a source)."""
    return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=pd.Index([], dtype=object))


def concat_keeping_categories(frames: list[pd.DataFrame], columns: tuple[str, ...] | None = None,
                              sort: bool = False) -> pd.DataFrame:
    """pd.concat, except that categorical columns stay categorical: each is first given the same categories in
    every frame (their union), so pd.concat keeps it instead of building a Python string per row (and the
    caller factorizing them again).

    `columns`: these columns, when at least one frame has them categorical (the values of the others join the
    union); by default, the columns categorical in every frame. `sort`: the union sorted and without unused
    categories (what astype("category") of the concatenation gives) rather than in order of appearance."""
    out = [f.copy(deep=False) for f in frames]
    if columns is None:
        columns = tuple(c for c in (out[0].columns if out else [])
                        if all(c in f and isinstance(f[c].dtype, pd.CategoricalDtype) for f in out))
    for column in columns:
        if len(out) < 2 or not all(column in f for f in out) \
                or not any(isinstance(f[column].dtype, pd.CategoricalDtype) for f in out):
            continue
        values = [(_used_categories(f[column]) if sort else f[column].cat.categories)
                  if isinstance(f[column].dtype, pd.CategoricalDtype) else pd.Index(f[column].dropna().unique())
                  for f in out]
        union = values[0].append(values[1:]).unique()
        if sort:
            try:
                union = union.sort_values()
            except TypeError:   # labels of mixed types: left to pd.concat
                continue
        for f in out:
            f[column] = f[column].astype(pd.CategoricalDtype(union))
    return pd.concat(out, ignore_index=True)


def sha256_of(path: Path) -> str:
    """A file's sha256 (hashlib releases the GIL on each block: in a thread it runs beside other work)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


_NON_WORD = re.compile(r"[^0-9a-zñ]+")


def normalize_label(value: object) -> str:
    """Lower case, no accents (ñ kept as n too), punctuation as spaces, single spaces."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = strip_accents(str(value).lower().replace("ñ", "n"))
    return " ".join(_NON_WORD.sub(" ", text).split())


# Connecting words that carry no meaning in a header or sheet name ("Fecha de instalación").
CONNECTING_WORDS = frozenset({"de", "del", "la", "el", "los", "las", "y"})


def label_key(value: object) -> str:
    """normalize_label without connecting words: the key headers and sheet names are matched on."""
    return " ".join(w for w in normalize_label(value).split() if w not in CONNECTING_WORDS)


def _distinct_rows(filas: np.ndarray) -> np.ndarray:
    """The distinct row numbers among `filas`, ascending. Row numbers are line numbers, at most a few million:
    marked in a table of flags (a SESNSP frame repeats each of its rows once per month: 330,000 rows in 1.5 ms,
    against 11 ms for np.unique); np.unique for anything else."""
    if not len(filas) or filas.dtype.kind not in "iu":
        return np.unique(filas)
    lowest, highest = int(filas.min()), int(filas.max())
    if lowest < 0 or highest > 8 * len(filas) + (1 << 22):
        return np.unique(filas)
    seen = np.zeros(highest + 1, dtype=bool)
    seen[filas] = True
    return np.flatnonzero(seen).astype(filas.dtype, copy=False)


@dataclass
class SourceResult:
    """What a reader hands on. Frames are keyed by kind (e.g. 'carpetas', 'victimas')."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    cuarentena: list[dict] = field(default_factory=list)
    excluidas: list[dict] = field(default_factory=list)
    excluidas_resumen: list[dict] = field(default_factory=list)
    rechazados: list[dict] = field(default_factory=list)
    columnas_rechazadas: list[dict] = field(default_factory=list)
    # (archivo_origen, hoja) -> non-empty physical rows below the header, counted by the reader
    leidas: dict[tuple[str, str | None], int] = field(default_factory=dict)
    archivos: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Files whose result was taken from the cache (same sha256, code version and month: memo.py), and a
    # fingerprint of everything the result depends on ("" when unknown), for the steps downstream to skip.
    reutilizados: list[str] = field(default_factory=list)
    huella: str = ""
    # Totals rows a state wrote under its table (excluded as 'total'), with the figure written and the sum
    # of the rows it covers: the cross-check of quality.crosssource.totales_discrepantes.
    totales: list[dict] = field(default_factory=list)
    # SESNSP: one record per file (release month, its origin, months taken as published); see sesnsp.py
    publicaciones: list[dict] = field(default_factory=list)

    # -- recording -------------------------------------------------------------------------------
    def quarantine(self, archivo: str, hoja: str | None, fila: int, columna: str, valor: object,
                   motivo: str) -> None:
        self.cuarentena.append({"archivo_origen": archivo, "hoja": hoja, "fila_origen": int(fila),
                                "columna": columna, "valor": None if valor is None else str(valor),
                                "motivo": motivo})

    def exclude(self, archivo: str, hoja: str | None, fila: int, motivo: str) -> None:
        assert motivo in EXCLUDED_REASONS, motivo
        self.excluidas.append({"archivo_origen": archivo, "hoja": hoja, "fila_origen": int(fila),
                               "motivo": motivo})

    def exclude_many(self, archivo: str, hoja: str | None, motivo: str, filas: int) -> None:
        assert motivo in EXCLUDED_REASONS, motivo
        if filas:
            self.excluidas_resumen.append({"archivo_origen": archivo, "hoja": hoja, "motivo": motivo,
                                           "filas": int(filas)})

    def record_total(self, archivo: str, hoja: str | None, fila: int, columna: str, escrito: int | None,
                     suma: int) -> None:
        """A totals row: `escrito` is the figure the state wrote (None if blank or unreadable), `suma` the sum
        of the loaded rows it covers (since the previous subtotal for a subtotal row)."""
        self.totales.append({"archivo_origen": archivo, "hoja": hoja, "fila_origen": int(fila), "columna": columna,
                             "escrito": escrito, "suma": int(suma)})

    def reject(self, archivo: str, hoja: str | None, motivo: str) -> None:
        self.rechazados.append({"archivo_origen": archivo, "hoja": hoja, "motivo": motivo})

    def refuse_column(self, archivo: str, hoja: str | None, columna: str, motivo: str) -> None:
        self.columnas_rechazadas.append({"archivo_origen": archivo, "hoja": hoja, "columna": columna,
                                         "motivo": motivo})

    def add_file(self, path: Path, archivo: str, sha256: str, tipo: str) -> None:
        stat = path.stat()
        self.archivos.append({"archivo_origen": archivo, "archivo_sha256": sha256, "tipo": tipo,
                              "bytes": stat.st_size,
                              "modificado": pd.Timestamp(stat.st_mtime, unit="s", tz="UTC")})

    def extend(self, other: "SourceResult") -> "SourceResult":
        """Merge another result into this one (frames of the same kind are concatenated)."""
        for kind, frame in other.frames.items():
            if kind in self.frames and len(self.frames[kind]):
                self.frames[kind] = concat_keeping_categories([self.frames[kind], frame]) \
                    if len(frame) else self.frames[kind]
            else:
                self.frames[kind] = frame
        self.cuarentena += other.cuarentena
        self.excluidas += other.excluidas
        self.excluidas_resumen += other.excluidas_resumen
        self.rechazados += other.rechazados
        self.columnas_rechazadas += other.columnas_rechazadas
        self.leidas.update(other.leidas)
        self.archivos += other.archivos
        self.warnings += other.warnings
        self.publicaciones += other.publicaciones
        self.totales += other.totales
        self.reutilizados += other.reutilizados
        return self

    def mark_reused(self, files: list[tuple[Path, str]]) -> None:
        """This result came from the cache for these (path, archivo_origen): listed as reused, with each
        file's size and mtime as they are now (same content)."""
        for path, archivo in files:
            stat = path.stat()
            for record in self.archivos:
                if record["archivo_origen"] == archivo:
                    record["bytes"] = stat.st_size
                    record["modificado"] = pd.Timestamp(stat.st_mtime, unit="s", tz="UTC")
            self.reutilizados.append(archivo)


    # -- tables ----------------------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        columns = {"cuarentena": QUARANTINE_COLUMNS, "excluidas": EXCLUDED_COLUMNS,
                   "excluidas_resumen": EXCLUDED_SUMMARY_COLUMNS, "rechazados": REJECTED_FILE_COLUMNS,
                   "columnas_rechazadas": REJECTED_COLUMN_COLUMNS, "archivos": FILE_COLUMNS}[name]
        records = getattr(self, name)
        return pd.DataFrame.from_records(records, columns=columns) if records else empty_frame(columns)

    def contabilidad(self) -> pd.DataFrame:
        """Row accounting per file and sheet: leidas (counted by the reader) against what became of them.

        A physical row is `en_cuarentena` if any of its cells was quarantined (in a wide SESNSP line the
        other months still load), `excluida` if listed or summarised as excluded, else `cargada` when it
        appears in a frame. The check `leidas == cargadas + en_cuarentena + excluidas` is the point.
        """
        quarantined: dict[tuple, set[int]] = {}
        for r in self.cuarentena:
            quarantined.setdefault((r["archivo_origen"], r["hoja"]), set()).add(r["fila_origen"])
        excluded: dict[tuple, set[int]] = {}
        for r in self.excluidas:
            excluded.setdefault((r["archivo_origen"], r["hoja"]), set()).add(r["fila_origen"])
        summarised: dict[tuple, int] = {}
        for r in self.excluidas_resumen:
            key = (r["archivo_origen"], r["hoja"])
            summarised[key] = summarised.get(key, 0) + r["filas"]
        loaded: dict[tuple, set[int]] = {}
        for frame in self.frames.values():
            if not len(frame) or "fila_origen" not in frame:
                continue
            # the distinct rows of each (file, sheet), a missing sheet as None: numpy per group (a SESNSP frame
            # repeats each of its tens of thousands of rows once per month)
            archivo_codes, archivos = pd.factorize(frame["archivo_origen"])
            archivos = np.asarray(archivos, dtype=object)
            if "hoja" in frame:
                hoja_codes, hojas = pd.factorize(frame["hoja"])      # None and NaN: code -1
                hojas = np.asarray(hojas, dtype=object)
            else:
                hoja_codes, hojas = np.full(len(frame), -1, dtype=np.int64), np.empty(0, dtype=object)
            filas = frame["fila_origen"].to_numpy()
            group = archivo_codes.astype(np.int64) * (len(hojas) + 1) + (hoja_codes.astype(np.int64) + 1)
            groups = pd.unique(group).tolist()
            for g in groups:
                a, h = divmod(g, len(hojas) + 1)
                key = (archivos[a] if a >= 0 else float("nan"), hojas[h - 1] if h > 0 else None)
                rows_of = filas if len(groups) == 1 else filas[group == g]
                loaded.setdefault(key, set()).update(_distinct_rows(rows_of).tolist())
        rows = []
        for key in sorted(set(self.leidas) | set(loaded) | set(quarantined) | set(excluded)
                          | set(summarised), key=lambda k: (k[0], k[1] or "")):
            q = quarantined.get(key, set())
            x = excluded.get(key, set())
            c = loaded.get(key, set()) - q - x
            rows.append({"archivo_origen": key[0], "hoja": key[1], "leidas": self.leidas.get(key, 0),
                         "cargadas": len(c), "en_cuarentena": len(q - x),
                         "excluidas": len(x) + summarised.get(key, 0)})
        return pd.DataFrame.from_records(rows, columns=ACCOUNTING_COLUMNS) if rows \
            else empty_frame(ACCOUNTING_COLUMNS)


class SourceFileError(ValueError):
    """A file (or sheet) that cannot be read. The message names file, sheet, row and column."""

    def __init__(self, archivo: str, motivo: str, hoja: str | None = None):
        self.archivo, self.motivo, self.hoja = archivo, motivo, hoja
        where = f"{archivo}" + (f", hoja '{hoja}'" if hoja else "")
        super().__init__(f"{where}: {motivo}")


def read_cached(cache, name: str, path: Path, archivo: str, extra: tuple,
                read: Callable[[], "SourceResult"]) -> tuple["SourceResult", str]:
    """(result, cache key) of one file's reader: `read()` when there is no cache (key ''), else the stored
    result for the file's content, code version and `extra` (memo.Cache), marked as reused."""
    if cache is None:
        return read(), ""
    one, reused, key = cache.read(name, [path], (archivo, *extra), read)
    if reused:
        one.mark_reused([(path, archivo)])
    return one, key
