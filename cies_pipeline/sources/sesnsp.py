"""SESNSP open data, both methodologies: 2015-2025 (CNSP/38/15: state crimes, state victims, municipal
crimes) and 2026 (RNID: the same three plus municipal victims), read into long frames (one row per line and
published month) with their lineage.

This module owns the four layouts (recognised by their header, never by the file name), the release month
(`corte`) of a file, and the SESNSP-specific rules of domain.md sections 2 and 10: empty months are not
published, months after `corte` are never loaded, one key is one line (a repeated key quarantines both),
repeated header rows and a broken last row are excluded. RNID-2026 specifics: a line's year decides its
`metodologia` (2026 onwards 'RNID-2026'); encoding is windows-1252 or UTF-8 with a BOM, detected from the
bytes; unpublished months are empty or `0`, so for 2026 lines the release month inferred from the content is
the highest month with a non-zero figure (all crimes), and a `<mes><año>` in the file name overrides it.
Every file's release month, where it came from and the months taken as published are recorded in
`SourceResult.publicaciones`; `metodologia_overlaps` finds months that a 2015-2025 file and a 2026 file
both cover (a double count the checks must stop).

Speed: the municipal file has 2.7 million lines (404 MB) of which a few tens of thousands are in scope. It is
scanned in binary, in chunks, with numpy: only lines that contain a wanted crime, do not look like a data line
or have the wrong number of commas (plus the file's last line) are decoded and parsed; the others are counted
as out of scope and only inspected for the release month (their count of trailing empty cells).
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from cies_pipeline.memo import memo_key
from cies_pipeline.sources.common import (
    LINEAGE_COLUMNS, SourceFileError, SourceResult, normalize_label, read_cached, strip_accents,
)

SESNSP_KINDS = ("sesnsp_carpetas_estatal", "sesnsp_victimas_estatal", "sesnsp_carpetas_municipal",
                "sesnsp_victimas_municipal")
METODOLOGIA = "CNSP-38-15"
METODOLOGIA_RNID = "RNID-2026"
RNID_DESDE_ANIO = 2026
MESES = ("Enero", "Febrero", "Marzo", "Abril", "Mayo", "Junio", "Julio", "Agosto", "Septiembre",
         "Octubre", "Noviembre", "Diciembre")

# Columns before the twelve months, per kind, as SESNSP writes them (domain.md section 2).
_LEADING = {
    "sesnsp_carpetas_estatal": ("Año", "Clave_Ent", "Entidad", "Bien jurídico afectado", "Tipo de delito",
                                "Subtipo de delito", "Modalidad"),
    "sesnsp_victimas_estatal": ("Año", "Clave_Ent", "Entidad", "Bien jurídico afectado", "Tipo de delito",
                                "Subtipo de delito", "Modalidad", "Sexo", "Rango de edad"),
    "sesnsp_carpetas_municipal": ("Año", "Clave_Ent", "Entidad", "Cve. Municipio", "Municipio",
                                  "Bien jurídico afectado", "Tipo de delito", "Subtipo de delito",
                                  "Modalidad"),
    # new with RNID-2026: victims by municipality
    "sesnsp_victimas_municipal": ("Año", "Clave_Ent", "Entidad", "Cve. Municipio", "Municipio",
                                  "Bien jurídico afectado", "Tipo de delito", "Subtipo de delito",
                                  "Modalidad", "Sexo", "Rango de edad"),
}
_HEADERS = {kind: tuple(normalize_label(c) for c in cols + MESES) for kind, cols in _LEADING.items()}

_COMMON = LINEAGE_COLUMNS + ["corte", "metodologia", "periodo", "cve_ent", "delito"]
FRAME_COLUMNS = {
    "sesnsp_carpetas_estatal": _COMMON + ["carpetas"],
    "sesnsp_victimas_estatal": _COMMON + ["sexo", "rango_edad", "victimas"],
    "sesnsp_carpetas_municipal": _COMMON + ["cvegeo", "municipio", "carpetas"],
    "sesnsp_victimas_municipal": _COMMON + ["cvegeo", "municipio", "sexo", "rango_edad", "victimas"],
}
_MEASURE = {"sesnsp_carpetas_estatal": "carpetas", "sesnsp_victimas_estatal": "victimas",
            "sesnsp_carpetas_municipal": "carpetas", "sesnsp_victimas_municipal": "victimas"}
_MUNICIPAL_KINDS = ("sesnsp_carpetas_municipal", "sesnsp_victimas_municipal")
_VICTIM_KINDS = ("sesnsp_victimas_estatal", "sesnsp_victimas_municipal")

_HEAD_BYTES = 1 << 16
_CHUNK_BYTES = 1 << 22           # 4 MB: numpy's temporaries stay in reused heap memory
_MAX_RECORD_BYTES = 1 << 20
_COUNT = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)")
_YEAR = re.compile(r"\d{4}")
_MONTH_NUMBERS = range(1, 13)
_MONTH_PREFIXES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                   "septiembre", "octubre", "noviembre", "diciembre")
_NAME_MONTH = re.compile(r"(?<![a-z])([a-z]{3,10})[-_ ]?(\d{4}|\d{2})(?!\d)")


# -- layout and encoding ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Layout:
    kind: str
    encoding: str
    bom: int                    # bytes of BOM before the header
    header: tuple[str, ...]     # the header cells as written in the file

    @property
    def n(self) -> int:
        return len(self.header)

    @property
    def first_month(self) -> int:
        return len(_LEADING[self.kind])

    def col(self, canonical: str) -> int:
        return _LEADING[self.kind].index(canonical)


def _encoding_of(head: bytes) -> tuple[str, int]:
    """The file's encoding from its first bytes: a BOM means UTF-8; else UTF-8 if the head is valid UTF-8
    with multibyte characters (a cp1252 'Año' is not valid UTF-8); else windows-1252 (not latin-1: SESNSP
    text may hold bytes 0x80-0x9F, curly quotes and the like)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", len(codecs.BOM_UTF8)
    cut = head.rfind(b"\n")
    sample = head[:cut] if cut > 0 else head
    if any(b > 0x7F for b in sample):
        try:
            sample.decode("utf-8")
            return "utf-8", 0
        except UnicodeDecodeError:
            pass
    return "cp1252", 0


