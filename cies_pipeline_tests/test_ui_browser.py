"""What people see, on the sample refreshed through the CLI: the report site and workbooks, the terminal
output, and the Dagster UI and the report driven in headless Chromium (Debian's package) through Playwright.

Without /usr/bin/chromium the browser tests skip, except under CI=true, where .ci/run installs it and a
missing browser is a failure. Screenshots go to the test's temp folder, and also to $CIES_SCREENSHOTS_DIR
when set (that is how docs/ui_asset_graph.png and docs/reporte_estado.png are made).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from cies_pipeline.reports.data import ventana
from cies_pipeline.warehouse.resource import Warehouse

REPO = Path(__file__).resolve().parents[1]
HOY = "2026-11-28"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PII_VALUES = ["María Fernanda Gómez Ramírez", "GORM990412MTLMMR03"]
LOCATION = "cies_pipeline.definitions"  # workspace.yaml loads this module; its name is the location's


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory, sample_dir):
    """The sample refreshed by `cies-pipeline refresh` with stdout piped (as a script would run it)."""
    data = tmp_path_factory.mktemp("ui")
    shutil.copytree(sample_dir, data, dirs_exist_ok=True)
    env = {**os.environ, "CIES_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home"),
           "GX_ANALYTICS_ENABLED": "False"}
    env.pop("CIES_WAREHOUSE_URL", None)
    proc = subprocess.run([sys.executable, "-m", "cies_pipeline.cli", "refresh", "--hoy", HOY], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return data, env, proc.stdout


def wh_periodos(data: Path) -> pd.Series:
    wh = Warehouse(f"duckdb:///{data}/cies.duckdb")
    try:
        return pd.to_datetime(wh.query("SELECT DISTINCT periodo FROM warehouse.reconciliacion")["periodo"])
    finally:
        wh.dispose()


def _shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path))
    if os.environ.get("CIES_SCREENSHOTS_DIR"):
        shutil.copy(path, Path(os.environ["CIES_SCREENSHOTS_DIR"]) / name)
    return path


# -- without a browser ------------------------------------------------------------------------------
def test_piped_refresh_prints_only_the_summary(refreshed):
    data, _, stdout = refreshed
    lines = stdout.splitlines()
    assert lines[0].startswith("cies-pipeline refresh OK in ")
    assert f"  report: {data / 'reporte' / 'index.html'}" in lines
    assert "✓" not in stdout and "\x1b[" not in stdout  # no progress lines, no terminal escapes


def test_report_site_and_workbooks_from_the_sample(refreshed):
    data, _, _ = refreshed
    site = data / "reporte"
    index = (site / "index.html").read_text()
    # every discrepancy of the window is spelled in the heat map, as the warehouse has it
    wh = Warehouse(f"duckdb:///{data}/cies.duckdb")
    rec = wh.query("SELECT periodo, cve_ent, medida, diferencia FROM warehouse.reconciliacion "
                   "WHERE estatus = 'discrepa'")
    wh.dispose()
    meses = ventana(wh_periodos(data), date.fromisoformat(HOY))
    in_window = rec[pd.to_datetime(rec["periodo"]).isin(meses)]
    assert len(in_window)
    for r in in_window.itertuples():
        assert f"{'C' if r.medida == 'carpetas' else 'V'}{int(r.diferencia):+d}" in index
    # the planted discrepancies, whatever the window, on their state pages (all months)
    for page, periodo, cells in (("11-guanajuato", "2025-03", "<td class=\"n\">6</td><td class=\"n\">4</td>"),
                                 ("07-chiapas", "2025-06", "<td class=\"n\">4</td><td class=\"n\">5</td>"),
                                 ("05-coahuila-de-zaragoza", "2025-09",
                                  "<td class=\"n\">2</td><td class=\"n\">3</td>")):
        text = (site / "estados" / f"{page}.html").read_text()
        assert f"<tr><td>{periodo}</td>" in text and cells in text, page
    national = index.split("Entidades que no reportaron")[1].split("Archivos sin entidad")[0]
    for state in ("Campeche", "Durango", "Guerrero", "Nayarit", "Sonora", "Tabasco", "Zacatecas"):
        assert state in national
    assert len(list((site / "estados").glob("*.html"))) == 32
    mexico = (site / "estados" / "15-mexico.html").read_text()
    assert "EDOMEX_CIE_2025.xlsx" in mexico and "doce" in mexico and "periodo_futuro" in mexico
    assert "CIE_Guerrero_2025.xlsx" in (site / "estados" / "12-guerrero.html").read_text()
    assert "CURP" in (site / "estados" / "29-tlaxcala.html").read_text()
    assert "warehouse.reconciliacion" in (site / "diccionario.html").read_text()
    books = sorted((site / "retroalimentacion").glob("*.xlsx"))
    assert len(books) == 32
    chiapas = load_workbook(site / "retroalimentacion" / "07_chiapas.xlsx")
    rows = [list(r) for r in chiapas["Discrepancias"].iter_rows(values_only=True)]
    assert rows[1:] == [["2025-06", "Víctimas", 4, 5, -1]]
    # personal data refused at the door is nowhere in what is published for people
    texts = [p.read_text() for p in site.rglob("*.html")]
    for book in books:
        with zipfile.ZipFile(book) as z:
            texts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
    assert not any(v in t for v in PII_VALUES for t in texts)


# -- in a real browser ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium under CI")
        pytest.skip(f"no browser at {CHROMIUM} (apt-get install chromium); CI installs it and runs this test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(refreshed, tmp_path_factory):
    _, env, _ = refreshed
    port = _free_port()
    log = tmp_path_factory.mktemp("webserver") / "dagster-webserver.log"
    exe = Path(sys.executable).with_name("dagster-webserver")
    with open(log, "w") as out:
        proc = subprocess.Popen([str(exe), "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dagster-webserver did not start: {log.read_text()[-3000:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _dismiss_welcome(page) -> None:
    """The UI greets a new instance with a newsletter dialog; skip it if it shows."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=3000)
        skip.click()
    except Exception:  # not shown: nothing to dismiss
        pass


