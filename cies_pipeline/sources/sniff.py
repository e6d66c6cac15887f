"""What a file is, decided from its bytes: workbook, CSV, saved HTML page or noise; and a CSV's dialect.

File names lie (an anti-bot HTML page saved as `.csv`, a CSV renamed `.xlsx`), so every reader asks this
module first (domain.md section 10: "headers and content decide the kind of a file").
"""
from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

_HEAD_BYTES = 64 * 1024
_HEADER_AREA_LINES = 30
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<script", b"<title")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and password-protected .xlsx


@dataclass(frozen=True)
class CsvDialect:
    encoding: str   # 'utf-8-sig', 'utf-8' or 'cp1252'
    delimiter: str  # ',' or ';'


def _head(path: Path, size: int = _HEAD_BYTES) -> bytes:
    with open(path, "rb") as f:
        return f.read(size)


def detect_encoding(raw: bytes) -> str:
    """'utf-8-sig' when a BOM is present, 'utf-8' when the bytes decode strictly, else 'cp1252'."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A sample cut in the middle of a multi-byte character is still UTF-8.
        if exc.start >= len(raw) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
        return "cp1252"


def detect_file_encoding(path: Path) -> str:
    """detect_encoding over the whole file, streamed: a windows-1252 byte may sit deep in a large file."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as f:
        first = f.read(_HEAD_BYTES)
        if first.startswith(b"\xef\xbb\xbf"):
            return "utf-8-sig"
        chunk = first
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = f.read(1 << 20)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


def decode_text(raw: bytes, encoding: str) -> str:
    # cp1252 leaves five bytes undefined; one stray byte must not make a whole report unreadable.
    return raw.decode(encoding, errors="replace" if encoding == "cp1252" else "strict")


def detect_delimiter(text: str) -> str:
    """';' or ',': the one that splits the header area into more fields (comma on a tie).

    The widest row decides rather than the first line, because title rows above the header have one field.
    Quoting is respected, so a '1,234' count in a ';' file does not vote for ','.
    """
    lines = text.splitlines()[:_HEADER_AREA_LINES]
    sample = "\n".join(lines)
    widths = {}
    for delimiter in (",", ";"):
        rows = csv.reader(io.StringIO(sample), delimiter=delimiter)
        widths[delimiter] = max((len(r) for r in rows), default=0)
    return ";" if widths[";"] > widths[","] else ","


def sniff_csv(path: Path) -> CsvDialect:
    """Encoding and delimiter of a CSV file, from its content."""
    encoding = detect_file_encoding(Path(path))
    head = _head(Path(path))
    return CsvDialect(encoding=encoding,
                      delimiter=detect_delimiter(head.decode(encoding, errors="replace")))


def _looks_like_html(raw: bytes) -> bool:
    start = raw.lstrip(b"\xef\xbb\xbf \t\r\n").lower()[:2048]
    return start.startswith(b"<") and any(m in start for m in _HTML_MARKERS)


def _looks_like_text(raw: bytes) -> bool:
    if not raw.strip() or b"\x00" in raw:
        return False
    encoding = detect_encoding(raw)
    text = raw.decode(encoding, errors="replace")
    control = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
    replaced = text.count("\ufffd")
    return (control + replaced) <= len(text) * 0.01


def file_kind(path: Path) -> str:
    """'xlsx' (a zip holding xl/workbook.xml), 'csv', 'html' or 'unknown', by content, never by name."""
    path = Path(path)
    raw = _head(path)
    if raw.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                return "xlsx" if "xl/workbook.xml" in z.namelist() else "unknown"
        except (zipfile.BadZipFile, OSError):
            return "unknown"
    if _looks_like_html(raw):
        return "html"
    if _looks_like_text(raw):
        return "csv"
    return "unknown"