def _split_cells(text: str) -> list[str]:
    if '"' not in text:
        return text.split(",")
    return next(csv.reader([text]), [])


def _layout_of(head: bytes) -> _Layout | None:
    encoding, bom = _encoding_of(head)
    end = head.find(b"\n", bom)
    if end < 0:
        end = len(head)
    line = head[bom:end].rstrip(b"\r").decode(encoding, errors="replace")
    try:
        cells = _split_cells(line)
    except csv.Error:
        return None
    while cells and not cells[-1].strip():
        cells.pop()
    normalized = tuple(normalize_label(c) for c in cells)
    for kind, expected in _HEADERS.items():
        if normalized == expected:
            return _Layout(kind, encoding, bom, tuple(c.strip() for c in cells))
    return None


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read(_HEAD_BYTES)


def detect_sesnsp_kind(path: Path) -> str | None:
    """One of SESNSP_KINDS when the file's header (decoded) is a SESNSP layout (2015-2025 or RNID-2026)."""
    layout = _layout_of(_read_head(Path(path)))
    return layout.kind if layout else None


def release_month_from_name(name: str) -> date | None:
    """The release month a file name states ('IDVFC_NM_jun25.csv', '..._ago2026.csv'), first of month."""
    text = strip_accents(Path(name).name.lower())
    found = None
    for m in _NAME_MONTH.finditer(text):
        word, digits = m.group(1), m.group(2)
        if word in ("set", "sept"):
            month = 9
        else:
            month = next((i + 1 for i, full in enumerate(_MONTH_PREFIXES) if full.startswith(word)), None)
        if month is None:
            continue
        year = int(digits) + (2000 if len(digits) == 2 else 0)
        if 2000 <= year <= 2099:
            found = date(year, month, 1)
    return found