def test_asset_graph_column_schema_and_cli_run_in_the_ui(browser, webserver, refreshed, tmp_path):
    _, _, stdout = refreshed
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(f"{webserver}/locations/{LOCATION}/asset-groups/reports", timeout=120_000)
    _dismiss_welcome(page)
    for name in ("reporte_conciliacion", "retroalimentacion_estatal"):
        page.get_by_text(name, exact=True).first.wait_for(timeout=120_000)
    page.wait_for_timeout(1000)  # let the graph settle before the picture
    assert _shot(page, tmp_path, "ui_asset_graph.png").stat().st_size > 10_000
    # the column schema and descriptions come from warehouse/schema.py
    page.goto(f"{webserver}/assets/warehouse/reconciliacion", timeout=120_000)
    page.get_by_text("valor_sesnsp", exact=True).first.wait_for(timeout=60_000)
    # the schema table renders after the page's first data: wait for the description itself
    description = page.get_by_text("Cifra de trata de personas del SESNSP; nulo si no publicó.").first
    description.wait_for(state="visible", timeout=60_000)
    assert description.is_visible()
    # the CLI run is in the instance the UI shows
    run_id = stdout.split("(run ")[1].split(")")[0]
    page.goto(f"{webserver}/runs/{run_id}", timeout=120_000)
    page.get_by_text("publicar_warehouse").first.wait_for(timeout=60_000)
    page.close()


def test_report_in_the_browser(browser, refreshed, tmp_path):
    data, _, _ = refreshed
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    page.goto((data / "reporte" / "index.html").as_uri())
    assert page.get_by_role("heading", name="Conciliación nacional: CIE contra SESNSP").is_visible()
    assert page.locator("svg").first.is_visible()
    page.get_by_role("link", name="México", exact=True).first.click()
    page.get_by_role("heading", name="México", exact=True).wait_for(timeout=10_000)
    assert page.get_by_role("cell", name="EDOMEX_CIE_2025.xlsx").first.is_visible()
    assert page.get_by_role("cell", name="doce", exact=True).is_visible()
    assert _shot(page, tmp_path, "reporte_estado.png").stat().st_size > 10_000
    page.close()
