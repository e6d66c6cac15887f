"""Property-based tests (hypothesis): malformed CIE reports (CSV and xlsx) and SESNSP files fed to the readers.

Every generated file mixes VALID rows (remembered with their physical row number and value) with MALFORMED
rows of a drawn kind, and may then be damaged as a whole. The properties, for every example:
- the reader never raises;
- each file is read (it appears in `archivos`) and is then loaded, quarantined row by row, or rejected with
  a reason (a `quality.archivos_rechazados` record naming it; a SESNSP file without a SESNSP header is
  ignored with a warning naming it);
- valid rows in a file that was not damaged as a whole are never lost: their values are in the frames, at
  their physical row;
- the row accounting balances for every file and sheet: leidas = cargadas + en_cuarentena + excluidas.
KINDS_TRIED counts what was generated; test_zz_report_fuzz_counts prints it (run with -s to see it).
"""
from __future__ import annotations

import collections
import io
import tempfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from cies_pipeline.sources.sesnsp import read_sesnsp_dir
from cies_pipeline.sources.state_reports import read_state_reports

TODAY = date(2026, 1, 15)
KINDS_TRIED: collections.Counter = collections.Counter()
EXAMPLES: collections.Counter = collections.Counter()
FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

STATES = [("Jalisco", "14", "Guadalajara"), ("Oaxaca", "20", "20067"), ("Veracruz", "30", "Xalapa"),
          ("CDMX", "09", "Coyoacán"), ("Edomex", "15", "Toluca")]
ROW_KINDS = ["negativo", "numero_enorme", "formula", "fecha_como_texto", "texto_en_conteo", "ruido_binario",
             "entidad_desconocida", "periodo_futuro", "fila_vacia", "sin_periodo"]
CSV_FILE_KINDS = ["ninguno", "truncado", "utf16", "cp1252", "sin_encabezado", "ruido_binario_total",
                  "10000_filas_vacias", "punto_y_coma"]
XLSX_FILE_KINDS = ["ninguno", "truncado", "ruido_binario_total", "sin_encabezado", "10000_filas_vacias",
                   "celdas_combinadas", "titulo_arriba"]

valid_row = st.tuples(st.sampled_from(STATES), st.integers(1, 12), st.integers(0, 60))
malformed_row = st.tuples(st.sampled_from(ROW_KINDS), st.sampled_from(STATES), st.integers(1, 12))


def _bad_cells(kind: str, state: tuple, month: int, binary: bytes) -> list:
    """periodo, entidad, municipio, carpetas for a malformed row of `kind`."""
    name, _, mun = state
    periodo = f"2025-{month:02d}"
    return {
        "negativo": [periodo, name, mun, "-3"],
        "numero_enorme": [periodo, name, mun, "9" * 40],
        "formula": [periodo, name, mun, "=SUM(D2:D4)"],
        "fecha_como_texto": [f"quince de {month} de 2025", name, mun, "2"],
        "texto_en_conteo": [periodo, name, mun, "doce"],
        # newlines kept out: a quoted newline makes the reader count physical lines, the spreadsheet does not
        "ruido_binario": [periodo, name, mun, binary.decode("latin-1").replace("\r", " ").replace("\n", " ")],
        "entidad_desconocida": [periodo, "Atlantis", mun, "1"],
        "periodo_futuro": ["2031-05", name, mun, "1"],
        "fila_vacia": ["", "", "", ""],
        "sin_periodo": ["", name, mun, "4"],
    }[kind]


def _check_common(result, archivos: list[str]) -> None:
    read = {a["archivo_origen"] for a in result.archivos}
    rejected = {r["archivo_origen"]: r["motivo"] for r in result.rechazados}
    for archivo in archivos:
        assert archivo in read, f"{archivo} was never read"
    for archivo, motivo in rejected.items():
        assert archivo in archivos and motivo and len(motivo) > 10, (archivo, motivo)
    table = result.contabilidad()
    balance = table["leidas"] - table["cargadas"] - table["en_cuarentena"] - table["excluidas"]
    assert (balance == 0).all(), table[balance != 0].to_dict("records")


def _loaded(result, kind: str) -> set[tuple]:
    frame = result.frames.get(kind)
    if frame is None or not len(frame):
        return set()
    return {(int(f), p.strftime("%Y-%m"), e, None if pd.isna(c) else int(c))
            for f, p, e, c in zip(frame["fila_origen"], frame["periodo"], frame["cve_ent"], frame["carpetas"])}


