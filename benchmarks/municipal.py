"""Benchmark: the SESNSP municipal path against a DuckDB reference, measured in the same run.

    .venv/bin/python benchmarks/municipal.py [--file PATH] [--years 1,3,11] [--keep DIR] [--repeat 3]

For each size (years of data ending in 2025), it
  1. writes the full-size municipal file with ../shared/tools/make_sesnsp_municipal.py (or takes --file);
  2. times the reference: DuckDB reading the same file (latin-1 = cp1252 here: the generator writes no byte in
     0x80-0x9F), keeping the trafficking rows and unpivoting the months into long form: its process's wall time
     (start-up included, as the earlier tables report it), and its query alone, timed inside the process from
     the connection to the answer (start-up and `import duckdb` excluded, as they are for the path); the
     ratio to each is printed;
  3. refreshes the sample data once (a deployed pipeline: warehouse, GX store and caches exist), replaces its
     municipal file with that one, times `cies-pipeline refresh` (a subprocess), and reads the run's own step
     timings from its Dagster instance: the municipal path is ingest/cambios + ingest/sesnsp + staging/sesnsp +
     harmonized/carpetas_trata + the publish step (process start-up and imports excluded);
  4. prints wall time and peak RSS of each process tree, and the ratios: the reference and the refresh each run
     --repeat times (the refresh each time on a fresh copy of the deployed folder) and the best of each is
     compared (this machine's noise only adds time: ±30% on a pure CPU loop), the median ratio beside it; each
     reference run comes right before a path run, and the ratio of each such pair is printed too (the machine's
     speed drifts over the minutes a size takes);
  5. repeats a refresh with no changed input (same day: skipped by ingest/cambios), and one evaluated on
     another day of the month, the next night's refresh (ingest/cambios evaluates the freshness checks
     again: the same inputs stale skips the rest too; otherwise every step runs on its stored results).
Figures only: targets are judged by a person (README), never by a timed test.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import median
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT.parent / "shared" / "tools" / "make_sesnsp_municipal.py"
PYTHON = sys.executable
# ingest/cambios decides whether anything changed (it hashes a new file, which the reader then does not)
MUNICIPAL_STEPS = ("ingest__cambios", "ingest__sesnsp", "staging_sesnsp", "harmonized__carpetas_trata",
                   "publicar_warehouse")

# The reference's process also times its query, from its connection to its answer, as the path is timed by
# its steps: without the interpreter's start-up and `import duckdb` (about 0.12 s here).
REFERENCE = """
import json, sys, time
import duckdb
start = time.perf_counter()
con = duckdb.connect()
con.execute("SET threads = 2; SET memory_limit = '1GB'; SET enable_progress_bar = false")
months = ['Enero','Febrero','Marzo','Abril','Mayo','Junio','Julio','Agosto','Septiembre','Octubre',
          'Noviembre','Diciembre']
cols = ", ".join('"' + m + '"' for m in months)
n = con.execute(f'''
  SELECT count(*) FROM (
    UNPIVOT (SELECT * FROM read_csv('{sys.argv[1]}', encoding='latin-1', header=true, all_varchar=true)
             WHERE "Tipo de delito" = 'Trata de personas')
    ON {cols} INTO NAME mes VALUE valor)
  WHERE valor IS NOT NULL AND valor <> ''
''').fetchone()[0]
print(json.dumps({"rows": n, "seconds": time.perf_counter() - start}))
"""


# Loads into the warehouse: the municipal carpetas fact (harmonized from the file) published through the
# warehouse resource's bulk path, against DuckDB's own load of the same DataFrame (CREATE TABLE AS from a
# registered frame), and into PostgreSQL (COPY) when a server answers on CIES_BENCH_PG_URL.
LOADS = """
import json, sys, time
from pathlib import Path
import duckdb
from cies_pipeline.harmonize.facts import harmonize_sesnsp_carpetas
from cies_pipeline.sources.sesnsp import read_sesnsp
from cies_pipeline.warehouse.resource import Warehouse
path, work, pg_url = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
municipal = read_sesnsp(path, path.name).frames["sesnsp_carpetas_municipal"]
frame = harmonize_sesnsp_carpetas(municipal.iloc[0:0], municipal).frame
out = {"rows": len(frame)}
con = duckdb.connect(str(work / "ref.duckdb"))
con.execute("SET threads = 2; SET enable_progress_bar = false")
start = time.perf_counter()
con.register("df", frame)
con.execute("CREATE TABLE t AS SELECT * FROM df")
out["duckdb_native_s"] = time.perf_counter() - start
con.close()
wh = Warehouse(f"duckdb:///{work / 'load.duckdb'}")
start = time.perf_counter()
wh.publish({"warehouse.fact_carpetas_trata": frame}, run_id="benchmark")
out["duckdb_s"] = time.perf_counter() - start
wh.dispose()
if pg_url:
    try:
        wh = Warehouse(pg_url)
        wh.query("SELECT 1")
    except Exception as exc:
        out["postgres_error"] = f"{type(exc).__name__}: {exc}"[:200]
    else:
        start = time.perf_counter()
        wh.publish({"warehouse.fact_carpetas_trata": frame}, run_id="benchmark")
        out["postgres_s"] = time.perf_counter() - start
        wh.dispose()
