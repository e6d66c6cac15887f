"""The CIE state report: every accepted variant of the template (domain.md sections 4 and 10) read into
four long frames (carpetas, victimas, comite, acuerdos) with the physical row each value came from.

This module owns: which sheet or CSV is which kind (by name alias, else by header), where the header row
is, which header means which canonical column (crosswalk `cabeceras.csv`, sheet names in `hojas.csv`),
how periods, counts, dates and yes/no cells are written, totals rows, notes, repeated headers, hidden
columns, merged cells, formulas without a cached value, personal-data columns (via quality.privacy), and
which of two reports of the same state and month wins. It does not resolve municipalities or categories:
values are kept as written for the harmonizer.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
from openpyxl.utils import get_column_letter

from cies_pipeline.harmonize.crosswalks import crosswalk_version, load_crosswalk, resolve_entidad
from cies_pipeline.quality.privacy import personal_data_columns, value_reason
from cies_pipeline.memo import memo_key
from cies_pipeline.sources.common import (BLANK_STRINGS, SourceResult, empty_frame, label_key,
                                          normalize_label, sha256_of)
from cies_pipeline.sources.sniff import OLE2_MAGIC, decode_text, detect_delimiter, detect_encoding, file_kind

KINDS = ("carpetas", "victimas", "comite", "acuerdos")
LINEAGE = ["archivo_origen", "archivo_sha256", "hoja", "fila_origen", "reporte"]
CANONICAL = {
    "carpetas": ["periodo", "cve_ent", "municipio", "carpetas"],
    "victimas": ["periodo", "cve_ent", "municipio", "forma_explotacion", "sexo", "grupo_edad",
                 "nacionalidad", "victimas"],
    "comite": ["cve_ent", "instalado", "fecha_instalacion", "instrumento_juridico", "sesiones_ordinarias",
               "sesiones_extraordinarias", "fecha_ultima_sesion", "usuarios_sintra_asignados",
               "usuarios_sintra_capacitados", "fecha_primera_carga_sintra"],
    "acuerdos": ["cve_ent", "id_acuerdo", "fecha_sesion", "descripcion", "responsable", "estatus",
                 "fecha_compromiso"],
}
COLUMNS = {kind: LINEAGE + cols for kind, cols in CANONICAL.items()}
# Header columns a sheet must have for its header row to be recognised (canonical names, before 'entidad'
# becomes 'cve_ent').
REQUIRED = {"carpetas": ("periodo", "entidad", "carpetas"), "victimas": ("periodo", "entidad", "victimas"),
            "comite": ("entidad", "instalado"), "acuerdos": ("entidad", "id_acuerdo")}
COUNT_COLUMN = {"carpetas": "carpetas", "victimas": "victimas"}
INT_COLUMNS = {"carpetas", "victimas", "sesiones_ordinarias", "sesiones_extraordinarias",
               "usuarios_sintra_asignados", "usuarios_sintra_capacitados"}
DATE_COLUMNS = {"fecha_instalacion", "fecha_ultima_sesion", "fecha_primera_carga_sintra", "fecha_sesion",
                "fecha_compromiso"}
# Keys of rows that are "the same record" for the duplicate warning.
DUPLICATE_KEYS = {"carpetas": ["cve_ent", "periodo", "municipio"],
                  "victimas": ["cve_ent", "periodo", "municipio", "forma_explotacion", "sexo", "grupo_edad",
                               "nacionalidad"],
                  "acuerdos": ["cve_ent", "id_acuerdo"]}
HEADER_SCAN_ROWS = 30
MASKED_VALUE = "(valor con forma de dato personal: no se guarda)"
NO_HEADER = f"sin encabezado reconocible en las primeras {HEADER_SCAN_ROWS} filas"

ESTATUS = {"cumplido": "Cumplido", "cumplida": "Cumplido", "en proceso": "En proceso",
           "pendiente": "Pendiente", "cancelado": "Cancelado", "cancelada": "Cancelado"}
_TRUE = {"si", "s", "x", "true", "verdadero", "1", "instalado"}
_FALSE = {"no", "n", "false", "falso", "0", "no instalado"}
MONTHS = {"enero": 1, "ene": 1, "jan": 1, "febrero": 2, "feb": 2, "marzo": 3, "mar": 3, "abril": 4,
          "abr": 4, "apr": 4, "mayo": 5, "may": 5, "junio": 6, "jun": 6, "julio": 7, "jul": 7, "agosto": 8,
          "ago": 8, "aug": 8, "septiembre": 9, "setiembre": 9, "sep": 9, "sept": 9, "set": 9, "octubre": 10,
          "oct": 10, "noviembre": 11, "nov": 11, "diciembre": 12, "dic": 12, "dec": 12}
MAX_CONTEO = 2**63 - 1  # the largest bigint
_TOTAL_ROW = re.compile(r"^(gran total|sub ?totale?s?|totale?s?|suma)\b")
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Excel serial numbers accepted as dates: 1954-10-03 .. 2119-01-09. A bare year (2024) is never a serial.
_SERIAL_RANGE = (20000, 80000)


@dataclass(frozen=True)
class FormulaWithoutValue:
    """A workbook cell holding a formula that was saved without its computed value."""

    formula: str

    def __str__(self) -> str:
        return self.formula


class CellError(ValueError):
    """A cell that cannot become a canonical value; `motivo` is its quarantine reason."""

    def __init__(self, motivo: str):
        super().__init__(motivo)
        self.motivo = motivo


# -- cell parsers (public: the SESNSP and reference readers may share them) -------------------------
def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and pd.isna(value):
        return True
    return isinstance(value, str) and not value.strip()


def _serial_to_timestamp(number: float) -> pd.Timestamp | None:
    if _SERIAL_RANGE[0] <= number <= _SERIAL_RANGE[1]:
        return (_EXCEL_EPOCH + pd.Timedelta(days=int(number))).normalize()
    return None


def _date_from_parts(year: int, month: int, day: int) -> pd.Timestamp | None:
    try:
        return pd.Timestamp(dt.date(year, month, day))
    except ValueError:
        return None


def _parse_date_text(text: str) -> pd.Timestamp | None:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?", text)
    if m:
        return _date_from_parts(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{1,2})[/-](\d{1,2})[/-](\d{4})(?: \d{1,2}:\d{2}(?::\d{2})?)?", text)
    if m:  # day first, as Mexican offices write dates
        return _date_from_parts(int(m[3]), int(m[2]), int(m[1]))
    if re.fullmatch(r"\d{5}(?:\.0+)?", text):
        return _serial_to_timestamp(float(text))
    return None


def parse_periodo(value: object, today: dt.date) -> pd.Timestamp:
    """First day of the month a `periodo` cell means; CellError('periodo_incompleto' | 'periodo_invalido' |
    'periodo_futuro') otherwise. Today's month counts as future (it is not over)."""
    period = _periodo(value)
    if period >= pd.Timestamp(today.year, today.month, 1):
        raise CellError("periodo_futuro")
    return period