# -- the binary scan ------------------------------------------------------------------------------------
@dataclass
class _Scan:
    sha256: str
    nonempty: int                       # non-empty records below the header
    slow: list[tuple[int, bytes]]       # (fila_origen, raw record) to decode and parse
    ultimo: int                         # max year*100+month with a non-empty cell among the other lines
                                        # (0 when not asked for)


def _needles(delitos: tuple[str, ...], encoding: str) -> list[bytes]:
    """Byte strings whose presence sends a line to the parser. Case and accent variants of each wanted
    crime, so that the byte filter is not stricter than the normalised comparison made afterwards for the
    ways SESNSP has written labels (a label with odd inner spacing would still be missed)."""
    out: set[bytes] = set()
    for d in delitos:
        d = " ".join(str(d).split())
        for v in (d, d.lower(), d.upper(), d.title(), d[:1].upper() + d[1:].lower()):
            for w in (v, strip_accents(v)):
                try:
                    out.add(w.encode(encoding))
                except UnicodeEncodeError:
                    pass
    return sorted(out)


def _scan(path: Path, layout: _Layout, needles: list[bytes], infer_corte: bool, hashed: bool = True) -> _Scan:
    hasher = hashlib.sha256()
    expected_commas = layout.n - 1
    nonempty = 0
    slow: list[tuple[int, bytes]] = []
    ultimo = 0
    rows_before = 0          # records of the file before the current buffer
    carry = b""
    first = True
    bom = layout.bom
    with open(path, "rb") as f:
        while True:
            block = f.read(_CHUNK_BYTES)
            if hashed:
                hasher.update(block)
            final = not block
            if bom:
                block, bom = block[bom:], 0
            buf = carry + block
            if final and not buf:
                break
            arr = np.frombuffer(buf, dtype=np.uint8)
            newlines = np.flatnonzero(arr == 10)
            ends = newlines
            quotes = np.flatnonzero(arr == 34)
            if len(quotes):
                # a newline inside quotes does not end a record (domain.md section 10) ...
                ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
                if not final and len(buf) - (ends[-1] + 1 if len(ends) else 0) > _MAX_RECORD_BYTES:
                    # ... but a stray quote must not swallow the rest of the file: no SESNSP record is
                    # this long, so quoting restarts at the next newline
                    ends = newlines
            if final:
                if not len(ends) or ends[-1] != len(buf) - 1:
                    ends = np.append(ends, len(buf))
                carry = b""
            else:
                if not len(ends):
                    carry = buf
                    continue
                carry = buf[ends[-1] + 1:]
                arr = arr[:ends[-1] + 1]     # the carried tail belongs to the next buffer
            starts = np.empty_like(ends)
            starts[0] = 0
            starts[1:] = ends[:-1] + 1
            last_byte = arr[np.clip(ends - 1, 0, len(arr) - 1)]
            cends = ends - ((ends > starts) & (last_byte == 13))
            length = cends - starts
            keep = length > 0
            if first:
                keep[0] = False          # the header
                first = False
            nonempty += int(keep.sum())

            size = len(arr)
            looks_data = length >= 6
            for k in range(4):
                b = arr[np.minimum(starts + k, size - 1)]
                looks_data &= (b >= 48) & (b <= 57)
            looks_data &= arr[np.minimum(starts + 4, size - 1)] == 44
            # commas per record (the newline between records is not a comma). uint8 because a wider
            # accumulator makes numpy cast the whole buffer first (5-20x slower); a broken line would need
            # exactly 256 extra commas to pass unnoticed
            commas = np.add.reduceat((arr == 44).view(np.uint8), starts, dtype=np.uint8)
            wanted = np.zeros(len(ends), dtype=bool)
            for needle in needles:
                pos = buf.find(needle, 0, size)
                while pos >= 0:
                    i = int(np.searchsorted(ends, pos))
                    wanted[i] = True
                    pos = buf.find(needle, int(ends[i]) + 1, size)
            slow_mask = keep & (~looks_data | (commas != expected_commas) | wanted)
            if final:
                idx = np.flatnonzero(keep)
                if len(idx):
                    slow_mask[idx[-1]] = True      # the last line may be broken
            for i in np.flatnonzero(slow_mask):
                slow.append((rows_before + int(i) + 1, buf[starts[i]:cends[i]]))

            fast = keep & ~slow_mask
            if infer_corte and fast.any():
                s, e = starts[fast], cends[fast]
                year = ((arr[s] - 48).astype(np.int32) * 1000 + (arr[s + 1] - 48).astype(np.int32) * 100
                        + (arr[s + 2] - 48).astype(np.int32) * 10 + (arr[s + 3] - 48).astype(np.int32))
                # trailing unpublished cells: empty, or (RNID-2026 lines) a plain 0
                rnid = year >= RNID_DESDE_ANIO
                trailing = np.zeros(len(s), dtype=np.int32)
                alive = np.ones(len(s), dtype=bool)
                p = e.astype(np.int64)
                for _ in range(12):
                    empty = alive & (arr[p - 1] == 44)
                    zero = alive & ~empty & rnid & (arr[p - 1] == 48) & (arr[np.maximum(p - 2, 0)] == 44)
                    alive = empty | zero
                    p = p - empty - 2 * zero
                    trailing += alive
                month = 12 - trailing
                key = np.where(month > 0, year * 100 + month, 0)
                ultimo = max(ultimo, int(key.max()))
            rows_before += len(ends)
            if final:
                break
    return _Scan(hasher.hexdigest(), nonempty, slow, ultimo)


