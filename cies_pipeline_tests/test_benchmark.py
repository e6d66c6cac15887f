"""benchmarks/municipal.py: what its refreshes start from, and its reference (the figures themselves are read by
a person from its output, never asserted)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_municipal", ROOT / "benchmarks" / "municipal.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_deployed_copy_links_the_input_files_and_copies_what_the_pipeline_writes(tmp_path):
    """Each measured refresh starts from a copy of the deployed folder in which the input files keep their size,
    mtime and inode (memo.file_stamp: the next night of a deployment), while the warehouse, caches and Dagster
    instance are copies the refresh may change without touching the deployed folder."""
    bench = _benchmark()
    deployed = tmp_path / "deployed"
    files = {"sesnsp/Estatal-Delitos-2015-2025_oct2025.csv": b"a", "reference/AGEEML.csv": b"b",
             "inbox/state_reports/JAL_CIE_2025.xlsx": b"c", "cies.duckdb": b"d", "cache/sha256.json": b"{}",
             "dagster_home/history/runs.db": b"e"}
    for name, content in files.items():
        (deployed / name).parent.mkdir(parents=True, exist_ok=True)
        (deployed / name).write_bytes(content)
    os.utime(deployed / "cies.duckdb", ns=(1_000_000_000, 1_000_000_000))
    copy = tmp_path / "data"
    bench.copy_deployed(deployed, copy)
    for name, content in files.items():
        source, target = (deployed / name).stat(), (copy / name).stat()
        assert (copy / name).read_bytes() == content
        assert (source.st_size, source.st_mtime_ns) == (target.st_size, target.st_mtime_ns)
        assert (source.st_ino == target.st_ino) == (name.split("/")[0] in ("sesnsp", "reference", "inbox")), name
    (copy / "cies.duckdb").write_bytes(b"written by a refresh")
    assert (deployed / "cies.duckdb").read_bytes() == b"d"


def test_the_reference_counts_the_published_trafficking_cells_and_times_its_query(tmp_path):
    """The reference keeps the lines of 'Trata de personas' and counts their non-empty month cells (a 0 is
    published); besides its process's wall time, it reports its query's own seconds."""
    bench = _benchmark()
    header = ("Año,Clave_Ent,Entidad,Cve. Municipio,Municipio,Bien jurídico afectado,Tipo de delito,"
              "Subtipo de delito,Modalidad,Enero,Febrero,Marzo,Abril,Mayo,Junio,Julio,Agosto,Septiembre,Octubre,"
              "Noviembre,Diciembre")
    lines = [header,
             "2025,14,Jalisco,14039,Guadalajara,La libertad personal,Trata de personas,Trata de personas,"
             "Trata de personas,1,0,,,,,,,,,,",
             "2025,14,Jalisco,14039,Guadalajara,El patrimonio,Robo,Robo a casa habitación,Con violencia,"
             "5,6,7,,,,,,,,,",
             "2025,9,Ciudad de México,9002,Azcapotzalco,La libertad personal,Trata de personas,"
             "Trata de personas,Trata de personas,2,,3,4,,,,,,,,"]
    path = tmp_path / "Municipal-Delitos-2025_oct2025.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    out = subprocess.run([sys.executable, "-c", bench.REFERENCE, str(path)], capture_output=True, text=True,
                         check=True).stdout
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["rows"] == 5                 # 1 and 0 in the first line, 2, 3 and 4 in the last
    assert 0 < answer["seconds"] < 60