def _month_start(year: int, month: int) -> pd.Timestamp:
    if not (1 <= month <= 12 and 1900 <= year <= 2100):
        raise CellError("periodo_invalido")
    return pd.Timestamp(year, month, 1)


def _periodo(value: object) -> pd.Timestamp:
    if _blank(value):
        raise CellError("periodo_incompleto")
    if isinstance(value, (dt.datetime, dt.date)):
        return pd.Timestamp(value.year, value.month, 1)
    if isinstance(value, bool):
        raise CellError("periodo_invalido")
    if isinstance(value, (int, float)):
        if not float(value).is_integer():
            raise CellError("periodo_invalido")
        number = int(value)
        if 1900 <= number <= 2100:
            raise CellError("periodo_incompleto")
        serial = _serial_to_timestamp(number)
        if serial is None:
            raise CellError("periodo_invalido")
        return serial.replace(day=1)
    text = str(value).strip()
    if text.lower() in BLANK_STRINGS:
        raise CellError("periodo_incompleto")
    if re.fullmatch(r"\d{4}", text):
        raise CellError("periodo_incompleto")
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})", text)
    if m:
        return _month_start(int(m[1]), int(m[2]))
    m = re.fullmatch(r"(\d{1,2})[-/.](\d{4})", text)
    if m:
        return _month_start(int(m[2]), int(m[1]))
    if re.fullmatch(r"[\d/ :T.-]+", text):
        date = _parse_date_text(text)
        if date is None:
            raise CellError("periodo_invalido")
        return date.replace(day=1)
    words = [w for w in normalize_label(text).split() if w not in ("de", "del")]
    if len(words) == 1 and words[0] in MONTHS:
        raise CellError("periodo_incompleto")
    if len(words) == 2:
        month_word, year_word = words
        if year_word in MONTHS and month_word.isdigit():  # "2024 marzo"
            month_word, year_word = year_word, month_word
        if month_word in MONTHS and year_word.isdigit() and len(year_word) in (2, 4):
            year = int(year_word) + (2000 if len(year_word) == 2 else 0)
            return _month_start(year, MONTHS[month_word])
    raise CellError("periodo_invalido")