print(json.dumps(out))
"""


def _pg_bench_url() -> str:
    """A fresh database `cies_bench` on the local server (CIES_BENCH_PG_URL overrides; '' skips)."""
    url = os.environ.get("CIES_BENCH_PG_URL")
    if url is not None:
        return url
    try:
        import psycopg
        with psycopg.connect("postgresql://127.0.0.1:5432/test", autocommit=True, connect_timeout=3) as con:
            con.execute("DROP DATABASE IF EXISTS cies_bench")
            con.execute("CREATE DATABASE cies_bench")
        return "postgresql+psycopg://127.0.0.1:5432/cies_bench"
    except Exception:
        return ""


def _tree_rss_kb(root_pid: int) -> int:
    """RSS of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
        stack += children.get(pid, [])
    return total


def measure(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB of the process tree, stdout) of a command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def poll():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            time.sleep(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    poller.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out}\n{err}")
    return wall, peak / 1024, out


def step_seconds(dagster_home: Path) -> dict[str, float]:
    """Step durations of the latest run in this instance (the run's own timings; a skipped step takes 0 s)."""
    code = (
        "import json, dagster as dg\n"
        "with dg.DagsterInstance.get() as i:\n"
        "    run = i.get_runs(limit=1)[0]\n"
        "    print(json.dumps({s.step_key: (s.end_time - s.start_time) if s.start_time and s.end_time else 0.0\n"
        "                      for s in i.get_run_step_stats(run.run_id)}))\n")
    out = subprocess.run([PYTHON, "-c", code], env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def other_day_same_month() -> date:
    """Tomorrow in Mexico City, or yesterday on the last day of a month (the stored results are by month)."""
    today = datetime.now(ZoneInfo("America/Mexico_City")).date()
    tomorrow = today + timedelta(days=1)
    return tomorrow if tomorrow.month == today.month else today - timedelta(days=1)


def prepare(data: Path, municipal: Path, env: dict) -> float:
    """A deployed pipeline that gets a new municipal file: the sample data refreshed once (its warehouse, Great
    Expectations store and caches exist, as after any nightly run), then the sample's municipal file replaced by
    the benchmark file. Returns the wall time of that first refresh (it also pays the one-time set-up: the GX
    store's suites, checkpoints and Data Docs site, the warehouse schema)."""
    subprocess.run([PYTHON, "-m", "cies_pipeline.cli", "sample-data", str(data)], check=True,
                   capture_output=True)
    start = time.perf_counter()
    subprocess.run([PYTHON, "-m", "cies_pipeline.cli", "refresh"], env=env, check=True, capture_output=True)
    first = time.perf_counter() - start
    for old in (data / "sesnsp").glob("Municipal-*"):
        old.unlink()
    return first


# The folders the pipeline only reads (CiesResource: sesnsp_dir, reference_dir, inbox_dir).
INPUT_DIRS = ("sesnsp", "reference", "inbox")


def copy_deployed(source: Path, target: Path) -> None:
    """A copy of a deployed folder as the next night finds it: the files the pipeline writes (warehouse, caches,
    Dagster instance, GX store) copied, the input files hard-linked, so that each keeps its size, mtime and
    inode (memo.file_stamp). A plain copy would give every input a new inode: the refresh would then take every
    sample file for a new one (hashed by ingest/cambios, parsed again by its reader), which a deployment whose
    files did not change never does."""
    def link_inputs(src: str, dst: str) -> str:
        relative = Path(src).relative_to(source)
        if relative.parts[0] in INPUT_DIRS:
            try:
                os.link(src, dst)
                return dst
            except OSError:
                pass
        return shutil.copy2(src, dst)

    shutil.copytree(source, target, symlinks=True, copy_function=link_inputs)


def put_in_place(pristine: Path, data: Path, municipal: Path) -> None:
    """The deployed folder as `prepare` left it (copy_deployed), with the benchmark file as its new municipal
    file (a hard link where possible: the file is as new to the pipeline either way)."""
    shutil.rmtree(data, ignore_errors=True)
    copy_deployed(pristine, data)
    target = data / "sesnsp" / municipal.name
    try:
        os.link(municipal, target)
    except OSError:
        shutil.copy(municipal, target)


def run_size(years: int, given: Path | None, work: Path, repeat: int, load_rates: bool = True) -> dict:
    first = 2025 - years + 1
    municipal = given or work / f"Municipal-Delitos-{first}-2025_oct2025.csv"
    if not given:
        subprocess.run([PYTHON, str(GENERATOR), str(municipal), "--years", f"{first}-2025"], check=True,
                       capture_output=True)
    size_mb = municipal.stat().st_size / 1e6
    rows, seen = 0, set()
    with open(municipal, "rb") as f:
        next(f, None)                        # the header
        for line in f:
            rows += 1
            seen.add(line[:4])
    if given:   # a given file's size in years: the years its lines hold
        years = sum(1 for y in seen if y.isdigit())

    data = work / f"data_{years}"
    pristine = work / f"deployed_{years}"
    env = {**os.environ, "CIES_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    env.pop("CIES_WAREHOUSE_URL", None)
    first_s = prepare(data, municipal, env)
    shutil.rmtree(pristine, ignore_errors=True)
    copy_deployed(data, pristine)
    cli = [PYTHON, "-m", "cies_pipeline.cli", "refresh", "--summary", str(data / "summary.json")]
    # best of `repeat` for the reference and for the path (the machine's noise only ever adds time), each
    # reference run right before a path run: the pairs' ratios show how far the machine drifted meanwhile
    runs, refs = [], []
    for _ in range(repeat):
        wall, rss, out = measure([PYTHON, "-c", REFERENCE, str(municipal)])
        answer = json.loads(out.strip().splitlines()[-1])
        refs.append((wall, rss, answer["rows"], answer["seconds"]))
        put_in_place(pristine, data, municipal)
        wall, rss, _ = measure(cli, env)
        steps = step_seconds(data / "dagster_home")
        runs.append((sum(steps.get(s, 0.0) for s in MUNICIPAL_STEPS), wall, rss, steps))
    ref_s, ref_rss, ref_rows, _ = min(refs)
    ref_walls = sorted(r[0] for r in refs)
    ref_queries = sorted(r[3] for r in refs)
    pair_ratios = sorted(run[0] / ref[0] for run, ref in zip(runs, refs))
    pair_query_ratios = sorted(run[0] / ref[3] for run, ref in zip(runs, refs))
    path_s, full_wall, _, steps = min(runs, key=lambda r: r[0])
    full_rss = max(r[2] for r in runs)
    path_all = sorted(r[0] for r in runs)
    again_wall, again_rss, _ = measure(cli, env)
    again_steps = step_seconds(data / "dagster_home")
    again_path_s = sum(again_steps.get(s, 0.0) for s in MUNICIPAL_STEPS)
    # the next night with no new file: another date of the month; ingest/cambios evaluates freshness again
    next_wall, _, _ = measure([*cli, "--hoy", other_day_same_month().isoformat()], env)
    next_steps = step_seconds(data / "dagster_home")
    next_path_s = sum(next_steps.get(s, 0.0) for s in MUNICIPAL_STEPS)
    loads = {}
    if load_rates:
        load_dir = work / f"loads_{years}"
        load_dir.mkdir(exist_ok=True)
        _, _, out = measure([PYTHON, "-c", LOADS, str(municipal), str(load_dir), _pg_bench_url()])
        loads = json.loads(out.strip().splitlines()[-1])
        shutil.rmtree(load_dir, ignore_errors=True)
    if not given:
        municipal.unlink()
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(pristine, ignore_errors=True)
    return {"years": years, "repeat": repeat, "reference_all": ref_walls, "path_all": path_all,
            "pair_ratios": pair_ratios, "rows": rows, "mb": round(size_mb), "reference_rows": ref_rows,
            "reference_s": ref_s, "reference_query_all": ref_queries, "reference_query_s": ref_queries[0],
            "pair_query_ratios": pair_query_ratios, "reference_mb": ref_rss, "path_s": path_s,
            "steps": {k: round(v, 2) for k, v in steps.items() if k in MUNICIPAL_STEPS},
            "refresh_s": full_wall, "refresh_mb": full_rss, "again_path_s": again_path_s, "first_s": first_s,
            "again_refresh_s": again_wall, "again_mb": again_rss, "next_path_s": next_path_s,
            "next_refresh_s": next_wall, "next_steps": {k: round(v, 2) for k, v in next_steps.items()
                                                        if k in MUNICIPAL_STEPS}, "loads": loads}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="an existing municipal file (skips generation; one size)")
    parser.add_argument("--years", default="1,3,11", help="sizes to run, in years ending 2025")
    parser.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the reference and of the path per size; the best of each is compared")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cies-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = [0] if args.file else [int(y) for y in args.years.split(",")]   # 0: counted in the file
    results = [run_size(y, args.file, work, args.repeat) for y in sizes]
    # ratio: to the reference's process (start-up included, as in the earlier tables); /query: to its query alone
    print(f"{'years':>5} {'rows':>10} {'MB':>5} | {'DuckDB ref s':>12} {'MB':>6} {'query s':>7} | {'path s':>7} "
          f"{'ratio':>6} {'/query':>6} | {'refresh s':>9} {'peak MB':>8} | {'unchanged path s':>16} {'% of path':>9}")
    for r in results:
        print(f"{r['years']:>5} {r['rows']:>10,} {r['mb']:>5} | {r['reference_s']:>12.2f} {r['reference_mb']:>6.0f} "
              f"{r['reference_query_s']:>7.2f} | {r['path_s']:>7.2f} {r['path_s'] / r['reference_s']:>5.1f}x "
              f"{r['path_s'] / r['reference_query_s']:>5.1f}x | {r['refresh_s']:>9.2f} "
              f"{r['refresh_mb']:>8.0f} | {r['again_path_s']:>16.2f} {100 * r['again_path_s'] / r['path_s']:>8.0f}%")
    for r in results:
        print(f"  {r['years']} years, best of {r['repeat']}: reference s "
              f"{', '.join(f'{v:.2f}' for v in r['reference_all'])} (its query alone: "
              f"{', '.join(f'{v:.2f}' for v in r['reference_query_all'])}); path s {', '.join(f'{v:.2f}' for v in r['path_all'])}"
              f"; median ratio {median(r['path_all']) / median(r['reference_all']):.1f}x; ratio of each path run to "
              f"the reference run just before it {', '.join(f'{v:.1f}x' for v in r['pair_ratios'])} "
              f"(median {median(r['pair_ratios']):.1f}x); to its query alone "
              f"{', '.join(f'{v:.1f}x' for v in r['pair_query_ratios'])}")
        print(f"  {r['years']} years, municipal path steps (best run): {r['steps']}")
    print("  before each size, the sample data was refreshed once (first run, one-time set-up included): "
          + ", ".join(f"{r['first_s']:.1f} s" for r in results))
    print("  unchanged, same day: ingest/cambios finds nothing changed and every other step is skipped (above).")
    for r in results:
        ran = sorted(k for k, v in r["next_steps"].items() if v > 0)
        print(f"  unchanged, another day of the month ({r['years']} years): path {r['next_path_s']:.2f} s = "
              f"{100 * r['next_path_s'] / r['path_s']:.0f}% of the path (refresh {r['next_refresh_s']:.1f} s); "
              f"steps that ran on the path: {', '.join(ran) or 'none'}")
    for r in results:
        loads = r["loads"]
        if not loads:
            continue
        line = (f"  loads, {r['years']} years ({loads['rows']:,} fact rows): DuckDB native CREATE TABLE AS "
                f"{loads['rows'] / loads['duckdb_native_s']:,.0f} rows/s; warehouse DuckDB (INSERT…SELECT) "
                f"{loads['rows'] / loads['duckdb_s']:,.0f} rows/s ({loads['duckdb_s'] / loads['duckdb_native_s']:.1f}x)")
        if "postgres_s" in loads:
            line += f"; warehouse PostgreSQL (COPY) {loads['rows'] / loads['postgres_s']:,.0f} rows/s"
        else:
            line += f"; PostgreSQL not measured ({loads.get('postgres_error', 'no server')})"
        print(line)
    if len(results) > 1:
        small, big = results[0], results[-1]
        print(f"growth: {big['years']}/{small['years']} years = {big['rows'] / small['rows']:.1f}x rows -> "
              f"{big['path_s'] / small['path_s']:.1f}x path time, {big['reference_s'] / small['reference_s']:.1f}x "
              f"reference time")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
