"""The SESNSP scan of a large file in two halves on two threads (sources/sesnsp.py, _scan): the same records,
record numbers, release month and sha256 as one scan, wherever the cut falls; and the distinct row numbers
the row accounting counts."""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from cies_pipeline.sources import sesnsp

MESES = "Enero,Febrero,Marzo,Abril,Mayo,Junio,Julio,Agosto,Septiembre,Octubre,Noviembre,Diciembre"
TRATA = "La sociedad,Trata de personas,Trata de personas,Trata de personas"
H_ESTATAL = f"Año,Clave_Ent,Entidad,Bien jurídico afectado,Tipo de delito,Subtipo de delito,Modalidad,{MESES}"


# A quoted newline, a stray quote (it joins the last line to its own), a repeated header, a blank line, a
# trafficking line with thousands, a line of another crime with one whole quoted cell, a broken line, a last
# line without newline. Cut anywhere, the two halves must give what one scan gives.
HALVES_LINES = [
    H_ESTATAL,
    f"2024,1,Aguascalientes,{TRATA},1,0,2,0,0,0,0,0,0,0,0,3",
    '2024,9,CDMX,El patrimonio,Robo,"Robo de cables,\r\n tubos",Con violencia,1,1,1,1,1,1,1,1,1,1,1,1',
    f'2024,9,Ciudad de México,{TRATA},"1,234",5,0,0,0,0,0,0,0,0,0,1',
    H_ESTATAL,
    "",
    '2024,2,Baja California,El patrimonio,Robo,"Robo de cables, tubos",Sin violencia,1,2,3,4,5,6,7,8,9,10,11,12',
    f"2024,4,Campeche,{TRATA},2,,,,,,,,,,,",
    "2024,5,Coahuila,La sociedad,Trata de personas,Trata de per",
    '2024,3,Baja California Sur,El patrimonio,Robo,Otros robos,Con "violencia,1,1,1,1,1,1,1,1,1,1,1,1',
    f"2024,6,Colima,{TRATA},4,4,,,,,,,,,,",
]


def _scan_of(path: Path, layout) -> tuple:
    scan = sesnsp._scan(path, layout, sesnsp._needles(("Trata de personas",), layout.encoding), True)
    return (scan.sha256, scan.nonempty, scan.slow, scan.plain.data, scan.plain.fila.tolist(),
            scan.plain.end.tolist(), scan.ultimo)


@pytest.mark.parametrize("bom", [False, True])
def test_two_halves_give_one_scan_wherever_the_cut(tmp_path, monkeypatch, bom):
    """_scan cuts a large file after the first newline past its middle; a cut inside quotes (or anywhere that
    does not end a record) makes it scan the file again in one piece. Every possible cut of a file with quoted
    newlines, a stray quote, a repeated header, a blank and a broken line gives the same records, record
    numbers, release month and sha256 as one scan."""
    text = "\r\n".join(HALVES_LINES).encode("utf-8" if bom else "cp1252")
    path = tmp_path / "IDEFC_NM.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text)
    layout = sesnsp._layout_of(sesnsp._read_head(path))
    whole = _scan_of(path, layout)
    assert whole[0] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert whole[1] == 8     # 9 records below the header (a quoted newline; the stray quote's line and the
    #                          last are one record), one of them empty
    monkeypatch.setattr(sesnsp, "_SPLIT_BYTES", 0)
    halves_used = again = 0
    scans = []
    real_range = sesnsp._scan_range

    def counting(*args):
        scans.append(args[4:6])
        return real_range(*args)

    monkeypatch.setattr(sesnsp, "_scan_range", counting)
    size = path.stat().st_size
    data = path.read_bytes()
    newlines = [i for i, b in enumerate(data) if b == 10]
    # each byte around every newline, and every 7th byte elsewhere
    cuts = sorted({c for n in newlines for c in range(n - 2, n + 4)} | set(range(layout.bom + 1, size, 7)))
    cuts = [c for c in cuts if layout.bom < c < size]
    for cut in cuts:
        scans.clear()
        monkeypatch.setattr(sesnsp, "_split_point", lambda *_: cut)
        assert _scan_of(path, layout) == whole, cut
        if len(scans) == 2:
            halves_used += 1
        else:
            assert len(scans) == 3 and scans[2] == (layout.bom, size)    # scanned again in one piece
            again += 1
    # the halves are kept exactly when the cut follows a newline that ends a record: 9 of the 11 newlines (not
    # the one in the quoted cell, nor the one after the stray quote)
    assert text.count(b"\n") == 11 and halves_used == 9 and again == len(cuts) - 9


