"""Tier 2: the partitioned assets (a state's report by state, SESNSP by year), their jobs and sensors.

The expected figures are planted facts of `cies_pipeline.sample_data` (its docstring lists them) or are computed
here from the readers' frames without the cache; the partitions read through the cache.
"""
from __future__ import annotations

import datetime as dt
import pickle
import shutil
from pathlib import Path

import dagster as dg
import openpyxl
import pandas as pd
import pytest

from cies_pipeline.assets.common import CiesResource
from cies_pipeline.assets.partitions import REPORTE_ESTADO_KEY, SESNSP_ANUAL_KEY
from cies_pipeline.automation import inbox_sensor, particion_a_nacional
from cies_pipeline.definitions import build_definitions
from cies_pipeline.settings import Settings
from cies_pipeline.sources.sesnsp import SESNSP_KINDS, read_sesnsp_dir
from cies_pipeline.sources.state_reports import KINDS, read_state_reports

HOY = "2026-11-28"
INBOX = Path("inbox") / "state_reports"
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _defs(data: Path) -> dg.Definitions:
    return build_definitions(Settings(data_dir=data, warehouse_url=f"duckdb:///{data}/w.duckdb",
                                      reconciliacion_desde=None), hoy=HOY)


def _run_range(data: Path, job_name: str, start: str, end: str, instance: dg.DagsterInstance):
    """What a single-run backfill of a range launches: one run tagged with the range."""
    return _defs(data).resolve_job_def(job_name).execute_in_process(
        instance=instance, tags={RANGE_START: start, RANGE_END: end})


def _values(instance: dg.DagsterInstance, key: dg.AssetKey, partitions) -> dict:
    """The partitions' stored values (ParticionesIOManager: one pickle per partition in the storage)."""
    root = Path(instance.storage_directory()).joinpath(*key.path)
    return {p: pickle.loads((root / p).read_bytes()) for p in partitions}


