"""quality.crosssource: cross-source, jump, coverage and freshness rules on literal frames, by hand."""
from __future__ import annotations

from datetime import date

import pandas as pd

from cies_pipeline.quality import crosssource as cs

T = pd.Timestamp


def _ses(rows, corte="2025-12-01", municipal=False):
    cols = ["cve_ent", "periodo", "carpetas"] + (["cvegeo"] if municipal else [])
    frame = pd.DataFrame(rows, columns=cols)
    frame["periodo"] = pd.to_datetime(frame["periodo"])
    frame["corte"] = T(corte)
    return frame


def test_sesnsp_municipal_summed_by_state_against_state_file():
    estatal = _ses([("30", "2025-05-01", 3), ("30", "2025-04-01", 2), ("14", "2025-05-01", 7)])
    municipal = _ses([("30", "2025-05-01", 2, "30193"), ("30", "2025-05-01", 1, "30087"),
                      ("30", "2025-05-01", 1, "30039"),  # Veracruz 2025-05: 4 against 3
                      ("30", "2025-04-01", 2, "30193"),  # equal: not listed
                      ("14", "2025-05-01", 7, "14039"),
                      ("09", "2025-05-01", 1, "09002")],  # no state figure: listed, estatal NULL (0)
                     municipal=True)
    out = cs.sesnsp_municipal_vs_estatal(estatal, municipal)
    rows = [(r.cve_ent, r.periodo, None if pd.isna(r.estatal) else int(r.estatal), int(r.municipal),
             None if pd.isna(r.diferencia) else int(r.diferencia)) for r in out.itertuples()]
    assert rows == [("09", T("2025-05-01"), None, 1, 1), ("30", T("2025-05-01"), 3, 4, 1)]
    # a state file 0 with no municipal line agrees; months only one file publishes are not compared
    estatal = _ses([("30", "2025-05-01", 4), ("01", "2025-05-01", 0), ("01", "2025-06-01", 5)])
    municipal = _ses([("30", "2025-05-01", 4, "30193")], municipal=True)
    assert cs.sesnsp_municipal_vs_estatal(estatal, municipal).empty


def test_sesnsp_cross_check_uses_latest_release_only():
    estatal = pd.concat([_ses([("30", "2025-05-01", 9)], corte="2025-06-01"),
                         _ses([("30", "2025-05-01", 4)], corte="2025-12-01")])
    municipal = _ses([("30", "2025-05-01", 4, "30193")], municipal=True)
    assert cs.sesnsp_municipal_vs_estatal(estatal, municipal).empty


def test_totals_rows_that_disagree():
    totales = [{"archivo_origen": "a.xlsx", "hoja": "CI", "fila_origen": 9, "columna": "Carpetas (D)",
                "escrito": 10, "suma": 9},
               {"archivo_origen": "a.xlsx", "hoja": "CI", "fila_origen": 12, "columna": "Carpetas (D)",
                "escrito": 5, "suma": 5},
               {"archivo_origen": "b.csv", "hoja": "carpetas", "fila_origen": 4, "columna": "carpetas",
                "escrito": None, "suma": 3}]
    out = cs.totales_discrepantes(totales)
    assert out[["archivo_origen", "fila_origen", "escrito", "suma", "diferencia"]].values.tolist() == \
        [["a.xlsx", 9, 10, 9, 1]]
    assert cs.totales_discrepantes([]).empty


def test_state_report_reader_records_its_totals_rows(tmp_path):
    from cies_pipeline.sources.state_reports import read_state_reports

    (tmp_path / "x_carpetas.csv").write_text(
        "periodo,entidad,municipio,carpetas\n2025-01,Jalisco,Guadalajara,2\n2025-01,Jalisco,Zapopan,3\n"
        "TOTAL,,,6\n", encoding="utf-8")
    result = read_state_reports(tmp_path, date(2026, 1, 15))
    assert result.totales == [{"archivo_origen": "x_carpetas.csv", "hoja": "carpetas", "fila_origen": 4,
                               "columna": "carpetas (D)", "escrito": 6, "suma": 5}]
    assert cs.totales_discrepantes(result.totales)["diferencia"].tolist() == [1]


def _serie(values: list, start="2024-01-01", cve="07", fuente="SESNSP"):
    months = pd.date_range(start, periods=len(values), freq="MS")
    return pd.DataFrame({"fuente": fuente, "medida": "carpetas", "cve_ent": cve, "periodo": months,
                         "valor": values}).dropna(subset=["valor"])


