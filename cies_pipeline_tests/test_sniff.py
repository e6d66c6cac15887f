"""sniff: a file's kind from its bytes, and a CSV's encoding and delimiter."""
import zipfile
from pathlib import Path

import openpyxl
import pytest

from cies_pipeline.sources.sniff import CsvDialect, file_kind, sniff_csv


def _workbook(path):
    wb = openpyxl.Workbook()
    wb.active["A1"] = "periodo"
    wb.save(path)
    return path


def test_workbook_is_recognised_by_content_not_name(tmp_path):
    assert file_kind(_workbook(tmp_path / "reporte.csv")) == "xlsx"
    assert file_kind(_workbook(tmp_path / "reporte.xlsx")) == "xlsx"


def test_zip_without_workbook_is_unknown(tmp_path):
    path = tmp_path / "carta.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    assert file_kind(path) == "unknown"


@pytest.mark.parametrize("name, content, expected", [
    ("pagina.xlsx", b"<!DOCTYPE html><html><head><title>Acceso</title></head></html>", "html"),
    ("pagina.csv", b"\xef\xbb\xbf\n  <html lang='es'><body>Verificando su navegador</body></html>", "html"),
    ("datos.xlsx", b"periodo,entidad,carpetas\n2024-03,Jalisco,3\n", "csv"),
    ("datos.csv", "periodo;entidad;municipio\n2024-03;Oaxaca;Santa María\n".encode("cp1252"), "csv"),
    ("ruido.xlsx", bytes(range(256)) * 4, "unknown"),
    ("vacio.csv", b"", "unknown"),
    ("blancos.csv", b"   \r\n\r\n", "unknown"),
    ("antiguo.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "unknown"),
])
def test_file_kind(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert file_kind(path) == expected


@pytest.mark.parametrize("content, expected", [
    ("Periodo;Entidad;Municipio;Carpetas\n2024-03;Oaxaca;Santa María;1,234\n".encode("cp1252"),
     CsvDialect("cp1252", ";")),
    ("periodo,entidad,municipio\n2024-03,Querétaro,\"1;2\"\n".encode("utf-8-sig"), CsvDialect("utf-8-sig", ",")),
    ("Reporte de Oaxaca\nperiodo;entidad;carpetas\n2024-03;Oaxaca;\"1,234\"\n".encode("utf-8"),
     CsvDialect("utf-8", ";")),
    (b"periodo,entidad\n2024-03,Jalisco\n", CsvDialect("utf-8", ",")),
])
def test_sniff_csv(tmp_path, content, expected):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    assert sniff_csv(path) == expected


def test_windows_1252_byte_deep_in_a_large_file(tmp_path):
    path = tmp_path / "grande.csv"
    path.write_bytes(b"periodo,entidad\n" + b"2024-03,Jalisco\n" * 20000 + "2024-03,Michoacán\n".encode("cp1252"))
    assert sniff_csv(path) == CsvDialect("cp1252", ",")


def test_real_sesnsp_victims_file():
    path = Path("/work/shared/data/real/IDVFC_NM_jun25.csv")
    assert file_kind(path) == "csv"
    assert sniff_csv(path) == CsvDialect("cp1252", ",")
