"""The analyst's round trip, end to end: a label no crosswalk knows shows in quality.etiquetas_sin_mapeo;
the analyst adds it to an edited copy of the crosswalks (CIES_CROSSWALK_DIR); the next run reclassifies its
rows, records the new crosswalk version on them, and the label is gone from the review list."""
from __future__ import annotations

import shutil

import dagster as dg

from cies_pipeline.harmonize import crosswalks
from cies_pipeline.settings import Settings
from cies_pipeline.definitions import build_definitions
from cies_pipeline.warehouse.resource import Warehouse

HOY = "2026-11-28"
LABEL = "Trata de personas - Finalidad no catalogada"


def _refresh(data, url):
    defs = build_definitions(Settings(data_dir=data, warehouse_url=url, reconciliacion_desde=None), hoy=HOY)
    result = defs.resolve_job_def("refresh").execute_in_process(instance=dg.DagsterInstance.ephemeral(),
                                                                raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]


def test_unmapped_label_added_to_the_copied_crosswalk_is_reclassified(tmp_path, sample_dir, monkeypatch):
    # a small data folder: the reference files, the RNID August crimes files and state victims file, one CIE report
    data = tmp_path / "data"
    shutil.copytree(sample_dir / "reference", data / "reference")
    (data / "sesnsp").mkdir()
    for name in ("RNID-Delitos_Estatal-2026-ago2026.csv", "RNID-Delitos_Municipal-2026-ago2026.csv",
                 "RNID-Victimas_Estatal-2026-ago2026.csv"):
        shutil.copy2(sample_dir / "sesnsp" / name, data / "sesnsp" / name)
    inbox = data / "inbox" / "state_reports"
    inbox.mkdir(parents=True)
    for path in (sample_dir / "inbox" / "state_reports").glob("queretaro_cie_2025_*.csv"):
        shutil.copy2(path, inbox / path.name)
    copy = tmp_path / "mis_crosswalks"
    shutil.copytree(crosswalks.CROSSWALK_DIR, copy)
    monkeypatch.setenv("CIES_CROSSWALK_DIR", str(copy))
    url = f"duckdb:///{data}/cies.duckdb"
    wh = Warehouse(url)
    facts = ("SELECT forma_explotacion, sum(victimas) AS v, min(versiones_crosswalk) AS versiones "
             "FROM warehouse.fact_victimas_trata WHERE fuente = 'SESNSP' AND cve_ent = '21' "
             "AND periodo = DATE '2026-05-01' AND victimas > 0 GROUP BY 1")
    try:
        _refresh(data, url)
        unmapped = wh.query("SELECT archivo_origen, etiqueta, filas FROM quality.etiquetas_sin_mapeo "
                            "WHERE columna = 'forma_explotacion' ORDER BY 1")
        assert unmapped.values.tolist() == [
            ["RNID-Victimas_Estatal-2026-ago2026.csv", LABEL, 8],
            ["queretaro_cie_2025_victimas.csv", "captación por redes sociales", 1]]
        before = wh.query(facts)
        assert before[["forma_explotacion", "v"]].values.tolist() == [["SIN_CLASIFICAR", 1]]

        # the analyst adds the label (as written, or its purpose alone) to the copied alias file
        with open(copy / "formas_explotacion_alias.csv", "a", encoding="utf-8") as f:
            f.write(f"{LABEL},EXPLOTACION_LABORAL,exacta,revisado por la analista\n")
        _refresh(data, url)
        unmapped = wh.query("SELECT etiqueta FROM quality.etiquetas_sin_mapeo WHERE columna = 'forma_explotacion'")
        assert unmapped["etiqueta"].tolist() == ["captación por redes sociales"]
        after = wh.query(facts)
        assert after[["forma_explotacion", "v"]].values.tolist() == [["EXPLOTACION_LABORAL", 1]]
        assert after["versiones"][0] != before["versiones"][0]
        version = crosswalks.crosswalk_version("formas_explotacion_alias")
        assert f"formas_explotacion_alias@{version}" in after["versiones"][0]
        cargas = wh.query("SELECT versiones_crosswalk FROM warehouse.cargas ORDER BY iniciado")
        assert len(cargas) == 2 and cargas["versiones_crosswalk"][0] != cargas["versiones_crosswalk"][1]
        n = wh.query("SELECT count(*) AS n FROM warehouse.fact_victimas_trata WHERE forma_explotacion = "
                     "'SIN_CLASIFICAR' AND fuente = 'SESNSP'")["n"][0]
        assert int(n) == 0
    finally:
        wh.dispose()