# -- CIE reports as CSV -----------------------------------------------------------------------------------------
@FUZZ
@given(valid=st.lists(valid_row, min_size=1, max_size=12), bad=st.lists(malformed_row, max_size=8),
       order=st.randoms(use_true_random=False), file_kind=st.sampled_from(CSV_FILE_KINDS),
       cut=st.floats(0.05, 0.95), binary=st.binary(min_size=1, max_size=30))
def test_fuzz_cie_csv(valid, bad, order, file_kind, cut, binary):
    EXAMPLES["cie_csv"] += 1
    KINDS_TRIED.update(f"cie_csv:{k}" for k, _, _ in bad)
    KINDS_TRIED[f"cie_csv_archivo:{file_kind}"] += 1
    rows = [("valid", [f"2025-{m:02d}", s[0], s[2], str(n)], (s[1], m, n)) for s, m, n in valid]
    rows += [("bad", _bad_cells(k, s, m, binary), None) for k, s, m in bad]
    order.shuffle(rows)
    delimiter = ";" if file_kind == "punto_y_coma" else ","
    lines = [] if file_kind == "sin_encabezado" else [delimiter.join(["periodo", "entidad", "municipio",
                                                                      "carpetas"])]
    expected = set()
    for what, cells, value in rows:
        quoted = [c if (delimiter not in c and '"' not in c and "\n" not in c and "\r" not in c)
                  else '"' + c.replace('"', '""') + '"' for c in cells]
        lines.append(delimiter.join(quoted))
        if what == "valid":
            expected.add((len(lines), f"2025-{value[1]:02d}", value[0], value[2]))
    if file_kind == "10000_filas_vacias":
        lines += [""] * 5000 + [delimiter * 3] * 5000
    text = "\n".join(lines) + "\n"
    encoding = {"utf16": "utf-16", "cp1252": "cp1252"}.get(file_kind, "utf-8")
    raw = text.encode(encoding, errors="replace")
    if file_kind == "truncado":
        raw = raw[: max(1, int(len(raw) * cut))]
    elif file_kind == "ruido_binario_total":
        raw = binary * (200 // len(binary) + 1)
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp)
        (inbox / "fuzz_carpetas.csv").write_bytes(raw)
        result = read_state_reports(inbox, TODAY)
    _check_common(result, ["fuzz_carpetas.csv"])
    rejected = bool(result.rechazados)
    # A CSV holding a NUL byte or more than 1% control characters is not text (sniff.py): rejected whole,
    # with the reason 'no es un libro de Excel ni un CSV'. Only binary noise may cause that.
    noisy = any(k == "ruido_binario" for k, _, _ in bad)
    if file_kind in ("ninguno", "cp1252", "10000_filas_vacias", "punto_y_coma"):
        if rejected:
            assert noisy and "no es un libro de Excel ni un CSV" in result.rechazados[0]["motivo"]
            KINDS_TRIED["cie_csv_rechazado_por_ruido_binario"] += 1
        else:
            assert expected <= _loaded(result, "carpetas"), sorted(expected - _loaded(result, "carpetas"))
    elif file_kind == "truncado" and not rejected:
        # rows wholly before the cut still load (the last, cut row may not)
        whole = text.encode(encoding)[: len(raw)].decode(encoding, errors="ignore").count("\n")
        assert {e for e in expected if e[0] <= whole} <= _loaded(result, "carpetas")
    elif file_kind == "sin_encabezado":
        assert rejected and ("encabezado" in result.rechazados[0]["motivo"] or noisy)


# -- CIE reports as workbooks -----------------------------------------------------------------------------------
@FUZZ
@given(valid=st.lists(valid_row, min_size=1, max_size=10), bad=st.lists(malformed_row, max_size=6),
       order=st.randoms(use_true_random=False), file_kind=st.sampled_from(XLSX_FILE_KINDS),
       cut=st.floats(0.05, 0.95), binary=st.binary(min_size=1, max_size=30),
       as_dates=st.booleans())