def parse_count(value: object) -> int | None:
    """A count cell as int; None when blank (not reported, never zero); CellError('conteo_no_numerico' |
    'conteo_negativo') otherwise. '1,234', '1 234' and '1.234.567' are thousands; '1.234' is ambiguous."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise CellError("conteo_no_numerico")
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError("conteo_no_numerico")
        number = int(value)
    elif isinstance(value, int):
        number = value
    else:
        text = str(value).strip().replace("\u00a0", " ").replace("\u202f", " ")
        if text.lower() in BLANK_STRINGS:
            return None
        text = text.replace("\u2212", "-")
        sign, digits = (-1, text[1:].strip()) if text.startswith("-") else (1, text)
        if re.fullmatch(r"\d+(?:\.0+)?", digits):
            number = int(digits.split(".")[0])
        elif re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.0+)?", digits):
            number = int(digits.split(".")[0].replace(",", ""))
        elif re.fullmatch(r"\d{1,3}(?: \d{3})+", digits):
            number = int(digits.replace(" ", ""))
        elif re.fullmatch(r"\d{1,3}(?:\.\d{3}){2,}", digits):
            number = int(digits.replace(".", ""))
        else:
            raise CellError("conteo_no_numerico")
        number *= sign
    if number < 0:
        raise CellError("conteo_negativo")
    if number > MAX_CONTEO:  # no warehouse column (bigint) holds it; found by the fuzz tests
        raise CellError("conteo_fuera_de_rango")
    return number


def parse_fecha(value: object) -> pd.Timestamp | None:
    """A date cell (ISO, dd/mm/yyyy, Excel date or serial); None when blank; CellError('fecha_invalida')."""
    if _blank(value):
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return pd.Timestamp(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise CellError("fecha_invalida")
    if isinstance(value, (int, float)):
        date = _serial_to_timestamp(value) if float(value).is_integer() else None
    else:
        text = str(value).strip()
        if text.lower() in BLANK_STRINGS:
            return None
        date = _parse_date_text(text)
    if date is None:
        raise CellError("fecha_invalida")
    return date


def parse_booleano(value: object) -> bool | None:
    """sí/si/no, true/false, 1/0, x; None when blank; CellError('booleano_invalido')."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    key = normalize_label(value)
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise CellError("booleano_invalido")


def parse_estatus(value: object) -> str | None:
    if _blank(value):
        return None
    canonical = ESTATUS.get(normalize_label(value))
    if canonical is None:
        raise CellError("estatus_desconocido")
    return canonical


