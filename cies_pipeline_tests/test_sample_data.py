"""The sample-data generator: every planted fact of sample_data's docstring, read back independently.

The files are read with the csv module and openpyxl only (never with the pipeline's readers), and the
expected values are the literals of the docstring's "Planted facts" table.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cies_pipeline.sample_data import write_sample_data

MESES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
         "noviembre", "diciembre"]
MESES_ABR = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"]
SESNSP_HEADER = ("Año,Clave_Ent,Entidad,Bien jurídico afectado,Tipo de delito,Subtipo de delito,Modalidad,"
                 "Enero,Febrero,Marzo,Abril,Mayo,Junio,Julio,Agosto,Septiembre,Octubre,Noviembre,Diciembre")
INBOX = Path("inbox/state_reports")

# Every report in the inbox, by state: (file, or CSV stem, first month, last month).
REPORTS = {
    "01": ("CIE_Aguascalientes_2025.xlsx", 1, 12),
    "02": ("reporte_cie_bc_2025", 1, 12),
    "03": ("CIE BCS enero-septiembre 2025.xlsx", 1, 9),
    "05": ("Coahuila_CIE_2025.xlsx", 1, 12),
    "06": ("colima_reporte_2025", 1, 6),
    "07": ("CIE_Chiapas_2025.xlsx", 1, 12),
    "08": ("Chihuahua_CIE_2025.xlsx", 1, 12),
    "09": ("CDMX_CIE_2025.xlsx", 1, 12),
    "11": ("gto_cie_2025", 1, 12),
    "13": ("Hidalgo_reporte_CIE_ene-oct_2025.xlsx", 1, 10),
    "14": ("CIE_Jalisco_2025.xlsx", 1, 12),
    "15": ("EDOMEX_CIE_2025.xlsx", 1, 12),
    "16": ("michoacan_cie_2025", 1, 12),
    "17": ("morelos_cie_abr-dic_2025", 4, 12),
    "19": ("NL_CIE_2025.xlsx", 1, 12),
    "20": ("Oaxaca_CIE_2025.xlsx", 1, 12),
    "21": ("Puebla_CIE_2025-01_a_2025-09.xlsx", 1, 9),
    "22": ("queretaro_cie_2025", 1, 12),
    "23": ("QRoo_CIE_2025.xlsx", 1, 12),
    "24": ("SLP_CIE_2025.xlsx", 1, 12),
    "25": ("sinaloa_cie_ene-sep_2025", 1, 9),
    "28": ("Tamaulipas_CIE_2025.xlsx", 1, 12),
    "29": ("Tlaxcala_CIE_2025.xlsx", 1, 12),
    "30": ("Veracruz_CIE_2025.xlsx", 1, 12),
    "31": ("Yucatan_CIE_2025.xlsx", 1, 12),
}
CARPETAS_HEADERS = {"carpetas", "carpetas de investigacion", "carpetas de investigación", "carpetas iniciadas",
                    "ci", "número de carpetas"}
VICTIMAS_HEADERS = {"victimas", "víctimas", "número de víctimas", "total"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("sample")
    started = time.perf_counter()
    result = write_sample_data(directory)
    elapsed = time.perf_counter() - started
    assert elapsed < 3.0, f"write_sample_data took {elapsed:.2f} s"
    assert sorted(result["files"]) == result["files"]
    assert all((directory / f).is_file() for f in result["files"])
    return directory


# -- independent readers ------------------------------------------------------------------------------
def sesnsp_rows(path: Path) -> list[list[str]]:
    """Data lines of a SESNSP file: repeated headers and a cut last line left out."""
    text = path.read_bytes().decode("cp1252")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    width = len(rows[0])
    return [r for r in rows[1:] if r and r[0] != "Año" and len(r) == width]


def to_int(value: str) -> int:
    return int(value.replace(",", "")) if value != "" else 0


@functools.lru_cache(maxsize=4)
def sesnsp_trata(sample: Path) -> tuple[dict, dict, dict]:
    """(cve_ent, month) of 2025 -> carpetas (state file), victims (summed), carpetas (municipal file, summed)."""
    estatal, victimas, municipal = {}, {}, {}
    for r in sesnsp_rows(sample / "sesnsp/IDEFC_NM_dic25.csv"):
        if r[0] == "2025" and r[4] == "Trata de personas":
            for m in range(12):
                estatal[(f"{int(r[1]):02d}", m + 1)] = to_int(r[7 + m])
    for r in sesnsp_rows(sample / "sesnsp/IDVFC_NM_dic25.csv"):
        if r[0] == "2025" and r[4] == "Trata de personas":
            for m in range(12):
                key = (f"{int(r[1]):02d}", m + 1)
                victimas[key] = victimas.get(key, 0) + to_int(r[9 + m])
    for r in sesnsp_rows(sample / "sesnsp/Municipal-Delitos-2015-2025_dic2025.csv"):
        if r[0] == "2025" and r[6] == "Trata de personas":
            for m in range(12):
                key = (f"{int(r[1]):02d}", m + 1)
                municipal[key] = municipal.get(key, 0) + to_int(r[9 + m])
    return estatal, victimas, municipal


def sheet_rows(sample: Path, report: str, kind: int) -> list[tuple[int, list]]:
    """(spreadsheet row number, cells) of sheet `kind` (0 carpetas, 1 victimas, 2 comite, 3 acuerdos)."""
    if report.endswith(".xlsx"):
        ws = load_workbook(sample / INBOX / report).worksheets[kind]
        return [(i, list(row)) for i, row in enumerate(ws.iter_rows(values_only=True), start=1)]
    suffix = ["carpetas", "victimas", "comite", "acuerdos"][kind]
    raw = (sample / INBOX / f"{report}_{suffix}.csv").read_bytes()
    text = raw[3:].decode("utf-8") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("cp1252")
    delimiter = ";" if ";" in text.splitlines()[0] or ";" in text.splitlines()[1] else ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [(i, [c if c != "" else None for c in row]) for i, row in enumerate(rows, start=1)]


def month_of(value) -> int | None:
    """The 2025 month of a period cell, in any of the written formats; None for other years."""
    if isinstance(value, datetime):
        return value.month if value.year == 2025 else None
    text = str(value).strip().lower()
    for pattern, build in ((r"(\d{4})-(\d{2})$", lambda a, b: (int(a), int(b))),
                           (r"(\d{2})/(\d{4})$", lambda a, b: (int(b), int(a)))):
        match = re.match(pattern, text)
        if match:
            year, month = build(*match.groups())
            return month if year == 2025 else None
    name, _, year = text.replace("-", " ").partition(" ")
    if year in ("2025", "25"):
        return (MESES.index(name) if name in MESES else MESES_ABR.index(name)) + 1
    return None


def sums_by_month(sample: Path, report: str, kind: int) -> dict[int, int]:
    """Sum of the count column per 2025 month; totals, notes, blanks and words left out."""
    rows = sheet_rows(sample, report, kind)
    names = CARPETAS_HEADERS if kind == 0 else VICTIMAS_HEADERS
    header_at = next(i for i, (_, r) in enumerate(rows) if r and r[-1] and str(r[-1]).lower() in names)
    out: dict[int, int] = {}
    for _, r in rows[header_at + 1:]:
        if not r or r[0] is None or str(r[0]).lower().startswith(("total", "fuente")):
            continue
        month, count = month_of(r[0]), r[-1]
        if month is None or count is None or not str(count).isdigit():
            continue
        out[month] = out.get(month, 0) + int(count)
    return out


def column(sample: Path, report: str, kind: int, header: str) -> list:
    rows = sheet_rows(sample, report, kind)
    header_at = next(i for i, (_, r) in enumerate(rows) if header in r)
    index = rows[header_at][1].index(header)
    return [r[index] for _, r in rows[header_at + 1:] if len(r) > index]


# -- determinism and encodings --------------------------------------------------------------------------
def digest(directory: Path) -> dict[str, tuple[str, float]]:
    return {p.relative_to(directory).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_two_runs_are_byte_identical_with_fixed_mtimes(tmp_path):
    first = write_sample_data(tmp_path / "a")
    second = write_sample_data(tmp_path / "b")
    assert first == second
    a, b = digest(tmp_path / "a"), digest(tmp_path / "b")
    assert a == b
    assert len(a) == 65
    # Running again over the same directory overwrites its own files with the same bytes.
    write_sample_data(tmp_path / "a")
    assert digest(tmp_path / "a") == a
    mtimes = {m for _, m in a.values()}
    assert mtimes == {datetime(2025, 12, 20, 18, 0, tzinfo=timezone.utc).timestamp(),
                      datetime(2025, 7, 10, 17, 30, tzinfo=timezone.utc).timestamp()}


def test_sesnsp_files_are_cp1252_crlf_with_the_official_headers(sample):
    for name, extra in (("IDEFC_NM_dic25.csv", ""), ("IDVFC_NM_dic25.csv", "Sexo,Rango de edad,")):
        raw = (sample / "sesnsp" / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        header = SESNSP_HEADER.replace("Modalidad,", "Modalidad," + extra)
        assert raw.startswith(header.encode("cp1252") + b"\r\n")
        assert b"jur\xedd" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    raw = (sample / "sesnsp/Municipal-Delitos-2015-2025_dic2025.csv").read_bytes()
    assert raw.startswith("Año,Clave_Ent,Entidad,Cve. Municipio,Municipio,Bien jurídico afectado,"
                          .encode("cp1252"))
    # Thousands separators inside quotes (Violencia familiar of the large states).
    state = (sample / "sesnsp/IDEFC_NM_dic25.csv").read_bytes().decode("cp1252")
    assert re.search(r'Violencia familiar,"\d,\d{3}"', state)


def test_sesnsp_quirks_repeated_header_and_cut_last_line(sample):
    lines = (sample / "sesnsp/IDEFC_NM_dic25.csv").read_bytes().decode("cp1252").split("\r\n")
    headers = [i + 1 for i, line in enumerate(lines) if line.startswith("Año,")]
    assert headers == [1, 626]
    raw = (sample / "sesnsp/Municipal-Delitos-2015-2025_dic2025.csv").read_bytes()
    assert not raw.endswith(b"\r\n")
    last = raw.rsplit(b"\r\n", 1)[1].decode("cp1252")
    assert last.startswith("2025,32,Zacatecas,32998,No especificado,") and "Narcomenudeo" in last
    assert len(last.split(",")) == 14  # 9 key columns, 4 months, then the cut


def test_municipal_codes_are_integers_with_998(sample):
    rows = sesnsp_rows(sample / "sesnsp/Municipal-Delitos-2015-2025_dic2025.csv")
    codes = {(r[3], r[4]) for r in rows}
    assert ("1001", "Aguascalientes") in codes and ("9014", "Benito Juárez") in codes
    assert ("23005", "Benito Juárez") in codes and ("14998", "No especificado") in codes
    assert ("20208", "San Juan Mixtepec") in codes and ("20209", "San Juan Mixtepec") in codes


def test_reference_files_layout_and_encoding(sample):
    raw = (sample / "reference/AGEEML_2025_sample.csv").read_bytes()
    assert raw.startswith(b'\xef\xbb\xbf"CVEGEO","CVE_ENT","NOM_ENT","NOM_ABR","CVE_MUN","NOM_MUN","CVE_CAB",')
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    rows = list(csv.DictReader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
    by_code = {r["CVEGEO"]: r for r in rows}
    assert by_code["09014"]["NOM_MUN"] == "Benito Juárez" and by_code["23005"]["NOM_MUN"] == "Benito Juárez"
    assert by_code["20208"]["NOM_MUN"] == by_code["20209"]["NOM_MUN"] == "San Juan Mixtepec"
    assert by_code["14039"]["NOM_ENT"] == "Jalisco" and by_code["14039"]["CVE_MUN"] == "039"
    per_state: dict[str, int] = {}
    for r in rows:
        per_state[r["CVE_ENT"]] = per_state.get(r["CVE_ENT"], 0) + 1
    assert len(per_state) == 32 and min(per_state.values()) >= 3 and max(per_state.values()) <= 6

    raw = (sample / "reference/00_Pob_Mitad_1950_2070.csv").read_bytes()
    assert raw.startswith(b"RENGLON,A\xd1O,ENTIDAD,CVE_GEO,EDAD,SEXO,POBLACION")
    rows = list(csv.DictReader(io.StringIO(raw.decode("latin-1"), newline="")))
    total: dict[tuple, int] = {}
    for r in rows:
        key = (r["AÑO"], r["CVE_GEO"], r["ENTIDAD"])
        total[key] = total.get(key, 0) + int(r["POBLACION"])
    assert total[("2025", "14", "Jalisco")] == 8_904_000
    assert total[("2025", "0", "República Mexicana")] == 133_365_000  # the 32 states (thousands, rounded) added up
    assert {k[0] for k in total} == {"2023", "2024", "2025", "2026"} and len({k[1] for k in total}) == 33
    assert [int(r["RENGLON"]) for r in rows[:3]] == [1, 2, 3]


def test_cie_csv_encodings(sample):
    cp1252 = (sample / INBOX / "michoacan_cie_2025_carpetas.csv").read_bytes()
    assert b"Michoac\xe1n;" in cp1252 and not cp1252.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        cp1252.decode("utf-8")
    utf8 = (sample / INBOX / "reporte_cie_bc_2025_carpetas.csv").read_bytes()
    assert utf8.startswith(b"\xef\xbb\xbfPeriodo de reporte,Entidad federativa,Municipio,N\xc3\xbamero de carpetas")


# -- SESNSP internal consistency ------------------------------------------------------------------------
def test_municipal_trata_equals_state_file_except_veracruz_may(sample):
    estatal, victimas, municipal = sesnsp_trata(sample)
    assert len(estatal) == 32 * 12
    differing = {k: (estatal[k], municipal[k]) for k in estatal if estatal[k] != municipal[k]}
    assert differing == {("30", 5): (3, 4)}


def test_trata_magnitudes(sample):
    estatal, victimas, _ = sesnsp_trata(sample)
    small = sum(1 for v in estatal.values() if v <= 6)
    assert small / len(estatal) > 0.85
    larger = {cve for (cve, _m), v in estatal.items() if v > 6}
    assert {"09", "15"} <= larger <= {"02", "08", "09", "14", "15", "19", "21", "23", "24", "32"}
    assert max(estatal[("15", m)] for m in range(1, 13)) >= 8
    assert sum(victimas.values()) > sum(estatal.values())


# -- planted facts -------------------------------------------------------------------------------------
def test_three_discrepancies(sample):
    estatal, victimas, _ = sesnsp_trata(sample)
    assert sums_by_month(sample, "gto_cie_2025", 0)[3] == 6 and estatal[("11", 3)] == 4
    assert sums_by_month(sample, "CIE_Chiapas_2025.xlsx", 1)[6] == 4 and victimas[("07", 6)] == 5
    assert sums_by_month(sample, "Coahuila_CIE_2025.xlsx", 0)[9] == 2 and estatal[("05", 9)] == 3


def test_matching_literals(sample):
    estatal, victimas, _ = sesnsp_trata(sample)
    assert sums_by_month(sample, "CIE_Jalisco_2025.xlsx", 0)[4] == 7 == estatal[("14", 4)]
    assert sums_by_month(sample, "CDMX_CIE_2025.xlsx", 0)[2] == 12 == estatal[("09", 2)]
    assert sums_by_month(sample, "NL_CIE_2025.xlsx", 1)[8] == 6 == victimas[("19", 8)]
    oaxaca = [r for _, r in sheet_rows(sample, "Oaxaca_CIE_2025.xlsx", 0) if r[0] == "2025-10"]
    assert sorted((r[2], r[3]) for r in oaxaca) == [("067", 1), ("208", 1), ("209", 1)]
    assert estatal[("20", 10)] == 3


EXCEPTIONS = {("11", 0, 3), ("05", 0, 9), ("07", 1, 6), ("13", 0, 7)}


@pytest.mark.parametrize("cve", sorted(REPORTS))
def test_every_other_state_month_matches_sesnsp(sample, cve):
    estatal, victimas, _ = sesnsp_trata(sample)
    report, first, last = REPORTS[cve]
    for kind, sesnsp in ((0, estatal), (1, victimas)):
        if cve == "01" and kind == 1:
            continue  # the empty victimas sheet (its own test)
        cie = sums_by_month(sample, report, kind)
        expected = {m: sesnsp[(cve, m)] for m in range(first, last + 1) if (cve, kind, m) not in EXCEPTIONS}
        assert {m: cie.get(m) for m in expected} == expected


def test_quarantined_cell_and_future_period(sample):
    ws = load_workbook(sample / INBOX / "EDOMEX_CIE_2025.xlsx")["Carpetas de investigación"]
    assert ws.cell(2, 4).value == "Número de carpetas" and ws.cell(7, 4).value == "doce"
    assert ws.cell(7, 3).value == "TOLUCA"
    assert ws.cell(2, 1).value == "Periodo" and ws.cell(12, 1).value == "2030-05"
    assert (ws.cell(12, 3).value, ws.cell(12, 4).value) == ("TOLUCA", 3)


def test_blank_count_and_empty_victimas_sheet(sample):
    ws = load_workbook(sample / INBOX / "Hidalgo_reporte_CIE_ene-oct_2025.xlsx")["CI"]
    assert ws.cell(8, 1).value == "07/2025" and ws.cell(8, 4).value is None
    assert sesnsp_trata(sample)[0][("13", 7)] == 2
    ws = load_workbook(sample / INBOX / "CIE_Aguascalientes_2025.xlsx")["victimas"]
    assert ws.max_row == 1 and ws.cell(1, 8).value == "victimas"


def test_unknown_municipality_and_labels(sample):
    rows = [r for _, r in sheet_rows(sample, "michoacan_cie_2025", 0) if r[0] == "febrero 2025"]
    assert sorted((r[2], r[3]) for r in rows) == [("Morelia", "2"), ("Municipio Inventado", "1")]
    municipal = sesnsp_rows(sample / "sesnsp/Municipal-Delitos-2015-2025_dic2025.csv")
    feb = {r[3]: r[10] for r in municipal if r[0] == "2025" and r[1] == "16" and r[6] == "Trata de personas"}
    assert feb["16998"] == "1" and feb["16053"] == "2"
    assert column(sample, "queretaro_cie_2025", 1, "Finalidad").count("captación por redes sociales") == 1
    assert column(sample, "NL_CIE_2025.xlsx", 1, "Sexo").count("Se reserva") == 1
    assert column(sample, "QRoo_CIE_2025.xlsx", 1, "Edad").count("adolescente o joven") == 1


def test_unreadable_html_file(sample):
    assert (sample / INBOX / "CIE_Guerrero_2025.xlsx").read_bytes() == b"<html><body>Acceso denegado</body></html>"


def test_personal_data_file(sample):
    rows = sheet_rows(sample, "Tlaxcala_CIE_2025.xlsx", 1)
    header = rows[0][1]
    assert header[3:5] == ["Nombre de la víctima", "CURP"] and header[-1] == "Víctimas"
    curps = [r[4] for _, r in rows[1:] if r[4] is not None]
    assert curps and all(re.fullmatch(r"[A-Z]{4}\d{6}[HM][A-Z]{5}[0-9A-Z]\d", c) for c in curps)
    assert curps[0] == "GORM990412MTLMMR03" and rows[4][1][3] == "María Fernanda Gómez Ramírez"
    # One row per victim: as many named rows as SESNSP victims in the year.
    _, victimas, _ = sesnsp_trata(sample)
    assert len(curps) == sum(victimas[("29", m)] for m in range(1, 13))


def test_resent_report_newer_wins(sample):
    old = sample / INBOX / "Puebla_CIE_2025-01_a_2025-06.xlsx"
    new = sample / INBOX / "Puebla_CIE_2025-01_a_2025-09.xlsx"
    assert old.stat().st_mtime < new.stat().st_mtime
    old_sums = sums_by_month(sample, old.name, 0)
    new_sums = sums_by_month(sample, new.name, 0)
    assert old_sums[3] == 4 and new_sums[3] == 5 == sesnsp_trata(sample)[0][("21", 3)]
    assert max(month_of(r[0]) or 0 for _, r in sheet_rows(sample, old.name, 0)[1:]) == 6
    assert max(month_of(r[0]) or 0 for _, r in sheet_rows(sample, new.name, 0)[1:]) == 9


def test_states_without_report(sample):
    files = {p.name for p in (sample / INBOX).iterdir()}
    stems = {re.sub(r"_(carpetas|victimas|comite|acuerdos)\.csv$", "", f) for f in files}
    expected = {r[0] for r in REPORTS.values()} | {"CIE_Guerrero_2025.xlsx", "Puebla_CIE_2025-01_a_2025-06.xlsx",
                                                   "jalisco_cie_2026", "nl_cie_2026"}
    assert stems == expected
    named = " ".join(files).lower()
    for estado in ("campeche", "durango", "nayarit", "sonora", "tabasco", "zacatecas"):
        assert estado not in named


# -- the variants of domain.md section 4 -----------------------------------------------------------------
def test_sheet_and_header_aliases(sample):
    names = set()
    headers = set()
    for report, *_ in REPORTS.values():
        if report.endswith(".xlsx"):
            wb = load_workbook(sample / INBOX / report)
            names |= set(wb.sheetnames)
            for ws in wb.worksheets:
                for row in ws.iter_rows(max_row=2, values_only=True):
                    headers |= {str(v) for v in row if v}
        else:
            for kind in range(4):
                headers |= {str(v) for _, r in sheet_rows(sample, report, kind)[:2] for v in r if v}
    assert {"Carpetas de investigación", "CI", "Víctimas", "Comité", "CIE", "Instalación",
            "Seguimiento de acuerdos", "carpetas", "victimas", "comite", "acuerdos"} <= names
    assert {"mes", "Fecha", "Periodo de reporte", "estado", "Entidad federativa", "cve_ent", "Alcaldía", "cve_mun",
            "Clave municipio", "Carpetas de investigación", "CI", "Número de carpetas", "Modalidad",
            "Tipo de explotación", "Finalidad", "Género", "Edad", "Rango de edad", "Grupo etario",
            "País de origen", "Víctimas", "Número de víctimas", "Total"} <= headers


def test_period_municipality_and_value_variants(sample):
    periods = {"datetime" if isinstance(r[0], datetime) else re.sub(r"\d", "9", str(r[0]))
               for report, *_ in REPORTS.values() for _, r in sheet_rows(sample, report, 0)[1:] if r and r[0]}
    assert {"9999-99", "99/9999", "marzo 9999", "mar-99", "datetime"} <= periods
    munis = {v for report, *_ in REPORTS.values() for _, r in sheet_rows(sample, report, 0) if len(r) > 2
             for v in [r[2]] if v}
    assert {"Guadalajara", "Tonala", "NEZAHUALCÓYOTL", "TIJUANA", "020", "05030"} <= munis
    sexes = {k: set(column(sample, REPORTS[k][0], 1, "Sexo")) - {None} for k in ("02", "14")}
    assert sexes["02"] >= {"F", "M"} and "H" not in sexes["02"]
    assert sexes["14"] >= {"M", "H"} and "F" not in sexes["14"]
    ages = set(column(sample, "Chihuahua_CIE_2025.xlsx", 1, "Edad")) | set(
        column(sample, "NL_CIE_2025.xlsx", 1, "Edad"))
    assert "NNA" in ages and any(isinstance(a, int) for a in ages)
    forms = {v for k in REPORTS if k != "01" for v in column(sample, REPORTS[k][0], 1, sheet_rows(
        sample, REPORTS[k][0], 1)[1 if k in ("05", "07", "15", "22") else 0][1][3])}
    assert {"explotación sexual", "trabajos forzados", "laboral", "mendicidad",
            "reclutamiento para delinquir"} <= forms
    nats = set(column(sample, "CIE_Chiapas_2025.xlsx", 1, "País de origen"))
    assert {"Mexicana", "Guatemala", "Honduras", None} <= nats


def test_title_total_blank_rows_and_note(sample):
    rows = sheet_rows(sample, "Coahuila_CIE_2025.xlsx", 0)
    assert rows[0][1][0].startswith("Comité Interinstitucional") and rows[1][1][0] == "Fecha"
    total = next(r for _, r in rows if r[0] == "TOTAL")
    assert total[3] == sum(r[3] for _, r in rows[2:] if isinstance(r[3], int) and r[0] != "TOTAL")
    assert rows[-1][1][0] == "Fuente: Fiscalía General del Estado" and rows[-2][1] == [None] * 4
    cdmx = sheet_rows(sample, "CDMX_CIE_2025.xlsx", 0)
    assert any(r == [None] * 4 for _, r in cdmx[2:-3])  # blank rows between months
    qro = sheet_rows(sample, "queretaro_cie_2025", 0)
    assert qro[0][1][0].startswith("Comité Interinstitucional") and qro[-1][1][0] == "TOTAL"
    assert int(qro[-1][1][3]) == sum(int(r[3]) for _, r in qro[2:-1])


def test_comite_and_acuerdos(sample):
    colima = sheet_rows(sample, "colima_reporte_2025", 2)
    assert colima[0][1][1] == "instalado" and colima[1][1][1] == "no"
    estatus = [v for k in REPORTS for v in column(sample, REPORTS[k][0], 3, sheet_rows(
        sample, REPORTS[k][0], 3)[0][1][5])]
    assert {"cumplido", "EN PROCESO", "Pendiente", "cancelado"} <= set(estatus)
    per_state = [len(sheet_rows(sample, REPORTS[k][0], 3)) - 1 for k in REPORTS]
    assert min(per_state) >= 3 and max(per_state) <= 6
    bcs = load_workbook(sample / INBOX / "CIE BCS enero-septiembre 2025.xlsx")["CIE"]
    assert bcs.cell(1, 3).value == "Fecha de instalación" and isinstance(bcs.cell(2, 3).value, datetime)


def test_rnid_2026_files_encodings_unpublished_months_and_planted_figures(sample):
    early = (sample / "sesnsp/RNID-Victimas_Estatal-2026-mar2026.csv").read_bytes()
    late = (sample / "sesnsp/RNID-Victimas_Estatal-2026-ago2026.csv").read_bytes()
    assert not early.startswith(b"\xef\xbb\xbf") and "Año".encode("cp1252") in early[:4]
    assert late.startswith(b"\xef\xbb\xbf" + "Año".encode("utf-8"))
    early_rows = list(csv.reader(io.StringIO(early.decode("cp1252"), newline="")))[1:]
    late_rows = list(csv.reader(io.StringIO(late[3:].decode("utf-8"), newline="")))[1:]
    months = slice(9, 21)   # Sexo and Rango de edad precede the twelve months
    assert {tuple(r[months][3:]) for r in early_rows} == {("",) * 9}          # April..December empty
    assert {tuple(r[months][8:]) for r in late_rows} == {("0",) * 4}          # September..December 0
    assert {r[8] for r in late_rows} >= {"13 a 17 años", "30 a 60 años"} and len({r[4] for r in late_rows}) == 1
    # Jalisco 2026-02 and Nuevo León 2026-03 by form, and Puebla's unknown subtype (2026-05)
    def total(rows, cve, month, subtipo=None):
        return sum(int(r[months][month - 1]) for r in rows if r[1] == cve and (subtipo is None or r[5] == subtipo))
    sexual = "Trata de personas - Prostitución ajena u otras formas de explotación sexual ajena"
    laboral = "Trata de personas - Explotación laboral"
    assert (total(late_rows, "14", 2), total(late_rows, "14", 2, sexual), total(late_rows, "14", 2, laboral)) \
        == (4, 3, 1)
    assert (total(late_rows, "19", 3, sexual), total(late_rows, "19", 3, laboral)) == (2, 1)
    assert total(late_rows, "21", 5, "Trata de personas - Finalidad no catalogada") == 1
    # the revision: the March release lacks Jalisco's second January victim
    assert (total(early_rows, "14", 1), total(late_rows, "14", 1)) == (1, 2)
    cie = list(csv.reader(io.StringIO((sample / INBOX / "nl_cie_2026_victimas.csv").read_text("utf-8-sig"))))
    march = [r for r in cie[1:] if r[0] == "2026-03"]
    assert sorted((r[3], int(r[7])) for r in march) == [("explotación sexual", 1), ("explotación sexual", 2)]
    conapo = (sample / "reference/base_municipios_final_datos_02.csv").read_bytes()
    assert conapo.startswith(b"RENGLON,CLAVE,CLAVE_ENT,NOM_ENT,MUN,SEXO,A\xd1O,EDAD_QUIN,POB")