def test_fuzz_cie_xlsx(valid, bad, order, file_kind, cut, binary, as_dates):
    EXAMPLES["cie_xlsx"] += 1
    KINDS_TRIED.update(f"cie_xlsx:{k}" for k, _, _ in bad)
    KINDS_TRIED[f"cie_xlsx_archivo:{file_kind}"] += 1
    if as_dates:
        KINDS_TRIED["cie_xlsx:periodo_como_fecha_excel"] += 1
    rows = [("valid", [datetime(2025, m, 1) if as_dates else f"2025-{m:02d}", s[0], s[2], n], (s[1], m, n))
            for s, m, n in valid]
    for k, s, m in bad:
        cells = _bad_cells(k, s, m, binary)
        if k == "numero_enorme":
            cells[3] = 10 ** 40  # a number no int64 holds, as a workbook number
        elif k == "negativo":
            cells[3] = -3
        elif k == "ruido_binario":  # openpyxl refuses control characters: keep the printable noise
            cells[3] = "".join(ch for ch in cells[3] if ch.isprintable()) or "?"
        rows.append(("bad", cells, None))
    order.shuffle(rows)
    wb = Workbook()
    ws = wb.active
    ws.title = "Carpetas de investigación"
    if file_kind == "titulo_arriba":
        ws.append(["Reporte mensual del CIE"])
        ws.append([])
    if file_kind != "sin_encabezado":
        ws.append(["Periodo", "Entidad federativa", "Municipio", "Número de carpetas"])
    expected = set()
    previous = None
    for what, cells, value in rows:
        ws.append(cells)
        if what == "valid":
            expected.add((ws.max_row, f"2025-{value[1]:02d}", value[0], value[2]))
            # merged cells take their top-left value: merge the entidad of two consecutive valid rows of one state
            if file_kind == "celdas_combinadas" and previous and previous[1] == cells[1]:
                ws.merge_cells(start_row=ws.max_row - 1, start_column=2, end_row=ws.max_row, end_column=2)
                KINDS_TRIED["cie_xlsx:celdas_combinadas_fusionadas"] += 1
                previous = None  # ranges never overlap
            else:
                previous = (ws.max_row, cells[1])
        else:
            previous = None
    if file_kind == "10000_filas_vacias":
        for r in range(ws.max_row + 1, ws.max_row + 10001):
            ws.cell(row=r, column=4).value = ""
    buffer = io.BytesIO()
    wb.save(buffer)
    raw = buffer.getvalue()
    if file_kind == "truncado":
        raw = raw[: max(1, int(len(raw) * cut))]
    elif file_kind == "ruido_binario_total":
        raw = b"PK\x03\x04" + binary * 20
    with tempfile.TemporaryDirectory() as tmp:
        inbox = Path(tmp)
        (inbox / "fuzz.xlsx").write_bytes(raw)
        result = read_state_reports(inbox, TODAY)
    _check_common(result, ["fuzz.xlsx"])
    if file_kind in ("ninguno", "10000_filas_vacias", "celdas_combinadas", "titulo_arriba"):
        assert not result.rechazados, result.rechazados
        assert expected <= _loaded(result, "carpetas"), sorted(expected - _loaded(result, "carpetas"))
    elif file_kind in ("truncado", "ruido_binario_total", "sin_encabezado"):
        assert result.rechazados and all(r["archivo_origen"] == "fuzz.xlsx" for r in result.rechazados)


# -- SESNSP ----------------------------------------------------------------------------------------------------
MESES = ["Enero", "Febrero", "Marzo", "Abril", "Mayo", "Junio", "Julio", "Agosto", "Septiembre", "Octubre",
         "Noviembre", "Diciembre"]
HEADER = ["Año", "Clave_Ent", "Entidad", "Bien jurídico afectado", "Tipo de delito", "Subtipo de delito",
          "Modalidad", *MESES]
TRATA = ["La sociedad", "Trata de personas", "Trata de personas", "Trata de personas"]
SES_ROW_KINDS = ["negativo", "numero_enorme", "formula", "texto_en_conteo", "campos_de_menos", "ruido_binario",
                 "encabezado_repetido", "fila_vacia", "entidad_desconocida", "otro_delito", "clave_repetida"]
SES_FILE_KINDS = ["ninguno", "truncado", "utf8_bom", "sin_encabezado", "ruido_binario_total",
                  "10000_filas_vacias"]


@FUZZ
@given(states=st.lists(st.integers(1, 32), min_size=1, max_size=10, unique=True),
       counts=st.lists(st.integers(0, 2000), min_size=12, max_size=12),
       bad=st.lists(st.tuples(st.sampled_from(SES_ROW_KINDS), st.integers(1, 12)), max_size=8),
       order=st.randoms(use_true_random=False), file_kind=st.sampled_from(SES_FILE_KINDS),
       cut=st.floats(0.05, 0.95), binary=st.binary(min_size=1, max_size=30))