def as_text(value: object) -> str | None:
    """A category or free-text cell as written, stripped; integer-valued numbers without '.0'."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def parse_municipio(value: object, cve_ent: str | None) -> str | None:
    """The municipality as written (a 14039.0 from Excel becomes '14039'); CellError('cvegeo_de_otra_entidad')
    when a 4-5 digit CVEGEO's state prefix contradicts the row's state."""
    text = as_text(value)
    if text is None:
        return None
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    if cve_ent and re.fullmatch(r"\d{4,5}", text) and text.zfill(5)[:2] != cve_ent:
        raise CellError("cvegeo_de_otra_entidad")
    return text


# -- crosswalks ------------------------------------------------------------------------------------------
def _header_index() -> dict[str, dict[str, str]]:
    # Keyed by the crosswalk's version, so crosswalks.clear_cache() after an analyst's edit takes effect.
    return _header_index_of(crosswalk_version("cabeceras"))


@lru_cache(maxsize=4)
def _header_index_of(version: str) -> dict[str, dict[str, str]]:
    """kind -> {header key -> canonical column}, from cabeceras.csv (canonical names match themselves)."""
    index: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
    for row in load_crosswalk("cabeceras").itertuples(index=False):
        kind = row.hoja.strip()
        if kind not in index:
            continue
        for label in (row.canonica, row.alias):
            index[kind].setdefault(label_key(label), row.canonica.strip())
    return index


def _sheet_index() -> dict[str, str]:
    return _sheet_index_of(crosswalk_version("hojas"))


@lru_cache(maxsize=4)
def _sheet_index_of(version: str) -> dict[str, str]:
    index = {kind: kind for kind in KINDS}
    for row in load_crosswalk("hojas").itertuples(index=False):
        index[label_key(row.alias)] = row.hoja.strip()
    return index


def sheet_kind(name: str) -> str | None:
    """The kind a sheet name (or CSV stem suffix) stands for, by alias; None when it names none."""
    return _sheet_index().get(label_key(name))


def header_canonical(kind: str, header: object) -> str | None:
    if _blank(header) or isinstance(header, FormulaWithoutValue):
        return None
    index = _header_index()[kind]
    found = index.get(label_key(header))
    if found is None and "(" in str(header):  # "Carpetas (número)": units in parentheses
        found = index.get(label_key(re.sub(r"\(.*?\)", " ", str(header))))
    return found


# -- one sheet --------------------------------------------------------------------------------------------
@dataclass
class _Sheet:
    archivo: str
    hoja: str
    sha: str
    reporte: str
    # (fila_origen, cells with merged ranges filled, cells as stored)
    rows: list[tuple[int, list, list]]
    hidden: set[int] = field(default_factory=set)


@dataclass
class _Report:
    reporte: str
    mtime: float
    rows: dict[str, list[dict]] = field(default_factory=lambda: {k: [] for k in KINDS})

    @property
    def last_periodo(self) -> pd.Timestamp:
        periods = [r["periodo"] for k in ("carpetas", "victimas") for r in self.rows[k]]
        return max(periods) if periods else pd.Timestamp.min


def _nonempty(cells: list) -> bool:
    return any(not _blank(c) for c in cells)


def _column_label(header: object, idx: int) -> str:
    return as_text(header) if not _blank(header) else f"(sin encabezado, columna {get_column_letter(idx + 1)})"


def _match_header(cells: list, kinds: tuple[str, ...]) -> tuple[str, dict[int, str], list[int]] | None:
    """(kind, column index -> canonical, duplicate column indexes) if `cells` is a header row of a kind."""
    best = None
    for kind in kinds:
        mapping: dict[int, str] = {}
        duplicates: list[int] = []
        for idx, cell in enumerate(cells):
            canonical = header_canonical(kind, cell)
            if canonical is None:
                continue
            if canonical in mapping.values():
                duplicates.append(idx)
            else:
                mapping[idx] = canonical
        if all(c in mapping.values() for c in REQUIRED[kind]):
            if best is None or len(mapping) > len(best[1]):
                best = (kind, mapping, duplicates)
    return best


def _read_sheet(sheet: _Sheet, kind_hint: str | None, today: dt.date, result: SourceResult,
                report: _Report) -> bool:
    """Read one sheet (or CSV) into report.rows; False when it was rejected or empty."""
    kinds = (kind_hint,) if kind_hint else KINDS
    header = None
    for fila, cells, _ in sheet.rows:
        if fila > HEADER_SCAN_ROWS:
            break
        # A hidden column is ignored even when its header is a contract one (often last year's figures).
        header = _match_header([None if i in sheet.hidden else c for i, c in enumerate(cells)], kinds)
        if header:
            header_fila, header_cells = fila, cells
            break
    if header is None:
        motivo = f"{NO_HEADER} (se esperaba una hoja de {kind_hint})" if kind_hint \
            else f"hoja no reconocida: {NO_HEADER}"
        result.reject(sheet.archivo, sheet.hoja, motivo)
        return False
    kind, mapping, duplicates = header
    hoja = sheet.hoja
    body = [(f, c, o) for f, c, o in sheet.rows if f > header_fila and _nonempty(o)]
    width = max([len(header_cells)] + [len(c) for _, c, _ in body])

    # Which columns are used, which are refused; refused values are never kept anywhere.
    contract: dict[int, str] = {}
    written: dict[str, str] = {}
    text_columns: list[int] = []  # unknown, visible, not personal: only looked at for "TOTAL" / notes
    for idx in range(width):
        head = header_cells[idx] if idx < len(header_cells) else None
        values = [c[idx] for _, c, _ in body if idx < len(c) and not _blank(c[idx])]
        if _blank(head) and not values:
            continue
        label = _column_label(head, idx)
        if idx in sheet.hidden:
            result.refuse_column(sheet.archivo, hoja, label, "columna_oculta")
            continue
        if idx in mapping:
            contract[idx] = mapping[idx]
            # Quarantine names the column as the state wrote it, with its spreadsheet letter.
            written[mapping[idx]] = f"{label} ({get_column_letter(idx + 1)})"
            continue
        pii = personal_data_columns([label], {label: values}, contract=set())
        if pii:
            result.refuse_column(sheet.archivo, hoja, label, "dato_personal")
            result.warnings.append(f"{sheet.archivo}, hoja '{hoja}': columna '{label}' rechazada como dato "
                                   f"personal ({pii[label]}); sus valores no se guardan")
        elif idx in duplicates:
            result.refuse_column(sheet.archivo, hoja, label, "columna_duplicada")
        else:
            result.refuse_column(sheet.archivo, hoja, label, "columna_desconocida")
            text_columns.append(idx)
    first_column = min(i for i, c in enumerate(header_cells) if not _blank(c))
    count_column = COUNT_COLUMN.get(kind)

    leidas = 0
    total_all = 0
    total_since = 0
    for fila, cells, original in body:
        leidas += 1
        get = {canon: (cells[idx] if idx < len(cells) else None) for idx, canon in contract.items()}
        if _match_header(cells, (kind,)):
            result.exclude(sheet.archivo, hoja, fila, "encabezado_repetido")
            continue
        if all(_blank(v) for v in get.values()):
            result.exclude(sheet.archivo, hoja, fila, "vacia")
            continue
        labels = [v for c, v in get.items() if c != count_column] + \
                 [cells[i] for i in text_columns if i < len(cells)]
        total_word = next((m for v in labels if isinstance(v, str)
                           and (m := _TOTAL_ROW.match(normalize_label(v)))), None)
        if total_word:
            result.exclude(sheet.archivo, hoja, fila, "total")
            if count_column:
                try:
                    stated = parse_count(get.get(count_column))
                except CellError:
                    stated = None
                expected = total_since if total_word[1].startswith("sub") else total_all
                result.record_total(sheet.archivo, hoja, fila, written.get(count_column, count_column), stated,
                                    expected)
                if stated is not None and stated != expected:
                    result.warnings.append(
                        f"{sheet.archivo}, hoja '{hoja}', fila {fila}: el total escrito ({stated}) no coincide "
                        f"con la suma de las filas de arriba ({expected}); la fila de total no se carga")
                total_since = 0
            continue
        filled = [(i, v) for i, v in enumerate(original) if not _blank(v)]
        if len(filled) == 1 and filled[0][0] <= first_column and isinstance(filled[0][1], str) \
                and _is_note(filled[0][1]):
            result.exclude(sheet.archivo, hoja, fila, "nota")
            continue
        values, failures = _parse_row(kind, get, today)
        if count_column and isinstance(values.get(count_column), int):
            total_all += values[count_column]
            total_since += values[count_column]
        if failures:
            for columna, motivo in failures:
                source = "entidad" if columna == "cve_ent" else columna
                raw = get.get(source)
                if value_reason(raw):  # a CURP typed in the wrong column must not reach quality.cuarentena
                    raw = MASKED_VALUE
                result.quarantine(sheet.archivo, hoja, fila, written.get(source, source), raw, motivo)
            continue
        values.update(archivo_origen=sheet.archivo, archivo_sha256=sheet.sha, hoja=hoja, fila_origen=fila,
                      reporte=sheet.reporte)
        report.rows[kind].append(values)
    result.leidas[(sheet.archivo, hoja)] = leidas
    return True


def _is_note(text: str) -> bool:
    """A lone text cell below the table is a note unless it could be a value of the table."""
    for parser in (lambda v: _periodo(v), parse_count):
        try:
            parser(text)
            return False
        except CellError:
            pass
    return resolve_entidad(text) is None


def _parse_row(kind: str, get: dict, today: dt.date) -> tuple[dict, list[tuple[str, str]]]:
    values: dict = {}
    failures: list[tuple[str, str]] = []

    def attempt(column: str, parser, source: str | None = None):
        raw = get.get(source or column)
        if isinstance(raw, FormulaWithoutValue):
            failures.append((column, "formula_sin_valor"))
            values[column] = None
            return
        try:
            values[column] = parser(raw)
        except CellError as exc:
            failures.append((column, exc.motivo))
            values[column] = None

    attempt("cve_ent", _entidad, "entidad")
    for column in CANONICAL[kind]:
        if column == "cve_ent":
            continue
        if column == "periodo":
            attempt(column, lambda v: parse_periodo(v, today))
        elif column == "municipio":
            attempt(column, lambda v: parse_municipio(v, values.get("cve_ent")))
        elif column in INT_COLUMNS:
            attempt(column, parse_count)
        elif column in DATE_COLUMNS:
            attempt(column, parse_fecha)
        elif column == "instalado":
            attempt(column, parse_booleano)
        elif column == "estatus":
            attempt(column, parse_estatus)
        else:
            attempt(column, as_text)
    return values, failures


def _entidad(value: object) -> str:
    cve = None if _blank(value) else resolve_entidad(value.strip() if isinstance(value, str) else value)
    if cve is None:
        raise CellError("entidad_desconocida")
    return cve


# -- files --------------------------------------------------------------------------------------------------
def _relative(path: Path, inbox: Path) -> str:
    try:
        return path.resolve().relative_to(inbox.resolve()).as_posix()
    except ValueError:
        return path.name


def _read_workbook_sheets(path: Path, archivo: str, sha: str, reporte: str) -> list[_Sheet]:
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about unsupported extensions (data validation ...)
        values_wb = openpyxl.load_workbook(path, data_only=True)
        formulas_wb = openpyxl.load_workbook(path, data_only=False)
    sheets = []
    for ws in values_wb.worksheets:
        # Only the cells stored in the file (ws._cells): iter_rows would create every cell up to max_row,
        # and templates formatted down to row 1,048,576 are common.
        stored = {key: cell.value for key, cell in ws._cells.items() if cell.value is not None}
        for key, cell in formulas_wb[ws.title]._cells.items():
            if cell.data_type == "f" and key not in stored:
                stored[key] = FormulaWithoutValue(str(getattr(cell.value, "text", cell.value)))
        if not stored:
            sheets.append(_Sheet(archivo, ws.title, sha, reporte, []))
            continue
        width = max(c for _, c in stored)
        original: dict[int, list] = {}
        for (r, c), value in stored.items():
            original.setdefault(r, [None] * width)[c - 1] = value
        filled = {r: list(cells) for r, cells in original.items()}
        for merged in ws.merged_cells.ranges:
            top_left = stored.get((merged.min_row, merged.min_col))
            for r in range(merged.min_row, merged.max_row + 1):
                if r in filled:  # a row holding only a merged continuation is physically empty
                    for c in range(merged.min_col, min(merged.max_col, width) + 1):
                        filled[r][c - 1] = top_left
        hidden = set()
        for dim in ws.column_dimensions.values():
            if dim.hidden and dim.min:
                hidden.update(range(dim.min - 1, min(dim.max or dim.min, width)))
        rows = [(r, filled[r], original[r]) for r in sorted(original)]
        sheets.append(_Sheet(archivo, ws.title, sha, reporte, rows, hidden))
    return sheets


def _read_csv_sheet(path: Path, archivo: str, sha: str, reporte: str, hoja: str) -> _Sheet:
    raw = path.read_bytes()
    encoding = detect_encoding(raw)
    text = decode_text(raw, encoding)
    if encoding == "utf-8-sig":
        text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(text))
    rows = []
    # fila_origen is the row a spreadsheet shows (domain.md section 10): one per record, blank lines included
    # (csv yields [] for them), while a newline inside a quoted cell stays in its row.
    for fila, record in enumerate(reader, start=1):
        cells = [None if c == "" else c for c in record]
        rows.append((fila, cells, cells))
    return _Sheet(archivo, hoja, sha, reporte, rows)


def _without_suffix(relative: str) -> str:
    folder, slash, name = relative.rpartition("/")
    return folder + slash + (name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name)


def _unreadable_reason(path: Path, kind: str) -> str:
    if kind == "html":
        return f"página HTML guardada como {path.suffix or 'archivo sin extensión'}"
    if path.stat().st_size == 0:
        return "archivo vacío: no es un libro de Excel ni un CSV"
    with open(path, "rb") as f:
        if f.read(8) == OLE2_MAGIC:
            return "libro de Excel antiguo (.xls) o protegido con contraseña: no es un libro .xlsx legible"
    return "no es un libro de Excel ni un CSV"


def _csv_stem(relative_stem: str) -> tuple[str, str | None]:
    """('dir/oax_2025', 'carpetas') for 'dir/oax_2025_carpetas'; (stem, None) when no known suffix."""
    folder, _, name = relative_stem.rpartition("/")
    parts = name.split("_")
    for n in range(min(4, len(parts) - 1), 0, -1):  # longest suffix first: "_seguimiento_de_acuerdos"
        kind = sheet_kind(" ".join(parts[-n:]))
        if kind:
            prefix = "_".join(parts[:-n])
            return (f"{folder}/{prefix}" if folder else prefix), kind
    return relative_stem, None


def _read_report(paths: list[Path], inbox: Path, today: dt.date, result: SourceResult) -> _Report | None:
    paths = sorted(paths)
    mtime = max(p.stat().st_mtime for p in paths)
    first = _relative(paths[0], inbox)
    kinds = {p: file_kind(p) for p in paths}
    reporte = first if len(paths) == 1 and kinds[paths[0]] != "csv" else _csv_stem(_without_suffix(first))[0]
    report = _Report(reporte, mtime)
    for path in paths:
        archivo = _relative(path, inbox)
        kind = kinds[path]
        sha = sha256_of(path)
        result.add_file(path, archivo, sha, kind)
        if kind not in ("xlsx", "csv"):
            result.reject(archivo, None, _unreadable_reason(path, kind))
            continue
        if kind == "xlsx":
            try:
                sheets = _read_workbook_sheets(path, archivo, sha, reporte)
            except Exception as exc:  # a broken workbook must not stop the other states' files
                result.reject(archivo, None, f"el libro no se pudo abrir ({type(exc).__name__}: {exc})")
                continue
            loaded = 0
            for sheet in sheets:
                hint = sheet_kind(sheet.hoja)
                if not any(_nonempty(o) for _, _, o in sheet.rows):
                    if hint:  # an empty named sheet means "not reported", not an error
                        result.leidas[(archivo, sheet.hoja)] = 0
                        result.warnings.append(f"{archivo}, hoja '{sheet.hoja}': hoja vacía (no reportado)")
                    continue
                loaded += _read_sheet(sheet, hint, today, result, report)
            if not loaded:
                result.reject(archivo, None, "ninguna hoja con encabezado reconocible")
        else:
            hint = _csv_stem(_without_suffix(archivo))[1]
            try:
                sheet = _read_csv_sheet(path, archivo, sha, reporte, hint or "?")
            except (csv.Error, UnicodeDecodeError) as exc:
                result.reject(archivo, None, f"CSV ilegible ({exc})")
                continue
            if hint is None:
                found = next((h for f, c, _ in sheet.rows if f <= HEADER_SCAN_ROWS
                              for h in [_match_header(c, KINDS)] if h), None)
                if found is None:
                    result.reject(archivo, None, NO_HEADER)
                    continue
                hint = found[0]
                sheet.hoja = hint
            if not any(_nonempty(o) for _, _, o in sheet.rows):
                result.leidas[(archivo, hint)] = 0
                result.warnings.append(f"{archivo}: CSV vacío (no reportado)")
                continue
            _read_sheet(sheet, hint, today, result, report)
    return report


# -- re-sent reports, duplicates, frames -------------------------------------------------------------------
def _resolve_resent(reports: list[_Report], result: SourceResult) -> None:
    """For each state and periodo (per kind), the newest report wins; older rows become 'reemplazada'."""
    order = {r.reporte: (r.last_periodo, r.mtime, r.reporte) for r in reports}
    keys = {"carpetas": ("cve_ent", "periodo"), "victimas": ("cve_ent", "periodo"), "comite": ("cve_ent",),
            "acuerdos": ("cve_ent", "id_acuerdo")}
    for kind, key_columns in keys.items():
        winner: dict[tuple, str] = {}
        for report in reports:
            for row in report.rows[kind]:
                key = tuple(row[c] for c in key_columns)
                if key not in winner or order[report.reporte] > order[winner[key]]:
                    winner[key] = report.reporte
        for report in reports:
            kept = []
            for row in report.rows[kind]:
                if winner[tuple(row[c] for c in key_columns)] == report.reporte:
                    kept.append(row)
                else:
                    result.exclude(row["archivo_origen"], row["hoja"], row["fila_origen"], "reemplazada")
            if len(kept) != len(report.rows[kind]):
                result.warnings.append(
                    f"{report.reporte}: {len(report.rows[kind]) - len(kept)} filas de '{kind}' reemplazadas "
                    f"por un reporte más reciente de la misma entidad y periodo")
            report.rows[kind] = kept


def _frame(kind: str, rows: list[dict]) -> pd.DataFrame:
    columns = COLUMNS[kind]
    if not rows:
        frame = empty_frame(columns)
    else:
        frame = pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype="object") for c in columns})
    for column in columns:
        if column == "fila_origen":
            frame[column] = frame[column].astype("int64")
        elif column == "periodo" or column in DATE_COLUMNS:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
        elif column in INT_COLUMNS:
            frame[column] = pd.array(list(frame[column]), dtype="Int64")
        elif column == "instalado":
            frame[column] = pd.array(list(frame[column]), dtype="boolean")
    return frame


def _finish(reports: list[_Report], result: SourceResult) -> SourceResult:
    _resolve_resent(reports, result)
    for kind in KINDS:
        rows = [row for report in reports for row in report.rows[kind]]
        result.frames[kind] = _frame(kind, rows)
        if kind in DUPLICATE_KEYS and rows:
            frame = result.frames[kind]
            repeated = frame[frame.duplicated(["archivo_origen", "hoja"] + DUPLICATE_KEYS[kind], keep="first")]
            for (archivo, hoja), group in repeated.groupby(["archivo_origen", "hoja"], sort=True):
                result.warnings.append(
                    f"{archivo}, hoja '{hoja}': {len(group)} filas repiten la clave "
                    f"({', '.join(DUPLICATE_KEYS[kind])}) de otra fila; se conservan como registros separados")
    return result


def read_state_report(path_or_paths, inbox: Path, today: dt.date) -> SourceResult:
    """One report: a workbook, or the CSV files of one set (`<stem>_carpetas.csv` ...)."""
    paths = [Path(path_or_paths)] if isinstance(path_or_paths, (str, Path)) else [Path(p) for p in path_or_paths]
    result = SourceResult()
    report = _read_report(paths, Path(inbox), today, result)
    return _finish([report] if report else [], result)


def discover_reports(inbox: Path) -> list[list[Path]]:
    """The inbox's reports: each workbook (or unreadable file) alone, CSV files grouped by their stem."""
    inbox = Path(inbox)
    groups: dict[str, list[Path]] = {}
    singles: list[list[Path]] = []
    for path in sorted(p for p in inbox.rglob("*") if p.is_file()):
        if file_kind(path) == "csv":
            groups.setdefault(_csv_stem(_without_suffix(_relative(path, inbox)))[0], []).append(path)
        else:
            singles.append([path])
    return singles + [groups[k] for k in sorted(groups)]