# -- values ----------------------------------------------------------------------------------------------
_MAX_CONTEO = 2**63 - 1  # the largest bigint: a larger count cannot be stored (found by the fuzz tests)


def _parse_count(raw: str) -> int | None:
    text = raw.strip()
    if _COUNT.fullmatch(text):
        return int(text.replace(",", ""))
    return None


def _parse_int(raw: str) -> int | None:
    text = raw.strip()
    if text.isdigit():
        return int(text)
    if re.fullmatch(r"\d+\.0*", text):
        return int(text.split(".")[0])
    return None


def _published_key(cells: list[str], layout: _Layout) -> int:
    """year*100+month of the line's last published month, 0 when nothing is published or no year.

    Published means non-empty; for RNID-2026 lines also non-zero, since those releases write unpublished
    months as 0 (domain.md section 10: the highest month with any non-zero figure)."""
    year = cells[0].strip()
    if not _YEAR.fullmatch(year):
        return 0
    rnid = int(year) >= RNID_DESDE_ANIO
    m0 = layout.first_month
    for m in range(12, 0, -1):
        cell = cells[m0 + m - 1].strip()
        if cell and not (rnid and _parse_count(cell) == 0):
            return int(year) * 100 + m
    return 0


# -- the reader ------------------------------------------------------------------------------------------
def read_sesnsp(path: Path, archivo: str, delitos: tuple[str, ...] = ("Trata de personas",),
                corte: date | None = None, sha256: str | None = None) -> SourceResult:
    """One SESNSP 2015-2025 file into the long frame of its kind (see FRAME_COLUMNS).

    `corte` (release month): the argument, else the month named in the file name, else the last month with
    any published cell in the file (all crimes; for 2026 lines a 0 is not published). Only lines whose
    `Tipo de delito` is one of `delitos` (normalised) are loaded, whatever their subtype (RNID-2026 splits
    trata by purpose: 'Parent - Child' subtypes); the others are counted as `delito_fuera_de_alcance`.
    The release month, its origin and the months loaded are appended to `result.publicaciones`.
    `sha256`: the file's hash when the caller already has it (memo.FileHashes), so it is not computed twice.
    """
    path = Path(path)
    layout = _layout_of(_read_head(path))
    if layout is None:
        raise SourceFileError(archivo, "la fila 1 no es un encabezado SESNSP; se esperaba "
                                       "'Año, Clave_Ent, Entidad, …, Modalidad, Enero … Diciembre'")
    kind = layout.kind
    result = SourceResult()
    wanted = {normalize_label(d) for d in delitos}
    if corte is not None and not isinstance(corte, date):
        raise TypeError("corte must be a datetime.date")
    origen = "argumento" if corte is not None else None
    if corte is None:
        corte = release_month_from_name(path.name)
        origen = "nombre del archivo" if corte is not None else "contenido"
    infer_corte = corte is None
    scan = _scan(path, layout, _needles(delitos, layout.encoding), infer_corte, hashed=sha256 is None)
    if sha256 is not None:
        scan.sha256 = sha256
    result.add_file(path, archivo, scan.sha256, kind)
    leidas = scan.nonempty
    fuera = scan.nonempty - len(scan.slow)
    header_norm = _HEADERS[kind]
    c_tipo = layout.col("Tipo de delito")
    ultimo = scan.ultimo
    in_scope: list[tuple[int, list[str]]] = []
    undecodable = 0
    norm = lru_cache(maxsize=None)(normalize_label)    # a file repeats a few hundred labels

    for fila, raw in scan.slow:
        try:
            text = raw.decode(layout.encoding)
        except UnicodeDecodeError:
            text = raw.decode(layout.encoding, errors="replace")
            undecodable += 1
        try:
            cells = _split_cells(text)
        except csv.Error:
            cells = [text]
        if all(not c.strip() for c in cells):
            leidas -= 1          # a line of empty cells is a blank line, not a row
            continue
        trimmed = list(cells)
        while len(trimmed) > layout.n and not trimmed[-1].strip():
            trimmed.pop()
        if not _YEAR.fullmatch(trimmed[0].strip()) \
                and tuple(normalize_label(c) for c in trimmed) == header_norm:
            result.exclude(archivo, None, fila, "encabezado_repetido")
            continue
        if len(trimmed) != layout.n:
            result.exclude(archivo, None, fila, "fila_rota")
            result.warnings.append(f"{archivo}, fila {fila}: fila rota, {len(trimmed)} campos donde se "
                                   f"esperaban {layout.n}; excluida")
            continue
        if infer_corte:
            ultimo = max(ultimo, _published_key(trimmed, layout))
        if norm(trimmed[c_tipo]) in wanted:
            in_scope.append((fila, trimmed))
        else:
            fuera += 1
    if undecodable:
        result.warnings.append(f"{archivo}: {undecodable} filas con bytes no válidos en {layout.encoding}")

    if infer_corte and ultimo:
        corte = date(ultimo // 100, ultimo % 100, 1)
    if corte is not None:
        corte = date(corte.year, corte.month, 1)

    result.leidas[(archivo, None)] = leidas
    result.exclude_many(archivo, None, "delito_fuera_de_alcance", fuera)
    frame = _load_lines(result, archivo, scan.sha256, layout, in_scope, corte)
    result.frames[kind] = frame
    result.publicaciones.append(_publicacion(path, archivo, kind, frame, corte, origen))
    return result


def metodologia_de_archivo(name: str, years: set[int]) -> str:
    """The methodology a whole file follows: RNID-2026 when its name says RNID or all its years are 2026
    onwards; else the 2015-2025 series (which may run into 2026: its 2026 rows are then an overlap)."""
    if "rnid" in Path(name).name.lower() or (years and min(years) >= RNID_DESDE_ANIO):
        return METODOLOGIA_RNID
    return METODOLOGIA


def _publicacion(path: Path, archivo: str, kind: str, frame: pd.DataFrame, corte: date | None,
                 origen: str) -> dict:
    meses = sorted({f"{p:%Y-%m}" for p in pd.to_datetime(frame["periodo"]).unique()}) if len(frame) else []
    years = {int(m[:4]) for m in meses}
    no_publicados = [f"{corte.year}-{m:02d}" for m in range(corte.month + 1, 13)] if corte else []
    return {"archivo_origen": archivo, "tipo": kind, "corte": f"{corte:%Y-%m}" if corte else None,
            "corte_origen": origen, "metodologia_archivo": metodologia_de_archivo(path.name, years),
            "meses_publicados": meses, "meses_no_publicados": no_publicados}


def _month_span(meses: list[str]) -> str:
    """'2026-01 … 2026-08 (8)' for a list of months; '' when empty."""
    if not meses:
        return ""
    return f"{meses[0]} … {meses[-1]} ({len(meses)})" if len(meses) > 1 else meses[0]


def publicaciones_table(publicaciones: list[dict]) -> pd.DataFrame:
    """One row per SESNSP file: release month, where it came from, the months taken as published and the
    months of the release year after it (never loaded, whether empty or 0)."""
    columns = ["archivo_origen", "tipo", "metodologia_archivo", "corte", "corte_origen", "meses_publicados",
               "meses_no_publicados"]
    rows = [{**p, "meses_publicados": _month_span(p["meses_publicados"]),
             "meses_no_publicados": _month_span(p["meses_no_publicados"])} for p in publicaciones]
    return pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


# Files of these kinds measure the same thing (state and municipal figures are separate series).
def metodologia_overlaps(publicaciones: list[dict]) -> pd.DataFrame:
    """Months that a 2015-2025 file and a RNID-2026 file of the same kind both publish.

    Loading both would count the month twice under two methodologies (or let one silently replace the
    other): domain.md section 2 makes this an error the checks report. Columns: tipo, periodo,
    archivos_cnsp, archivos_rnid (file names joined by ', ')."""
    columns = ["tipo", "periodo", "archivos_cnsp", "archivos_rnid"]
    by_key: dict[tuple[str, str], dict[str, set[str]]] = {}
    for p in publicaciones:
        for mes in p["meses_publicados"]:
            by_key.setdefault((p["tipo"], mes), {}).setdefault(p["metodologia_archivo"], set()) \
                .add(p["archivo_origen"])
    rows = [{"tipo": tipo, "periodo": mes, "archivos_cnsp": ", ".join(sorted(files[METODOLOGIA])),
             "archivos_rnid": ", ".join(sorted(files[METODOLOGIA_RNID]))}
            for (tipo, mes), files in sorted(by_key.items()) if len(files) > 1]
    return pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


def _load_lines(result: SourceResult, archivo: str, sha256: str, layout: _Layout,
                lines: list[tuple[int, list[str]]], corte: date | None) -> pd.DataFrame:
    kind = layout.kind
    names = layout.header
    m0 = layout.first_month
    c_year, c_ent, c_sub, c_mod = (layout.col(c) for c in ("Año", "Clave_Ent", "Subtipo de delito",
                                                            "Modalidad"))
    municipal = kind in _MUNICIPAL_KINDS
    victims = kind in _VICTIM_KINDS
    limit = corte.year * 100 + corte.month if corte else 0
    after_corte = 0
    zeros_after_corte = 0     # RNID-2026 writes unpublished months as 0: expected, reported apart

    # line checks first; what survives is keyed so that a repeated key can quarantine both lines
    candidates: list[tuple[int, list[str], int, str, str | None, list[tuple[int, str]]]] = []
    for fila, cells in lines:
        year_raw = cells[c_year].strip()
        year = int(year_raw) if _YEAR.fullmatch(year_raw) and 1900 < int(year_raw) < 2100 else None
        months = [(m, v) for m, v in zip(_MONTH_NUMBERS, cells[m0:m0 + 12]) if v and not v.isspace()]
        if year is not None and year * 100 + 12 > limit:
            published = [(m, v) for m, v in months if year * 100 + m <= limit]
            zeros = sum(1 for m, v in months if year * 100 + m > limit and v.strip() == "0")
            zeros_after_corte += zeros
            after_corte += len(months) - len(published) - zeros
            months = published
        if not months:
            result.exclude(archivo, None, fila, "vacia")
            continue
        if year is None:
            result.quarantine(archivo, None, fila, names[c_year], year_raw, "periodo_invalido")
            continue
        ent_raw = cells[c_ent].strip()
        ent = _parse_int(ent_raw)
        if ent is None or not 1 <= ent <= 32:
            result.quarantine(archivo, None, fila, names[c_ent], ent_raw, "entidad_desconocida")
            continue
        cvegeo = None
        if municipal:
            c_mun = layout.col("Cve. Municipio")
            mun_raw = cells[c_mun].strip()
            mun = _parse_int(mun_raw)
            if mun is None or mun > 99999:
                result.quarantine(archivo, None, fila, names[c_mun], mun_raw, "municipio_invalido")
                continue
            if mun // 1000 != ent:
                result.quarantine(archivo, None, fila, names[c_mun], mun_raw, "cvegeo_de_otra_entidad")
                continue
            cvegeo = f"{mun:05d}"
        candidates.append((fila, cells, year, f"{ent:02d}", cvegeo, months))
    if after_corte:
        result.warnings.append(f"{archivo}: {after_corte} celdas con cifra después del corte "
                               f"{corte:%Y-%m} no se cargan")
    if zeros_after_corte:
        result.warnings.append(f"{archivo}: {zeros_after_corte} celdas en 0 después del corte {corte:%Y-%m} "
                               f"son meses no publicados; no se cargan")

    key_cols = [c_year, c_ent] + ([layout.col("Cve. Municipio")] if municipal else []) + [c_sub, c_mod] \
        + ([layout.col("Sexo"), layout.col("Rango de edad")] if victims else [])
    key_name = " + ".join(names[c] for c in key_cols)
    norm = lru_cache(maxsize=None)(normalize_label)
    seen: dict[tuple, list[int]] = {}
    for fila, cells, year, ent, cvegeo, _ in candidates:
        key = (year, ent, cvegeo) + tuple(norm(cells[c]) for c in key_cols[2 + municipal:])
        seen.setdefault(key, []).append(fila)
    repeated = {f: filas for filas in seen.values() if len(filas) > 1 for f in filas}

    # line-level values once per line, cell-level values once per month; expanded with numpy at the end
    extra_cols = {"sesnsp_carpetas_municipal": ("cvegeo", "municipio"),
                  "sesnsp_victimas_estatal": ("sexo", "rango_edad"),
                  "sesnsp_victimas_municipal": ("cvegeo", "municipio", "sexo", "rango_edad")}.get(kind, ())
    extra_idx = {"municipio": layout.col("Municipio") if municipal else None,
                 "sexo": layout.col("Sexo") if victims else None,
                 "rango_edad": layout.col("Rango de edad") if victims else None}
    per_line: dict[str, list] = {c: [] for c in ("fila_origen", "cve_ent", "delito") + extra_cols}
    cell_line: list[int] = []
    cell_month: list[int] = []
    cell_count: list[int] = []
    for fila, cells, year, ent, cvegeo, months in candidates:
        if fila in repeated:
            others = ", ".join(str(f) for f in repeated[fila] if f != fila)
            value = " | ".join(cells[c].strip() for c in key_cols) + f" (también en fila {others})"
            result.quarantine(archivo, None, fila, key_name, value, "clave_duplicada")
            continue
        line = len(per_line["fila_origen"])
        base = (year - 1970) * 12 - 1
        loaded = False
        # the usual line: plain counts (under 19 digits: every one fits a bigint)
        if all(raw.isdigit() and len(raw) < 19 for _, raw in months):
            cell_line.extend([line] * len(months))
            cell_month.extend(base + m for m, _ in months)
            cell_count.extend(int(raw) for _, raw in months)
            months, loaded = [], True
        for m, raw in months:
            count = int(raw) if raw.isdigit() else _parse_count(raw)
            if count is None or count < 0 or count > _MAX_CONTEO:
                motivo = "conteo_no_numerico" if count is None else \
                    "conteo_negativo" if count < 0 else "conteo_fuera_de_rango"
                result.quarantine(archivo, None, fila, names[m0 + m - 1], raw.strip(), motivo)
                continue
            cell_line.append(line)
            cell_month.append(base + m)
            cell_count.append(count)
            loaded = True
        if not loaded:
            continue
        per_line["fila_origen"].append(fila)
        per_line["cve_ent"].append(ent)
        per_line["delito"].append(cells[c_sub].strip())
        for c in extra_cols:
            per_line[c].append(cvegeo if c == "cvegeo" else cells[extra_idx[c]].strip())
    return _frame(kind, archivo, sha256, corte, per_line, cell_line, cell_month, cell_count)


def _frame(kind: str, archivo: str, sha256: str, corte: date | None, per_line: dict[str, list],
           cell_line: list[int], cell_month: list[int], cell_count: list[int]) -> pd.DataFrame:
    """The long frame: line-level columns repeated for each loaded month of the line."""
    n = len(cell_line)
    take = np.asarray(cell_line, dtype=np.int64)
    columns: dict[str, object] = {
        "archivo_origen": np.full(n, archivo, dtype=object),
        "archivo_sha256": np.full(n, sha256, dtype=object),
        "hoja": np.full(n, None, dtype=object),
        "fila_origen": np.asarray(per_line["fila_origen"], dtype=np.int64)[take],
        "corte": np.full(n, np.datetime64(corte, "ns") if corte else np.datetime64("NaT", "ns")),
        # a line's year decides: 2026 onwards is RNID-2026 (cell_month counts months since 1970-01)
        "metodologia": np.where(np.asarray(cell_month, dtype=np.int64) >= (RNID_DESDE_ANIO - 1970) * 12,
                                METODOLOGIA_RNID, METODOLOGIA).astype(object),
        "periodo": np.asarray(cell_month, dtype="datetime64[M]").astype("datetime64[ns]"),
        _MEASURE[kind]: np.asarray(cell_count, dtype=np.int64),
    }
    for c in per_line:
        if c != "fila_origen":
            columns[c] = np.asarray(per_line[c], dtype=object)[take] if n else np.empty(0, dtype=object)
    frame = pd.DataFrame({c: columns[c] for c in FRAME_COLUMNS[kind]})
    frame["hoja"] = frame["hoja"].astype(object)
    # Labels repeat (one file, 32 states, a few thousand municipalities in 330,000 rows): categorical
    # columns hash, group, pickle and validate many times faster than pandas 3's Python-backed strings.
    for c in _CATEGORICAL:
        if c in frame:
            frame[c] = frame[c].astype("category")
    return frame


_CATEGORICAL = ("archivo_origen", "archivo_sha256", "metodologia", "cve_ent", "delito", "cvegeo", "municipio",
                "sexo", "rango_edad")


def _empty_frame(kind: str) -> pd.DataFrame:
    line_columns = ("fila_origen", "cve_ent", "delito", "cvegeo", "municipio", "sexo", "rango_edad")
    return _frame(kind, "", "", None, {c: [] for c in line_columns if c in FRAME_COLUMNS[kind]}, [], [], [])


def read_sesnsp_dir(directory: Path, delitos: tuple[str, ...] = ("Trata de personas",),
                    cache=None) -> SourceResult:
    """Every SESNSP csv (2015-2025 or RNID-2026) under `directory` (recognised by header; other files are
    ignored with a warning, unreadable ones rejected). `archivo_origen` is the path relative to
    `directory`, posix."""
    directory = Path(directory)
    result = SourceResult(frames={kind: _empty_frame(kind) for kind in SESNSP_KINDS})
    keys: list[str] = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() == ".csv"):
        archivo = path.relative_to(directory).as_posix()
        if detect_sesnsp_kind(path) is None:
            result.warnings.append(f"{archivo}: no tiene un encabezado SESNSP; se ignora")
            keys.append(f"ignorado:{archivo}")
            continue
        try:
            one, key = read_cached(cache, f"sesnsp/{archivo}", path, archivo, (delitos,), lambda: read_sesnsp(
                path, archivo, delitos=delitos, sha256=cache.hashes.sha256(path) if cache else None))
            keys.append(key)
            result.extend(one)
        except SourceFileError as exc:
            result.reject(archivo, None, exc.motivo)
            keys.append(f"rechazado:{archivo}")
    if cache is not None:
        result.huella = memo_key("sesnsp", keys)
        cache.save()
    return result