def test_jump_rule_three_times_median_and_at_least_five_above():
    # 12 months of 2 then 7: median 2, 7 > 6 and 7 - 2 = 5 >= 5: a jump
    out = cs.saltos(_serie([2] * 12 + [7]))
    assert out[["periodo", "valor", "mediana", "meses_en_mediana"]].values.tolist() == \
        [[T("2025-01-01"), 7, 2.0, 12]]
    # 6 is not more than 3 x 2
    assert cs.saltos(_serie([2] * 12 + [6])).empty
    # 1 -> 4: more than 3x but only 3 above the median
    assert cs.saltos(_serie([1] * 12 + [4])).empty


def test_jump_rule_median_of_trailing_twelve_only_and_minimum_history():
    # months 13 months back do not count: 12 months of 10 hide an old 0
    assert cs.saltos(_serie([0] + [10] * 12 + [20])).empty
    # five months of history are not enough to compare
    assert cs.saltos(_serie([0] * 5 + [50])).empty
    assert len(cs.saltos(_serie([0] * 6 + [50]))) == 1
    # months without a figure are skipped, not zeros: median of [4]*6 is 4; 12 is exactly 3x: not a jump
    assert cs.saltos(_serie([4, None, 4, None, 4, 4, 4, 4, 12])).empty


def test_state_series_per_source():
    frame = pd.DataFrame({
        "fuente": ["CIE", "CIE", "CIE", "SESNSP", "SESNSP"],
        "nivel": ["municipal", "municipal", "municipal", "estatal", "municipal"],
        "cve_ent": ["07"] * 5,
        "periodo": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-01", "2025-01-01", "2025-01-01"]),
        "carpetas": pd.array([2, 3, None, 4, 9], dtype="Int64")})
    out = cs.serie_estatal(frame, "carpetas")
    # CIE 2025-02 is all blank: no figure; SESNSP municipal level is not the state's figure
    assert out[["fuente", "periodo", "valor"]].values.tolist() == [["CIE", T("2025-01-01"), 5],
                                                                   ["SESNSP", T("2025-01-01"), 4]]


def _facts(rows, medida):
    return pd.DataFrame(rows, columns=["fuente", "nivel", "cve_ent", "periodo", medida]).assign(
        periodo=lambda f: pd.to_datetime(f["periodo"]))


def test_coverage_grid_and_states():
    carpetas = _facts([("CIE", "municipal", "01", "2025-01-01", 2), ("CIE", "municipal", "02", "2025-02-01", None),
                       ("SESNSP", "estatal", "01", "2025-01-01", 2), ("SESNSP", "estatal", "01", "2025-02-01", 0),
                       ("SESNSP", "estatal", "02", "2025-02-01", 1)], "carpetas")
    victimas = _facts([("CIE", "municipal", "03", "2025-02-01", 1)], "victimas")
    estatus = pd.DataFrame({"cve_ent": [f"{i:02d}" for i in range(1, 33)],
                            "instalado": pd.array([True, False] + [None] * 30, dtype="boolean")})
    out = cs.cobertura(carpetas, victimas, estatus)
    assert len(out) == 64  # 2025-01 .. 2025-02 (last SESNSP month) x 32 states
    assert out["periodo"].min() == T("2025-01-01") and out["periodo"].max() == T("2025-02-01")
    by = out.set_index(["cve_ent", "periodo"])
    assert by.loc[("01", T("2025-01-01")), "estado_cie"] == "con_cifras"
    assert by.loc[("01", T("2025-02-01")), "estado_cie"] == "sin_reporte"
    assert bool(by.loc[("01", T("2025-02-01")), "sesnsp_publico"])
    assert by.loc[("02", T("2025-02-01")), "estado_cie"] == "sin_cifras"  # a row sent, every count blank
    assert bool(by.loc[("02", T("2025-02-01")), "reporto_cie"])
    assert by.loc[("03", T("2025-02-01")), "estado_cie"] == "con_cifras"  # victims count too
    assert not bool(by.loc[("03", T("2025-02-01")), "sesnsp_publico"])
    assert bool(by.loc[("01", T("2025-01-01")), "cie_instalado"])
    assert not bool(by.loc[("02", T("2025-01-01")), "cie_instalado"])
    assert pd.isna(by.loc[("05", T("2025-01-01")), "cie_instalado"])
    # last closed month on 2025-03-10 is 2025-02: states 01 and 04..32 did not report it
    month, missing = cs.faltantes_ultimo_mes(out, date(2025, 3, 10))
    assert month == T("2025-02-01")
    assert missing["cve_ent"].tolist() == ["01"] + [f"{i:02d}" for i in range(4, 33)]
    # on 2025-05-02 the last closed month (2025-04) lies beyond what SESNSP published
    assert cs.faltantes_ultimo_mes(out, date(2025, 5, 2)) == (T("2025-04-01"), None)


def test_coverage_without_anything_to_reconcile_is_empty():
    empty = _facts([], "carpetas")
    assert cs.cobertura(empty, _facts([], "victimas"), pd.DataFrame(columns=["cve_ent", "instalado"])).empty


