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
scanned in binary, in chunks, with numpy (a file of 32 MB or more as two halves on two threads; its sha256
computed meanwhile on another; the wanted crimes searched for with the C library's memmem, which, unlike
bytes.find, lets the other threads run meanwhile): only lines that contain a wanted crime, do not look like a
data line or have the wrong number of commas (plus the file's last line) are decoded and parsed; the others
are counted as out of scope and only inspected for the release month (their count of trailing empty cells).
Of the parsed lines, those of the usual shape (plain counts, simple quoting) are parsed together with numpy
(_parse_plain); the rest one by one, where quarantine and exclusions are decided.
"""
from __future__ import annotations

import codecs
import csv
import ctypes
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import compress
from operator import itemgetter
from pathlib import Path

import numpy as np
import pandas as pd

from cies_pipeline.memo import file_stamp, memo_key
from cies_pipeline.sources.common import (
    LINEAGE_COLUMNS, SourceFileError, SourceResult, all_missing, normalize_label, read_cached, sha256_of,
    strip_accents,
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
_CHUNK_BYTES = 1 << 21           # 2 MB: numpy's temporaries stay in reused heap memory and in cache
_MAX_RECORD_BYTES = 1 << 20
_SPLIT_BYTES = 1 << 25            # 32 MB: a file this large is scanned in two halves at once (_scan)
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
class _Lines:
    """Records gathered into one bytes object, each followed by a newline (record i ends at end[i]): tens of
    thousands of records cost one copy, not one Python object each."""
    data: bytes
    fila: np.ndarray            # fila_origen of each record, ascending
    end: np.ndarray             # offset of the newline after each record

    @staticmethod
    def gather(arr: np.ndarray, start: np.ndarray, end: np.ndarray, fila: np.ndarray) -> "_Lines":
        """The records arr[start[i]:end[i]] (end may be len(arr): a last record without newline)."""
        length = end - start + 1
        first = np.cumsum(length) - length
        out = arr[np.minimum(np.repeat(start - first, length) + np.arange(length.sum()), len(arr) - 1)]
        out[first + length - 1] = 10
        return _Lines(out.tobytes(), fila, first + length - 1)

    @staticmethod
    def concat(parts: list["_Lines"]) -> "_Lines":
        offsets = np.cumsum([0] + [len(p.data) for p in parts])
        return _Lines(b"".join(p.data for p in parts),
                      np.concatenate([p.fila for p in parts] + [np.zeros(0, dtype=np.int64)]),
                      np.concatenate([p.end + o for p, o in zip(parts, offsets)] + [np.zeros(0, dtype=np.int64)]))

    def start(self) -> np.ndarray:
        return np.append(0, self.end[:-1] + 1)[:len(self.end)]

    def select(self, mask: np.ndarray) -> "_Lines":
        return _Lines.gather(np.frombuffer(self.data, dtype=np.uint8), self.start()[mask], self.end[mask],
                             self.fila[mask])

    def records(self, mask: np.ndarray) -> list[tuple[int, bytes]]:
        """(fila_origen, raw record) of the records in mask."""
        return [(f, self.data[s:e]) for f, s, e in
                zip(self.fila[mask].tolist(), self.start()[mask].tolist(), self.end[mask].tolist())]


@dataclass
class _Scan:
    sha256: str
    nonempty: int                       # non-empty records below the header
    slow: list[tuple[int, bytes]]       # (fila_origen, raw record) to decode and parse line by line
    plain: _Lines                       # records to parse in bulk (_parse_plain)
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


def _fold(raw: bytes) -> bytes:
    """Bit 0x20 set in every byte: ASCII capitals become small letters, so the case variants of a needle
    fold into one search key (one pass over the buffer instead of one per variant). Any line that holds a
    needle holds its folded key in the folded buffer; the lines found are then checked for the needles."""
    return bytes(b | 0x20 for b in raw)


def _libc_memmem():
    """The C library's memmem, called through ctypes, or None where there is none (Windows). Looked up among
    the symbols the process already has (dlopen of NULL), not with ctypes.util.find_library, which runs
    `ldconfig -p` in a subprocess."""
    try:
        memmem = ctypes.CDLL(None).memmem
    except (OSError, AttributeError, TypeError):
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    return memmem


_MEMMEM = _libc_memmem()


class _Finder:
    """`buffer.find(needle, start, stop)` for a bytearray that is not resized while the finder lives, without
    holding the GIL: the C library's memmem through ctypes, which releases the GIL during the call (bytes.find
    holds it). The scan's two halves search their folded buffers at the same time instead of one after the other
    (in one thread the search is as fast as bytes.find). Where the C library has no memmem, bytes.find."""

    def __init__(self, buffer: bytearray, memmem=None):
        self.buffer = buffer
        self.memmem = _MEMMEM if memmem is None else memmem
        # the ctypes view holds an export of the buffer: resizing it raises instead of moving the bytes
        self.view = (ctypes.c_char * len(buffer)).from_buffer(buffer) if self.memmem and len(buffer) else None
        self.address = ctypes.addressof(self.view) if self.view is not None else 0

    def find(self, needle: bytes, start: int, stop: int) -> int:
        stop = min(stop, len(self.buffer))
        if not self.address or not needle or start < 0 or stop - start < len(needle):
            return self.buffer.find(needle, start, stop)
        found = self.memmem(self.address + start, stop - start, needle, len(needle))
        return found - self.address if found else -1


def _one_quoted_cell(arr: np.ndarray, comma: np.ndarray, quotes: np.ndarray, line_of: np.ndarray,
                     starts: np.ndarray, cends: np.ndarray, commas: np.ndarray, expected: int) -> np.ndarray:
    """Per record: True when its only quotes are two that enclose one whole cell ("Robo de cables, tubos …")
    and its commas outside them are the layout's: csv then splits it into exactly the layout's cells, so a
    record without a wanted crime is out of scope without being parsed. Any other use of quotes (doubled,
    inside a cell, more than one quoted cell) still goes to the parser."""
    out = np.zeros(len(starts), dtype=bool)
    two = np.bincount(line_of, minlength=len(starts)) == 2
    idx = np.flatnonzero(two[line_of])
    if not len(idx):
        return out
    opening, closing = quotes[idx[0::2]], quotes[idx[1::2]]
    line = line_of[idx[0::2]]
    size = len(arr)
    whole = ((opening == starts[line]) | (arr[np.maximum(opening - 1, 0)] == 44)) & \
        ((closing + 1 == cends[line]) | (arr[np.minimum(closing + 1, size - 1)] == 44))
    # commas between each opening and its closing quote (reduceat sums each [q_i, q_i+1) span; the even
    # spans are the quoted ones), counted in uint8 like `commas` (see _scan)
    bounds = np.empty(2 * len(opening), dtype=np.intp)
    bounds[0::2], bounds[1::2] = opening, closing
    inside = np.add.reduceat(comma, bounds, dtype=np.uint8)[0::2]
    out[line[whole & (commas[line] - inside == np.uint8(expected % 256))]] = True
    return out


def _split_point(path: Path, start: int, size: int) -> int | None:
    """Where a file's second half starts: just after the first newline past its middle (None when there is no
    newline within a record's length of it). Whether that newline ends a record (it might be inside quotes) is
    known only once the first half has been scanned: see _scan."""
    middle = start + (size - start) // 2
    with open(path, "rb") as f:
        f.seek(middle)
        window = f.read(_MAX_RECORD_BYTES)
    found = window.find(b"\n")
    if found < 0 or middle + found + 1 >= size:
        return None
    return middle + found + 1


def _scan(path: Path, layout: _Layout, needles: list[bytes], infer_corte: bool, hashed: bool = True) -> _Scan:
    """The whole file: its sha256 (unless not `hashed`: the caller has it; then "") and its records, sorted
    (parsed one by one, in bulk, or out of scope) as _scan_range does. A file of _SPLIT_BYTES or more is
    scanned as two halves on two threads (numpy releases the GIL in its passes over the bytes), the sha256 on
    a third. The halves' results are those of one scan when the first half's last byte ends a record; if it
    does not (a quoted newline at the cut), the file is scanned again in one piece."""
    size = path.stat().st_size
    cut = _split_point(path, layout.bom, size) if size >= _SPLIT_BYTES else None
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashing = pool.submit(sha256_of, path) if hashed else None
        if cut is None:
            parts = [_scan_range(path, layout, needles, infer_corte, layout.bom, size, True, True)]
        else:
            first = pool.submit(_scan_range, path, layout, needles, infer_corte, layout.bom, cut, True, False)
            second = _scan_range(path, layout, needles, infer_corte, cut, size, False, True)
            parts = [first.result(), second]
            if not parts[0].ends_record:
                parts = [_scan_range(path, layout, needles, infer_corte, layout.bom, size, True, True)]
        sha256 = hashing.result() if hashing is not None else ""
    offset, slow, plain = 0, [], []
    for part in parts:       # a half's record numbers follow the records before it
        slow += [(fila + offset, raw) for fila, raw in part.slow] if offset else part.slow
        plain.append(_Lines(part.plain.data, part.plain.fila + offset, part.plain.end))
        offset += part.records
    return _Scan(sha256, sum(p.nonempty for p in parts), slow, _Lines.concat(plain),
                 max(p.ultimo for p in parts))


@dataclass
class _Part:
    """What _scan_range found in its bytes (record numbers from 1 at its first record)."""
    nonempty: int
    slow: list[tuple[int, bytes]]
    plain: _Lines
    ultimo: int
    records: int             # records in the range, the header and empty ones included
    ends_record: bool        # the range's last byte is a newline that ends a record


def _scan_range(path: Path, layout: _Layout, needles: list[bytes], infer_corte: bool, start: int, stop: int,
                header: bool, last: bool) -> _Part:
    """Bytes start..stop of the file, which start a record (`header`: the file's header, not counted).
    `last`: they end the file, whose last line may be broken."""
    expected_commas = layout.n - 1
    # the needles' case variants are searched for once, in a case-folded copy of the buffer; a line found
    # there is wanted only if it holds one of the needles exactly
    keys = sorted({_fold(n) for n in needles})
    needle_set = set(needles)
    folded = bytearray()
    finder = _Finder(folded)
    nonempty = 0
    slow: list[tuple[int, bytes]] = []
    plain: list[_Lines] = []
    ultimo = 0
    rows_before = 0          # records of the range before the current buffer
    carry = b""
    first = header
    ends_record = False
    # Blocks are read into one buffer, behind the record the previous block cut (copied to the front): no new
    # bytes object and no concatenation per block.
    buf = bytearray()
    with open(path, "rb") as f:
        f.seek(start)
        left = stop - start
        while True:
            kept = len(carry)
            if len(buf) < kept + _CHUNK_BYTES:
                buf = bytearray(kept + _CHUNK_BYTES)
            buf[:kept] = carry
            got = f.readinto(memoryview(buf)[kept:kept + min(_CHUNK_BYTES, left)]) if left else 0
            left -= got
            final = not got
            filled = kept + got          # buf[:filled] is this buffer's data
            if final and not filled:
                ends_record = True       # the previous block ended with a record
                break
            arr = np.frombuffer(buf, dtype=np.uint8, count=filled)
            # newlines and quotes in one pass (finding the positions costs more than comparing the bytes)
            marks = np.flatnonzero((arr == 10) | (arr == 34))
            is_quote = arr[marks] == 34
            newlines, quotes = marks[~is_quote], marks[is_quote]
            ends = newlines
            if len(quotes):
                # a newline inside quotes does not end a record (domain.md section 10) ...
                paired = len(quotes) % 2 == 0 and np.array_equal(
                    np.searchsorted(newlines, quotes[0::2]), np.searchsorted(newlines, quotes[1::2]))
                if not paired:       # (when every pair of quotes closes on its line, every newline ends one)
                    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
                if not final and filled - (ends[-1] + 1 if len(ends) else 0) > _MAX_RECORD_BYTES:
                    # ... but a stray quote must not swallow the rest of the file: no SESNSP record is
                    # this long, so quoting restarts at the next newline
                    ends = newlines
            if final:
                ends_record = bool(len(ends)) and ends[-1] == filled - 1
                if not ends_record:
                    ends = np.append(ends, filled)
                carry = b""
            else:
                if not len(ends):
                    carry = bytes(buf[:filled])
                    continue
                carry = bytes(buf[ends[-1] + 1:filled])
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
            comma = (arr == 44).view(np.uint8)
            commas = np.add.reduceat(comma, starts, dtype=np.uint8)
            wanted = np.zeros(len(ends), dtype=bool)
            if keys:
                if len(folded) < size:
                    folded = bytearray(size)
                    finder = _Finder(folded)
                np.bitwise_or(arr, 0x20, out=np.frombuffer(folded, dtype=np.uint8, count=size))
                exact, other = [], []        # hits that are a needle as written, and the others
                for key in keys:
                    pos = finder.find(key, 0, size)
                    while pos >= 0:
                        (exact if bytes(buf[pos:pos + len(key)]) in needle_set else other).append(pos)
                        pos = buf.find(b"\n", pos, size)       # on to the next line
                        if pos < 0:
                            break
                        pos = finder.find(key, pos + 1, size)
                wanted[np.searchsorted(ends, exact)] = True
                for i in np.unique(np.searchsorted(ends, other)).tolist():
                    if not wanted[i]:
                        wanted[i] = any(buf.find(n, int(starts[i]), int(ends[i])) >= 0 for n in needles)
            quoted = np.zeros(len(ends), dtype=bool)
            odd_commas = commas != expected_commas
            if len(quotes):
                quotes = quotes[quotes < size]
                line_of = np.searchsorted(ends, quotes)
                quoted[line_of] = True
                odd_commas &= ~_one_quoted_cell(arr, comma, quotes, line_of, starts, cends, commas,
                                                expected_commas)
            slow_mask = keep & (~looks_data | odd_commas | wanted)
            # of these, data lines without a quote (each comma ends a cell) or with one (the comma count
            # is then that of csv) are parsed in bulk: _parse_plain sets apart the unusual ones
            plain_mask = slow_mask & looks_data & (quoted | ~odd_commas)
            if final and last:
                idx = np.flatnonzero(keep)
                if len(idx):
                    slow_mask[idx[-1]] = True      # the last line may be broken
                    plain_mask[idx[-1]] = False
            slow_mask &= ~plain_mask
            idx = np.flatnonzero(slow_mask)
            slow += [(rows_before + i + 1, bytes(buf[s:e]))
                     for i, s, e in zip(idx.tolist(), starts[idx].tolist(), cends[idx].tolist())]
            idx = np.flatnonzero(plain_mask)
            plain.append(_Lines.gather(arr, starts[idx], cends[idx], rows_before + idx + 1))

            fast = keep & ~slow_mask & ~plain_mask
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
    return _Part(nonempty, slow, _Lines.concat(plain), ultimo, rows_before, ends_record)


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


# -- the usual line, in bulk -----------------------------------------------------------------------------
_PLAIN_DIGITS = 18      # a count of up to 18 digits always fits a bigint


@dataclass
class _Plain:
    """In-scope lines of the usual shape, parsed together with numpy rather than one by one (a municipal
    file has ~28,000 trafficking lines with ~335,000 month cells).

    Each line decodes, has exactly n cells as csv reads them (a quoted cell holds no quote, newline or
    control character), a year in 1901-2099, a state 1-32 and a municipality of that state written in
    digits, and every month cell is empty or 1-18 ASCII digits. So the line checks of read_sesnsp and
    _load_lines pass it and no cell of it is quarantined; every other line goes one by one, where
    quarantine and exclusions are decided. Cells are slices of one decoded text."""
    fila: np.ndarray            # (L,) physical line numbers, ascending
    year: np.ndarray            # (L,)
    ent: np.ndarray             # (L,)
    mun: np.ndarray             # (L,) municipal layouts (zeros for state layouts)
    width: np.ndarray           # (L, 12) bytes in each month cell, 0 when empty
    count: np.ndarray           # (L, 12) the month figures, 0 when empty
    text: str                   # the lines, decoded
    start: np.ndarray           # (L, n) where each cell's value starts in `text` (inside its quotes)
    end: np.ndarray             # (L, n)

    def subset(self, mask: np.ndarray) -> "_Plain":
        return _Plain(self.fila[mask], self.year[mask], self.ent[mask], self.mun[mask], self.width[mask],
                      self.count[mask], self.text, self.start[mask], self.end[mask])

    def column(self, c: int) -> list[str]:
        """Column c of every line, as line by line parsing would give it (not stripped)."""
        return [self.text[s:e] for s, e in zip(self.start[:, c].tolist(), self.end[:, c].tolist())]

    def cells(self, j: int) -> list[str]:
        """The cells of line j."""
        return [self.text[s:e] for s, e in zip(self.start[j].tolist(), self.end[j].tolist())]


def _digits(arr: np.ndarray, start: np.ndarray, width: np.ndarray, most: int) -> tuple[np.ndarray, np.ndarray]:
    """Value of each cell arr[start:start+width] and whether it is 1 to `most` ASCII digits."""
    value = np.zeros(start.shape, dtype=np.int64)
    ok = (width >= 1) & (width <= most)
    for k in range(min(int(width.max(initial=0)), most)):
        inside = width > k
        digit = arr[np.where(inside, start + k, 0)].astype(np.int64) - 48
        ok &= ~inside | ((digit >= 0) & (digit <= 9))
        value = np.where(inside, value * 10 + digit, value)      # garbage (never used) where not ok
    return value, ok


def _parse_plain(lines: _Lines, layout: _Layout, wanted: set[str],
                 infer_corte: bool) -> tuple[_Plain, int, int, list[tuple[int, bytes]]]:
    """The scan's bulk candidates, parsed together: data lines that hold a wanted crime, and those with a
    quote (~57,000 in the municipal file, e.g. a quoted 'Robo de cables, tubos ...').

    Returns the in-scope lines of the usual shape (_Plain), how many lines of the usual shape are out of
    scope, the latest month any of them publishes as _published_key gives it (year*100+month, when
    infer_corte; else 0), and the lines left for the line-by-line path."""
    n, m0 = layout.n, layout.first_month
    data = lines.data
    count = len(lines.fila)
    try:
        text = data.decode(layout.encoding)
    except UnicodeDecodeError:
        text = None
    if text is None or data.count(b"\n") != count:
        # rare: a line that does not decode, or a quoted newline
        return _set_apart(lines, np.array([b"\n" not in raw and _decodes(raw, layout.encoding)
                                           for _, raw in lines.records(slice(None))], dtype=bool),
                          layout, wanted, infer_corte)
    arr = np.frombuffer(data, dtype=np.uint8)
    line_end = lines.end
    line_start = lines.start()
    commas = np.flatnonzero(arr == 44)
    cells_per_line = np.diff(np.searchsorted(commas, line_end), prepend=0) + 1
    quotes = np.flatnonzero(arr == 34)
    usual = np.ones(count, dtype=bool)
    if len(quotes):
        # quoting as csv reads it, when simple: a quote opens a cell (after a comma or at the line start)
        # and the next one closes it (before a comma or at the line end)
        line = np.searchsorted(line_end, quotes)
        opens = (np.arange(len(quotes)) - np.searchsorted(quotes, line_start)[line]) % 2 == 0
        before = arr[np.maximum(quotes - 1, 0)]
        after = arr[quotes + 1]
        simple = np.where(opens, (quotes == line_start[line]) | (before == 44),
                          (after == 10) | (after == 44))
        usual[line[~simple]] = False
        quoted = np.bincount(line, minlength=count)
        usual[quoted % 2 == 1] = False
        control = np.flatnonzero(arr < 32)
        control = np.searchsorted(line_end, control[arr[control] != 10])
        usual[control[quoted[control] > 0]] = False             # csv reads \r and the like its own way
        # a comma between an opening quote and the next quote is inside the cell
        o = np.flatnonzero(opens[:-1])
        first, past = np.searchsorted(commas, quotes[o]), np.searchsorted(commas, quotes[o + 1])
        cells_per_line -= np.bincount(line[o], weights=past - first, minlength=count).astype(np.int64)
        inside = np.cumsum(np.bincount(first, minlength=len(commas) + 1)
                           - np.bincount(past, minlength=len(commas) + 1))[:-1] > 0
        commas = commas[~inside]
    usual &= cells_per_line == n
    if not usual.all():
        return _set_apart(lines, usual, layout, wanted, infer_corte)

    # the separators before and after each cell, and the cells' values (inside their quotes)
    edges = np.column_stack([line_start - 1, commas.reshape(count, n - 1), line_end])

    def values(rows: np.ndarray | slice, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = edges[rows, c0:c1] + 1, edges[rows, c0 + 1:c1 + 1]
        if len(quotes):
            inner = (end > start) & (arr[np.minimum(start, len(arr) - 1)] == 34)
            start, end = start + inner, end - inner
        return start, end

    if layout.encoding == "utf-8" and len(text) != len(data):
        continuation = np.flatnonzero((arr & 0xC0) == 0x80)

        def chars(offsets: np.ndarray) -> np.ndarray:       # UTF-8: byte offsets less continuation bytes
            return offsets - np.searchsorted(continuation, offsets)
    else:
        def chars(offsets: np.ndarray) -> np.ndarray:
            return offsets

    c_tipo = layout.col("Tipo de delito")
    start, end = (chars(x[:, 0]).tolist() for x in values(slice(None), c_tipo, c_tipo + 1))
    tipos = [text[s:e] for s, e in zip(start, end)]
    in_scope = {t: normalize_label(t) in wanted for t in set(tipos)}
    is_wanted = np.array([in_scope[t] for t in tipos], dtype=bool)
    rows = np.flatnonzero(is_wanted)
    start, end = values(rows, 0, n)
    # the months of in-scope lines, and of all lines when the release month is inferred from them
    month_start, month_end = values(slice(None), m0, n) if infer_corte else (start[:, m0:], end[:, m0:])
    width = month_end - month_start
    months, months_ok = _digits(arr, month_start, width, _PLAIN_DIGITS)
    usual = ~is_wanted
    usual[slice(None) if infer_corte else rows] = (months_ok | (width == 0)).all(axis=1)
    # the scan saw four digits and a comma at the start of each line
    year = (arr[line_start[:, None] + np.arange(4)].astype(np.int64) - 48) @ np.array([1000, 100, 10, 1])
    ultimo = 0
    if infer_corte:
        shown = (width > 0) & ~((year >= RNID_DESDE_ANIO)[:, None] & (months == 0)) & usual[:, None]
        last = 12 - np.argmax(shown[:, ::-1], axis=1)
        ultimo = int(np.where(shown.any(axis=1), year * 100 + last, 0).max(initial=0))
        width, months = width[rows], months[rows]
    c_ent = layout.col("Clave_Ent")
    ent, ok = _digits(arr, start[:, c_ent], end[:, c_ent] - start[:, c_ent], 2)
    ok &= (year[rows] > 1900) & (year[rows] < 2100) & (ent >= 1) & (ent <= 32) & usual[rows]
    mun = np.zeros(len(rows), dtype=np.int64)
    if layout.kind in _MUNICIPAL_KINDS:
        c_mun = layout.col("Cve. Municipio")
        mun, mun_ok = _digits(arr, start[:, c_mun], end[:, c_mun] - start[:, c_mun], 5)
        ok &= mun_ok & (mun // 1000 == ent)
    usual[rows] = ok
    fila = lines.fila[rows]
    plain = _Plain(fila[ok], year[rows][ok], ent[ok], mun[ok], width[ok], months[ok], text,
                   chars(start[ok]), chars(end[ok]))
    return plain, int((usual & ~is_wanted).sum()), ultimo, lines.records(~usual)


def _set_apart(lines: _Lines, usual: np.ndarray, layout: _Layout, wanted: set[str],
               infer_corte: bool) -> tuple[_Plain, int, int, list[tuple[int, bytes]]]:
    """_parse_plain of the usual lines, plus the others for the line-by-line path."""
    plain, fuera, ultimo, unusual = _parse_plain(lines.select(usual), layout, wanted, infer_corte)
    return plain, fuera, ultimo, unusual + lines.records(~usual)


def _decodes(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


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
    fuera = scan.nonempty - len(scan.slow) - len(scan.plain.fila)
    header_norm = _HEADERS[kind]
    c_tipo = layout.col("Tipo de delito")
    ultimo = scan.ultimo
    in_scope: list[tuple[int, list[str]]] = []
    undecodable = 0
    norm = lru_cache(maxsize=None)(normalize_label)    # a file repeats a few hundred labels

    plain, plain_fuera, plain_ultimo, unusual = _parse_plain(scan.plain, layout, wanted, infer_corte)
    fuera += plain_fuera
    ultimo = max(ultimo, plain_ultimo)
    slow = sorted(scan.slow + unusual, key=itemgetter(0)) if unusual else scan.slow
    for fila, raw in slow:
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
    frame = _load_lines(result, archivo, scan.sha256, layout, in_scope, plain, corte)
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
                lines: list[tuple[int, list[str]]], plain: _Plain, corte: date | None) -> pd.DataFrame:
    """The in-scope lines into the long frame: `lines` one by one, `plain` (see _Plain) column by column,
    with the same rules, records and order of records as if every line had gone one by one."""
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
    vacias: list[int] = []

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
            vacias.append(fila)
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
    # the plain lines passed those checks when parsed; only their months can leave one empty
    written = plain.width > 0
    late = written & (plain.year[:, None] * 100 + np.arange(1, 13) > limit)
    zeros = int((late & (plain.width == 1) & (plain.count == 0)).sum())
    zeros_after_corte += zeros
    after_corte += int(late.sum()) - zeros
    published = written & ~late
    loadable = published.any(axis=1)
    vacias += plain.fila[~loadable].tolist()
    plain, published = plain.subset(loadable), published[loadable]
    for fila in sorted(vacias):
        result.exclude(archivo, None, fila, "vacia")
    if after_corte:
        result.warnings.append(f"{archivo}: {after_corte} celdas con cifra después del corte "
                               f"{corte:%Y-%m} no se cargan")
    if zeros_after_corte:
        result.warnings.append(f"{archivo}: {zeros_after_corte} celdas en 0 después del corte {corte:%Y-%m} "
                               f"son meses no publicados; no se cargan")

    key_cols = [c_year, c_ent] + ([layout.col("Cve. Municipio")] if municipal else []) + [c_sub, c_mod] \
        + ([layout.col("Sexo"), layout.col("Rango de edad")] if victims else [])
    key_name = " + ".join(names[c] for c in key_cols)
    label_cols = key_cols[2 + municipal:]
    # the frame's line-level labels besides delito (and cvegeo, from the municipality code)
    extra_idx = ({"municipio": layout.col("Municipio")} if municipal else {}) \
        | ({"sexo": layout.col("Sexo"), "rango_edad": layout.col("Rango de edad")} if victims else {})
    norm = lru_cache(maxsize=None)(normalize_label)
    # the plain lines' values, column by column
    p_fila = plain.fila.tolist()
    p_ent = [f"{e:02d}" for e in plain.ent.tolist()]
    p_cvegeo = [f"{m:05d}" for m in plain.mun.tolist()] if municipal else [None] * len(p_fila)
    p_cells = {c: plain.column(c) for c in set(label_cols) | set(extra_idx.values())}
    keys = [(year, ent, cvegeo) + tuple(norm(cells[c]) for c in label_cols)
            for _, cells, year, ent, cvegeo, _ in candidates] \
        + list(zip(plain.year.tolist(), p_ent, p_cvegeo, *([norm(v) for v in p_cells[c]] for c in label_cols)))
    filas = [c[0] for c in candidates] + p_fila
    times = Counter(keys)
    groups: dict[tuple, list[int]] = {}
    if len(times) < len(keys):
        for fila, key in sorted(zip(filas, keys), key=itemgetter(0)):
            if times[key] > 1:
                groups.setdefault(key, []).append(fila)
    repeated = {f: group for group in groups.values() for f in group}

    # one by one, in file order: the lines parsed one by one and the plain lines with a repeated key
    p_repeated = [j for j, fila in enumerate(p_fila) if fila in repeated]
    one_by_one = sorted([(c[0], c, -1) for c in candidates] + [(p_fila[j], None, j) for j in p_repeated],
                        key=itemgetter(0))
    loaded_lines: list[tuple] = []      # the candidates that load; their cells below (cell_line: index here)
    cell_line: list[int] = []
    cell_month: list[int] = []
    cell_count: list[int] = []
    for fila, candidate, j in one_by_one:
        if fila in repeated:
            cells = plain.cells(j) if j >= 0 else candidate[1]
            others = ", ".join(str(f) for f in repeated[fila] if f != fila)
            value = " | ".join(cells[c].strip() for c in key_cols) + f" (también en fila {others})"
            result.quarantine(archivo, None, fila, key_name, value, "clave_duplicada")
            continue
        _, cells, year, ent, cvegeo, months = candidate
        line = len(loaded_lines)
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
        if loaded:
            loaded_lines.append(candidate)

    # line-level values: the lines loaded one by one, then the plain lines; put in file order below
    keep = np.ones(len(p_fila), dtype=bool)
    keep[p_repeated] = False
    kept = keep.tolist()
    per_line: dict[str, list] = {
        "fila_origen": [c[0] for c in loaded_lines] + list(compress(p_fila, kept)),
        # a line's year decides: 2026 onwards is RNID-2026
        "metodologia": [METODOLOGIA_RNID if c[2] >= RNID_DESDE_ANIO else METODOLOGIA for c in loaded_lines]
        + np.where(plain.year[keep] >= RNID_DESDE_ANIO, METODOLOGIA_RNID, METODOLOGIA).tolist(),
        "cve_ent": [c[3] for c in loaded_lines] + list(compress(p_ent, kept)),
    }
    if municipal:
        per_line["cvegeo"] = [c[4] for c in loaded_lines] + list(compress(p_cvegeo, kept))
    for column, c in {"delito": c_sub, **extra_idx}.items():
        per_line[column] = [line[1][c].strip() for line in loaded_lines] \
            + [v.strip() for v in compress(p_cells[c], kept)]
    rows, months = np.nonzero(published[keep])
    lines_of_cells = np.concatenate([np.asarray(cell_line, dtype=np.int64), len(loaded_lines) + rows])
    month_of_cells = np.concatenate([np.asarray(cell_month, dtype=np.int64),
                                     (plain.year[keep][rows] - 1970) * 12 + months])
    counts = np.concatenate([np.asarray(cell_count, dtype=np.int64), plain.count[keep][rows, months]])
    if loaded_lines and len(rows):
        order = np.argsort(per_line["fila_origen"], kind="stable")
        per_line = {c: [values[i] for i in order.tolist()] for c, values in per_line.items()}
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        lines_of_cells = rank[lines_of_cells]
        by_line = np.argsort(lines_of_cells, kind="stable")    # line by line, each line's months in order
        lines_of_cells, month_of_cells, counts = lines_of_cells[by_line], month_of_cells[by_line], counts[by_line]
    return _frame(kind, archivo, sha256, corte, per_line, lines_of_cells, month_of_cells, counts)


def _frame(kind: str, archivo: str, sha256: str, corte: date | None, per_line: dict[str, list],
           cell_line: np.ndarray, cell_month: np.ndarray, cell_count: np.ndarray) -> pd.DataFrame:
    """The long frame: line-level columns repeated for each loaded month of the line (cell_month counts
    months since 1970-01).

    Labels repeat (one file, 32 states, a few thousand municipalities in 330,000 rows): the text columns
    are categorical, which hash, group, pickle and validate many times faster than pandas 3's Python-backed
    strings. They are built from the lines' codes, so only the per-line values are hashed; the categories
    are those astype('category') gives (the values present, sorted)."""
    n = len(cell_line)
    lines = len(per_line["fila_origen"])
    columns: dict[str, object] = {
        "hoja": all_missing(n),                      # a csv has no sheets
        "fila_origen": np.asarray(per_line["fila_origen"], dtype=np.int64)[cell_line],
        "corte": np.full(n, np.datetime64(corte, "ns") if corte else np.datetime64("NaT", "ns")),
        "periodo": cell_month.astype("datetime64[M]").astype("datetime64[ns]"),
        _MEASURE[kind]: cell_count,
    }
    # the file's name and hash, the same on every line: one category, every row's code 0
    for c, value in (("archivo_origen", archivo), ("archivo_sha256", sha256)):
        columns[c] = _categorical([value] * min(lines, 1), np.zeros(n, dtype=np.intp))
    for c, values in per_line.items():
        if c != "fila_origen":
            columns[c] = _categorical(values, cell_line)
    # the arrays above are this frame's own: not copied again
    return pd.DataFrame({c: columns[c] for c in FRAME_COLUMNS[kind]}, copy=False)


def _categorical(values: list, rows: np.ndarray) -> pd.Categorical:
    """pd.Categorical(values)[rows]: the codes and (sorted) categories pd.Categorical gives, from one sorted
    factorize instead of its two passes (1.8 ms against 4.4 ms for 28,000 labels)."""
    codes, categories = pd.factorize(np.asarray(values, dtype=object), sort=True)
    return pd.Categorical.from_codes(codes[rows], dtype=pd.CategoricalDtype(pd.Index(categories)))


def _empty_frame(kind: str) -> pd.DataFrame:
    line_columns = ("fila_origen", "metodologia", "cve_ent", "delito", "cvegeo", "municipio", "sexo",
                    "rango_edad")
    none = np.zeros(0, dtype=np.int64)
    return _frame(kind, "", "", None, {c: [] for c in line_columns if c in FRAME_COLUMNS[kind]}, none, none,
                  none)


def _parse_while_hashing(path: Path, archivo: str, delitos: tuple[str, ...], cache) -> SourceResult | None:
    """A file whose current version has no known sha256 (a new or rewritten file: ingest/cambios hashes only
    rewritten files of the same size) is parsed at once, its sha256 computed from the bytes parsed, on a second
    core, instead of hashing it first to look up the cache: the stored result for that content, if any, is
    still what `read_cached` returns. None when the sha256 is known (the cache decides before any parse)."""
    if cache is None:
        return None
    stamp = file_stamp(path)
    if cache.hashes.known(path, stamp):
        return None
    parsed = read_sesnsp(path, archivo, delitos=delitos)
    if file_stamp(path) == stamp:   # unchanged while it was read: that sha256 is this version's
        cache.hashes.remember(path, stamp, parsed.archivos[0]["archivo_sha256"])
    return parsed


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
            parsed = _parse_while_hashing(path, archivo, delitos, cache)
            read = (lambda: parsed) if parsed is not None else (lambda: read_sesnsp(
                path, archivo, delitos=delitos, sha256=cache.hashes.sha256(path) if cache else None))
            one, key = read_cached(cache, f"sesnsp/{archivo}", path, archivo, (delitos,), read)
            keys.append(key)
            result.extend(one)
        except SourceFileError as exc:
            result.reject(archivo, None, exc.motivo)
            keys.append(f"rechazado:{archivo}")
    if cache is not None:
        result.huella = memo_key("sesnsp", keys)
        cache.save()
    return result