def read_state_reports(inbox: Path, today: dt.date, cache=None) -> SourceResult:
    """Every CIE report in `inbox` (recursively). `today` is the date in America/Mexico_City: periods in
    its month or later are quarantined as 'periodo_futuro'. Never raises for a bad file.

    With a `memo.Cache`, a report whose files have the same sha256 (and the same code version and month) as
    last time is taken from the cache instead of being read again: a new report from one state reads that
    state's files only."""
    inbox = Path(inbox)
    result = SourceResult()
    reports = []
    keys: list[str] = []
    month = f"{today:%Y-%m}"

    def read(paths: list[Path]) -> tuple[_Report | None, SourceResult]:
        own = SourceResult()
        return _read_report(paths, inbox, today, own), own

    for paths in discover_reports(inbox):
        try:
            if cache is None:
                report, own = read(paths)
            else:
                names = [_relative(p, inbox) for p in paths]
                (report, own), reused, key = cache.read(f"cie/{names[0]}", paths, (names, month),
                                                        lambda: read(paths))
                keys.append(key)
                if reused:
                    own.mark_reused(list(zip(paths, names)))
        except Exception as exc:  # the last line of defence: one state's file never stops the others
            for path in paths:
                result.reject(_relative(path, inbox), None,
                              f"error inesperado al leer ({type(exc).__name__}: {exc})")
            keys.append(f"error:{paths}")
            continue
        result.extend(own)
        if report:
            reports.append(report)
    if cache is not None:
        result.huella = memo_key("cie", keys, month)
        cache.save()
    return _finish(reports, result)