def _metadata(result, key: dg.AssetKey) -> dict[str, dict]:
    return {e.materialization.partition: {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events() if e.materialization.asset_key == key}


@pytest.fixture(scope="module")
def frames(sample_dir):
    """The sample inbox read WITHOUT the cache: the independent side of the row counts."""
    return read_state_reports(sample_dir / INBOX, dt.date.fromisoformat(HOY))


@pytest.fixture(scope="module")
def estados(tmp_path_factory, sample_dir):
    """States 12..21 as one single-run backfill (Guerrero, Hidalgo, Jalisco, Edomex, Michoacán, Morelos,
    Nayarit, Nuevo León, Oaxaca, Puebla), on a copy of the sample."""
    data = tmp_path_factory.mktemp("particiones")
    shutil.copytree(sample_dir, data, dirs_exist_ok=True)
    instance = dg.DagsterInstance.ephemeral()
    result = _run_range(data, "refresco_estado", "12", "21", instance)
    assert result.success
    return data, instance, result


@pytest.fixture(scope="module")
def sesnsp(estados):
    data = estados[0]
    instance = dg.DagsterInstance.ephemeral()
    result = _run_range(data, "sesnsp_por_anio", "2015", "2025", instance)
    assert result.success
    return data, instance, result


# -- (a) a state's partition -------------------------------------------------------------------------------
def test_state_partitions_report_their_slice_with_planted_facts(estados, frames):
    _, instance, result = estados
    keys = [f"{n:02d}" for n in range(12, 22)]
    assert len(instance.get_runs()) == 1                      # the range was ONE run
    assert set(_metadata(result, REPORTE_ESTADO_KEY)) == set(keys)
    v = _values(instance, REPORTE_ESTADO_KEY, keys)

    # row counts per kind = the uncached reader's frames filtered on the state
    for cve in keys:
        for kind in KINDS:
            f = frames.frames[kind]
            assert v[cve]["filas"][kind] == int((f["cve_ent"] == cve).sum()), (cve, kind)

    # Jalisco: a 2025 workbook and the 2026-01..03 CSV set; 2025-04 carpetas 7; 2026-02 3 carpetas, 4 victims
    assert v["14"]["archivos"] == ["CIE_Jalisco_2025.xlsx", "jalisco_cie_2026_carpetas.csv",
                                   "jalisco_cie_2026_victimas.csv"]
    assert v["14"]["meses"] == [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02", "2026-03"]
    assert v["14"]["carpetas_por_mes"]["2025-04"] == 7
    assert (v["14"]["carpetas_por_mes"]["2026-02"], v["14"]["victimas_por_mes"]["2026-02"]) == (3, 4)

    # Estado de México: the quarantined cell 'doce' (row 7, column D) and the future period 2030-05 (row 12)
    edomex = _metadata(result, REPORTE_ESTADO_KEY)["15"]
    assert edomex["celdas_en_cuarentena"] == 2 == v["15"]["celdas_en_cuarentena"]
    assert "doce" in edomex["cuarentena"] and "2030-05" in edomex["cuarentena"]
    assert v["15"]["meses"] == [f"2025-{m:02d}" for m in range(1, 13)]       # 2030-05 is not a month loaded

    # Hidalgo ene-oct, its blank 2025-07 count stays blank (not 0); Morelos abr-dic
    assert v["13"]["meses"] == [f"2025-{m:02d}" for m in range(1, 11)]
    assert v["13"]["carpetas_por_mes"]["2025-07"] is None
    assert v["17"]["meses"] == [f"2025-{m:02d}" for m in range(4, 13)]
    assert len(v["17"]["archivos"]) == 4                                     # a CSV set
    # Michoacán 2025-02: 3 carpetas (one in 'Municipio Inventado'); NL 2025-08: 6 victims; Oaxaca 2025-10: 3
    assert v["16"]["carpetas_por_mes"]["2025-02"] == 3
    assert v["19"]["victimas_por_mes"]["2025-08"] == 6
    assert v["20"]["carpetas_por_mes"]["2025-10"] == 3

    # Puebla re-sent its report: both files are its own, the newer one wins 2025-03 (5, not 4); ene-sep
    assert v["21"]["archivos"] == ["Puebla_CIE_2025-01_a_2025-06.xlsx", "Puebla_CIE_2025-01_a_2025-09.xlsx"]
    assert v["21"]["carpetas_por_mes"]["2025-03"] == 5
    assert v["21"]["meses"][-1] == "2025-09"

    # Guerrero's only file is unreadable (HTML): no state, so no file and no rows; Nayarit sent nothing
    for cve in ("12", "18"):
        assert v[cve]["archivos"] == [] and sum(v[cve]["filas"].values()) == 0
    guerrero = _metadata(result, REPORTE_ESTADO_KEY)["12"]
    assert guerrero["archivos_sin_entidad"] == 1 and "CIE_Guerrero_2025.xlsx" in guerrero["sin_entidad"]
    assert guerrero["lectura"] == "sin reporte de esta entidad en el inbox"

    # the blocking accounting check over the files of the range: balanced, with the reader's own counts
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "contabilidad_filas" and check.passed
    files = {a for cve in keys for a in v[cve]["archivos"]}
    table = frames.contabilidad()
    table = table[table["archivo_origen"].isin(files)]
    assert check.metadata["leidas"].value == int(table["leidas"].sum()) > 0
    assert check.metadata["excluidas"].value == int(table["excluidas"].sum())   # Puebla's 'reemplazada' rows
    assert check.metadata["archivos"].value == len(files) == 19   # 1+3+1+4+4+3+1+2 (Hidalgo..Puebla)


# -- (b) a changed report re-reads that state's file only -------------------------------------------------
def test_a_changed_report_is_read_again_and_the_others_come_from_the_cache(estados, frames, tmp_path):
    shutil.copytree(estados[0], tmp_path, dirs_exist_ok=True)               # with the warm cache
    workbook = tmp_path / INBOX / "CIE_Chiapas_2025.xlsx"
    wb = openpyxl.load_workbook(workbook)
    assert wb["carpetas"]["D3"].value == 1                                   # 2025-01, Tuxtla Gutiérrez
    wb["carpetas"]["D3"] = 2
    wb.save(workbook)

    instance = dg.DagsterInstance.ephemeral()
    result = _run_range(tmp_path, "refresco_estado", "07", "09", instance)
    assert result.success and len(instance.get_runs()) == 1
    v = _values(instance, REPORTE_ESTADO_KEY, ["07", "08", "09"])
    assert (v["07"]["leidos"], v["07"]["reutilizados"]) == (["CIE_Chiapas_2025.xlsx"], [])
    assert (v["08"]["leidos"], v["08"]["reutilizados"]) == ([], ["Chihuahua_CIE_2025.xlsx"])
    assert (v["09"]["leidos"], v["09"]["reutilizados"]) == ([], ["CDMX_CIE_2025.xlsx"])
    # of the 52 inbox files only Chiapas' workbook was parsed (the unreadable Guerrero file may be re-read)
    inbox = v["07"]["inbox"]
    assert inbox["archivos"] == 52 and inbox["reutilizados"] == 52 - len(inbox["leidos"])
    assert set(inbox["leidos"]) - {"CIE_Guerrero_2025.xlsx"} == {"CIE_Chiapas_2025.xlsx"}
    meta = _metadata(result, REPORTE_ESTADO_KEY)
    assert meta["07"]["lectura"] == "leídos (nuevos o cambiados): CIE_Chiapas_2025.xlsx"
    assert meta["09"]["lectura"].startswith("todos sus archivos sin cambio")

    # the edit is in the figures; the rest of Chiapas and CDMX as planted
    chiapas = frames.frames["carpetas"]
    chiapas = chiapas[(chiapas["cve_ent"] == "07") & (chiapas["periodo"] == pd.Timestamp("2025-01-01"))]
    assert v["07"]["carpetas_por_mes"]["2025-01"] == int(chiapas["carpetas"].sum()) + 1
    assert v["07"]["victimas_por_mes"]["2025-06"] == 4
    assert v["09"]["carpetas_por_mes"]["2025-02"] == 12


# -- (c) SESNSP by year: a range backfill is one run ------------------------------------------------------
def test_sesnsp_range_backfill_is_one_run_with_each_years_rows(sesnsp, sample_dir):
    data, instance, result = sesnsp
    years = [str(y) for y in range(2015, 2026)]
    runs = instance.get_runs()
    assert len(runs) == 1 and runs[0].tags[RANGE_START] == "2015" and runs[0].tags[RANGE_END] == "2025"
    meta = _metadata(result, SESNSP_ANUAL_KEY)
    assert sorted(meta) == years                                             # 11 partitions materialized

    independent = read_sesnsp_dir(sample_dir / "sesnsp")                     # no cache
    v = _values(instance, SESNSP_ANUAL_KEY, years)
    for year in years:
        for kind in SESNSP_KINDS:
            frame = independent.frames[kind]
            expected = int((pd.to_datetime(frame["periodo"]).dt.year == int(year)).sum())
            assert v[year]["filas"][kind] == expected == meta[year][f"filas_{kind}"], (year, kind)
        assert v[year]["metodologia"] == "CNSP-38-15"
    # the sample publishes 2023-2025 (release December 2025); earlier years are empty, not missing
    for year in ("2023", "2024", "2025"):
        assert meta[year]["meses"] == 12 and meta[year]["corte"] == "2025-12"
        assert v[year]["filas"]["sesnsp_carpetas_estatal"] > 0
        assert v[year]["filas"]["sesnsp_victimas_municipal"] == 0          # new with RNID-2026
        assert v[year]["archivos"] == ["IDEFC_NM_dic25.csv", "IDVFC_NM_dic25.csv",
                                       "Municipal-Delitos-2015-2025_dic2025.csv"]
    for year in years[:8]:
        assert sum(v[year]["filas"].values()) == 0 and meta[year]["meses"] == 0

    # 2026 alone: RNID-2026, published through August (the August release), victims by municipality too
    instance_2026 = dg.DagsterInstance.ephemeral()
    one = _defs(data).resolve_job_def("sesnsp_por_anio").execute_in_process(instance=instance_2026,
                                                                            partition_key="2026")
    assert one.success
    m26 = _metadata(one, SESNSP_ANUAL_KEY)["2026"]
    assert (m26["metodologia"], m26["corte"], m26["meses_publicados"]) == (
        "RNID-2026", "2026-08", "2026-01 … 2026-08 (8)")
    assert m26["filas_sesnsp_victimas_municipal"] == int(
        (pd.to_datetime(independent.frames["sesnsp_victimas_municipal"]["periodo"]).dt.year == 2026).sum()) > 0


# -- (d) the full refresh stays unpartitioned --------------------------------------------------------------
def test_refresh_has_no_partitioned_asset_and_definitions_load(tmp_path):
    defs = _defs(tmp_path)
    dg.Definitions.validate_loadable(defs)
    refresh = defs.resolve_job_def("refresh")
    assert refresh.partitions_def is None
    graph = refresh.asset_layer.asset_graph
    assert {k.path[0] for k in refresh.asset_layer.selected_asset_keys} >= {"ingest", "warehouse"}
    assert not [k for k in refresh.asset_layer.selected_asset_keys if k.path[0] == "particiones"]
    assert not [k for k in graph.asset_check_keys if k.asset_key.path[0] == "particiones"]
    for key in refresh.asset_layer.selected_asset_keys:
        assert graph.get(key).partitions_def is None, key

    estado, anio = defs.resolve_job_def("refresco_estado"), defs.resolve_job_def("sesnsp_por_anio")
    assert estado.partitions_def.get_partition_keys() == [f"{n:02d}" for n in range(1, 33)]
    assert anio.partitions_def.get_partition_keys() == [str(y) for y in range(2015, 2027)]
    for job, key in ((estado, REPORTE_ESTADO_KEY), (anio, SESNSP_ANUAL_KEY)):
        assert job.executor_def is dg.in_process_executor
        assert set(job.asset_layer.selected_asset_keys) == {key}
        assert defs.get_assets_def(key).backfill_policy == dg.BackfillPolicy.single_run()
    checks = {(c.asset_key, c.name) for c in estado.asset_layer.asset_graph.asset_check_keys}
    assert checks == {(REPORTE_ESTADO_KEY, "contabilidad_filas")}


# -- (e) sensors --------------------------------------------------------------------------------------------
def test_a_successful_partition_run_requests_the_national_refresh(sesnsp, tmp_path):
    _, instance, result = sesnsp
    sensor = _defs(tmp_path).resolve_sensor_def("particion_a_nacional")
    assert [t.job_name for t in sensor.targets] == ["refresh"]
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED

    def evaluate(run: dg.DagsterRun):
        return particion_a_nacional(dg.build_run_status_sensor_context(
            sensor_name="particion_a_nacional", dagster_instance=instance, dagster_run=run,
            dagster_event=result.get_run_success_event()))

    request = evaluate(result.dagster_run)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == f"particion-{result.run_id}"
    assert request.tags["cies/particion"] == "2015…2025"

    # a backfill launched from the asset's page runs in Dagster's implicit asset job: it counts too
    ui_run = dg.DagsterRun(job_name="__ASSET_JOB", run_id="a" * 36, asset_selection=frozenset({SESNSP_ANUAL_KEY}),
                           tags={"dagster/partition": "2024"})
    assert evaluate(ui_run).tags["cies/particion"] == "2024"
    # the national refresh itself (or any other run) does not trigger another refresh
    assert isinstance(evaluate(dg.DagsterRun(job_name="refresh", run_id="b" * 36)), dg.SkipReason)


def test_inbox_sensor_requests_the_changed_states_partition(estados, tmp_path):
    shutil.copytree(estados[0], tmp_path, dirs_exist_ok=True)
    cies = CiesResource(data_dir=str(tmp_path), hoy=HOY)

    def evaluate(cursor):
        context = dg.build_sensor_context(cursor=cursor, resources={"cies": cies})
        return inbox_sensor(context), context.cursor

    # first look: every file is new; one run per state with a readable report, the full refresh for the
    # unreadable Guerrero file (no state)
    requests, cursor = evaluate(None)
    by_job = {}
    for r in requests:
        by_job.setdefault(r.job_name, []).append(r)
    assert sorted(r.partition_key for r in by_job["refresco_estado"]) == [
        "01", "02", "03", "05", "06", "07", "08", "09", "11", "13", "14", "15", "16", "17", "19", "20", "21",
        "22", "23", "24", "25", "28", "29", "30", "31"]                     # 26 states sent, Guerrero's unreadable
    [national] = by_job["refresh"]
    assert national.tags["cies/archivos"] == "CIE_Guerrero_2025.xlsx"
    jalisco = next(r for r in by_job["refresco_estado"] if r.partition_key == "14")
    assert set(jalisco.tags["cies/archivos"].split(", ")) == {
        "CIE_Jalisco_2025.xlsx", "jalisco_cie_2026_carpetas.csv", "jalisco_cie_2026_victimas.csv"}
    assert len({r.run_key for r in requests}) == len(requests)

    assert isinstance(evaluate(cursor)[0], dg.SkipReason)                   # nothing changed

    workbook = tmp_path / INBOX / "CIE_Chiapas_2025.xlsx"
    wb = openpyxl.load_workbook(workbook)
    wb["carpetas"]["D3"] = 2
    wb.save(workbook)
    requests, _ = evaluate(cursor)
    [request] = requests
    assert (request.job_name, request.partition_key) == ("refresco_estado", "07")
    assert request.run_key.startswith("inbox-") and request.run_key.endswith("-07")
    assert request.tags["cies/archivos"] == "CIE_Chiapas_2025.xlsx"
    # the same change evaluated again (a lost cursor update) gives the same run key: no second run
    again, _ = evaluate(cursor)
    assert again[0].run_key == request.run_key