def test_fuzz_sesnsp(states, counts, bad, order, file_kind, cut, binary):
    EXAMPLES["sesnsp"] += 1
    KINDS_TRIED.update(f"sesnsp:{k}" for k, _ in bad)
    KINDS_TRIED[f"sesnsp_archivo:{file_kind}"] += 1
    # valid trafficking lines of 2024 (one per state: one key is one line), every month published
    rows = [("valid", ["2024", str(e), f"Entidad {e}", *TRATA,
                       *[f'"{c:,}"' if c >= 1000 else str(c) for c in counts]], e) for e in states]
    used = set(states)
    for k, m in bad:
        free = next((e for e in range(1, 33) if e not in used), None)
        base = ["2024", str(free or 1), "X", *TRATA]  # 2024: inside the release (dic24)
        months = ["1"] * 12
        if k in ("negativo", "numero_enorme", "formula", "texto_en_conteo", "ruido_binario"):
            months[m - 1] = {"negativo": "-2", "numero_enorme": "9" * 40, "formula": "=1+1",
                             "texto_en_conteo": "doce",
                             "ruido_binario": '"' + binary.decode("latin-1").replace('"', "'") + '"'}[k]
            cells = base + months
        elif k == "campos_de_menos":
            cells = base[:5]
        elif k == "encabezado_repetido":
            cells = HEADER
        elif k == "fila_vacia":
            cells = [""] * len(HEADER)
        elif k == "entidad_desconocida":
            cells = ["2024", "40", "Atlantis", *TRATA, *months]
        elif k == "otro_delito":
            cells = ["2024", "1", "X", "El patrimonio", "Robo", "Robo", "Con violencia", *months]
        else:  # clave_repetida: the same 2025 key twice quarantines both lines
            cells = base + months
            rows.append(("bad", cells, None))
        rows.append(("bad", cells, None))
        if free:
            used.add(free)
    order.shuffle(rows)
    lines = [] if file_kind == "sin_encabezado" else [",".join(HEADER)]
    expected = set()
    for what, cells, e in rows:
        lines.append(",".join(cells))
        if what == "valid":
            for m, c in enumerate(counts, start=1):
                expected.add((len(lines), f"2024-{m:02d}", f"{e:02d}", c))
    if file_kind == "10000_filas_vacias":
        lines += [""] * 5000 + ["," * (len(HEADER) - 1)] * 5000
    text = "\r\n".join(lines) + "\r\n"
    raw = (b"\xef\xbb\xbf" + text.encode("utf-8")) if file_kind == "utf8_bom" else \
        text.encode("cp1252", errors="replace")
    if file_kind == "truncado":
        raw = raw[: max(1, int(len(raw) * cut))]
    elif file_kind == "ruido_binario_total":
        raw = binary * (200 // len(binary) + 1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "IDEFC_NM_dic24.csv").write_bytes(raw)
        result = read_sesnsp_dir(folder)
    archivo = "IDEFC_NM_dic24.csv"
    ignored = any(w.startswith(f"{archivo}:") and "encabezado" in w for w in result.warnings)
    if ignored:
        assert not result.archivos
    else:
        _check_common(result, [archivo])
    if file_kind in ("ninguno", "utf8_bom", "10000_filas_vacias"):
        assert not ignored and not result.rechazados
        frame = result.frames["sesnsp_carpetas_estatal"]
        loaded = {(int(f), p.strftime("%Y-%m"), e, int(c)) for f, p, e, c in
                  zip(frame["fila_origen"], frame["periodo"], frame["cve_ent"], frame["carpetas"])}
        assert expected <= loaded, sorted(expected - loaded)[:5]
    elif file_kind == "ruido_binario_total" or (file_kind == "sin_encabezado" and rows[0][1] != HEADER):
        # (a shuffled repeated header that lands on line 1 IS the file's header: then it loads)
        assert ignored or result.rechazados


def test_zz_report_fuzz_counts():
    """Runs last in this file: the examples and kinds tried (printed with -s, for the report)."""
    print("\nfuzz examples:", dict(EXAMPLES), "total", sum(EXAMPLES.values()))
    for kind, n in sorted(KINDS_TRIED.items()):
        print(f"  {kind}: {n}")
    assert sum(EXAMPLES.values()) >= 3 * 60 or not EXAMPLES  # the three fuzz tests ran in full (or were deselected)