def test_freshness_sesnsp():
    cortes = pd.Series(pd.to_datetime(["2025-06-01", "2025-12-01"]))
    assert cs.sesnsp_vencido(cortes, date(2026, 2, 14), 75).empty            # 75 days: not older than 75
    old = cs.sesnsp_vencido(cortes, date(2026, 2, 15), 75)                  # 76 days
    assert old[["ultimo", "dias"]].values.tolist() == [[T("2025-12-01"), 76]]
    assert cs.sesnsp_vencido(pd.Series(dtype="datetime64[ns]"), date(2026, 1, 1), 75)["ultimo"].isna().all()


def test_freshness_cie_from_the_end_of_the_last_period():
    periodos = pd.DataFrame({"cve_ent": ["01", "01", "14"],
                             "periodo": pd.to_datetime(["2025-06-01", "2025-09-01", "2025-12-01"])})
    # 01 last reported 2025-09, which ended 2025-10-01: 120 days before 2026-01-29; 14's December ended 2026-01-01
    out = cs.cie_vencidos(periodos, date(2026, 1, 29), 100)
    assert out[["cve_ent", "nombre", "ultimo_periodo", "dias"]].values.tolist() == \
        [["01", "Aguascalientes", T("2025-09-01"), 120]]
    assert cs.cie_vencidos(periodos, date(2026, 1, 8), 100).empty


def test_what_freshness_reads_is_remembered_and_gives_the_same_verdicts():
    periodos = pd.DataFrame({"cve_ent": ["01", "01", "14", "14"],
                             "periodo": pd.to_datetime(["2025-06-01", "2025-09-01", "2025-12-01", None])})
    cortes = pd.Series(pd.to_datetime(["2025-06-01", "2025-12-01", None]))
    entradas = cs.entradas_frescura(periodos, cortes)
    assert entradas == {"cie": {"01": "2025-09-01", "14": "2025-12-01"}, "corte": "2025-12-01"}
    # 01's 2025-09 ended 2025-10-01 (100 days before 2026-01-09); 14's 2025-12 ended 2026-01-01; the release of
    # 2025-12-01 is 39 days old on 2026-01-09, 76 on 2026-02-15
    assert cs.vencidas(entradas, date(2026, 1, 9), 100, 75) == {"cie": [], "sesnsp": False}
    assert cs.vencidas(entradas, date(2026, 1, 10), 100, 75) == {"cie": ["01"], "sesnsp": False}
    assert cs.vencidas(entradas, date(2026, 2, 15), 100, 75) == {"cie": ["01"], "sesnsp": True}
    assert cs.vencidas(entradas, date(2026, 4, 12), 100, 75) == {"cie": ["01", "14"], "sesnsp": True}
    # nothing read at all: no state listed (coverage shows them), the SESNSP release missing counts as stale
    nada = cs.entradas_frescura(pd.DataFrame(columns=["cve_ent", "periodo"]), pd.Series(dtype="datetime64[ns]"))
    assert nada == {"cie": {}, "corte": None}
    assert cs.vencidas(nada, date(2026, 1, 9), 100, 75) == {"cie": [], "sesnsp": True}


def test_the_remembered_verdicts_agree_with_the_checks_on_every_day():
    """ingest/cambios compares `vencidas` of two days; the checks list `cie_vencidos` and `sesnsp_vencido`.
    Both use the same day rules: for every day of half a year (month ends, a leap day, the day a state crosses
    its limit) they name the same states and the same SESNSP verdict."""
    periodos = pd.DataFrame({"cve_ent": ["01", "09", "14", "32"],
                             "periodo": pd.to_datetime(["2023-12-01", "2024-01-01", "2024-02-01", "2023-10-01"])})
    cortes = pd.Series(pd.to_datetime(["2023-11-01"]))
    entradas = cs.entradas_frescura(periodos, cortes)
    crossed = {}
    for hoy in pd.date_range("2024-01-15", "2024-07-15", freq="D").date:
        verdict = cs.vencidas(entradas, hoy, 100, 75)
        assert verdict == {"cie": list(cs.cie_vencidos(periodos, hoy, 100)["cve_ent"]),
                           "sesnsp": bool(len(cs.sesnsp_vencido(cortes, hoy, 75)))}
        for cve in verdict["cie"]:
            crossed.setdefault(cve, hoy)
    # 32's October ended 2023-11-01: 101 days later is 2024-02-10; 01's December ended 2024-01-01 (+101: April
    # 11th, 2024 being a leap year); 09's January ended February 1st (+101: May 12th); 14's February, March 1st
    assert crossed == {"32": date(2024, 2, 10), "01": date(2024, 4, 11), "09": date(2024, 5, 12),
                       "14": date(2024, 6, 10)}