def test_the_cut_follows_the_first_newline_past_the_middle(tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes(b"h\n" + b"a" * 7 + b"\nbb\ncc\n")     # 16 bytes from 2: the middle is byte 9
    assert sesnsp._split_point(path, 2, path.stat().st_size) == 10
    path.write_bytes(b"h\n" + b"a" * 20 + b"\n")                # the only newline past the middle is the last byte
    assert sesnsp._split_point(path, 0, path.stat().st_size) is None
    monkeypatch.setattr(sesnsp, "_MAX_RECORD_BYTES", 4)          # no newline within a record's length of it
    path.write_bytes(b"h\n" + b"a" * 20 + b"\nb\n")
    assert sesnsp._split_point(path, 0, path.stat().st_size) is None


def test_distinct_row_numbers_for_the_row_accounting():
    """SourceResult.contabilidad counts each loaded row once (a SESNSP frame repeats a row per month)."""
    import numpy as np

    from cies_pipeline.sources.common import _distinct_rows
    assert _distinct_rows(np.array([5, 3, 5, 3, 9, 3])).tolist() == [3, 5, 9]
    assert _distinct_rows(np.array([], dtype=np.int64)).tolist() == []
    assert _distinct_rows(np.array([2, -1, 2])).tolist() == [-1, 2]              # not a row number: np.unique
    assert _distinct_rows(np.array([10**12, 7, 10**12])).tolist() == [7, 10**12]  # too far apart: np.unique
    assert _distinct_rows(np.array([2.0, 1.0, 2.0])).tolist() == [1.0, 2.0]
    rows = np.repeat(np.arange(2, 30_000, 3), 12)
    assert np.array_equal(_distinct_rows(rows), np.arange(2, 30_000, 3))


@pytest.mark.parametrize("memmem", [None, False], ids=["memmem", "bytes.find"])
def test_the_finder_finds_what_bytes_find_finds(memmem):
    """The scan searches its folded buffer with the C library's memmem (the GIL released meanwhile), or with
    bytes.find where there is none: both give bytearray.find's answer for every start and stop."""
    buffer = bytearray(b"trata de personas,xtrata de personas\naaa,trata de personastrata")
    finder = sesnsp._Finder(buffer, memmem)
    assert finder.find(b"trata de personas", 0, len(buffer)) == 0
    assert finder.find(b"trata de personas", 1, len(buffer)) == 19
    assert finder.find(b"trata de personas", 20, len(buffer)) == 41
    assert finder.find(b"trata de personas", 42, len(buffer)) == -1       # "trata" at the end is not the needle
    assert finder.find(b"trata de personas", 19, 35) == -1                # the needle would end past `stop`
    assert finder.find(b"trata de personas", 19, 36) == 19
    assert finder.find(b"trata", 42, 10**9) == 58                         # a `stop` past the end: the end
    for needle in (b"trata de personas", b"trata", b"a", b"aa", b"\n", b"zz", b"tratatrata"):
        for start in range(0, len(buffer) + 2):
            for stop in (start, start + 1, start + 5, start + 17, len(buffer) - 1, len(buffer), len(buffer) + 9):
                assert finder.find(needle, start, stop) == buffer.find(needle, start, stop), (needle, start, stop)
    assert sesnsp._Finder(bytearray(), memmem).find(b"a", 0, 0) == -1


def test_the_c_library_search_is_there_on_linux():
    """On Linux (glibc or musl) the scan's search runs without the GIL: memmem is found."""
    if not sys.platform.startswith("linux"):
        pytest.skip("memmem through ctypes is looked for on every platform; only Linux is sure to have it")
    assert sesnsp._MEMMEM is not None
    assert sesnsp._Finder(bytearray(b"xx")).address != 0                 # the finder calls it
