"""warehouse.indicadores: yearly figures and rates per 100,000, by state and by municipality, per source.

Every expected rate below is computed by hand from the literal figures and populations."""
from __future__ import annotations

import math

import pandas as pd

from cies_pipeline.indicators import INDICADORES_COLUMNS, indicadores

T = pd.Timestamp


def fact(rows, measure):
    return pd.DataFrame.from_records(rows, columns=["periodo", "cve_ent", "cvegeo", "nivel", "fuente", measure]) \
        .astype({measure: "Int64"})


CARPETAS = fact([
    (T("2025-01-01"), "14", None, "estatal", "SESNSP", 3),
    (T("2025-02-01"), "14", None, "estatal", "SESNSP", 2),
    (T("2026-01-01"), "14", None, "estatal", "SESNSP", 1),
    # SESNSP municipal file: must not add to the state figure
    (T("2025-01-01"), "14", "14039", "municipal", "SESNSP", 2),
    (T("2025-02-01"), "14", "14998", "municipal", "SESNSP", 2),
    # the CIE by municipality: its state figure is the sum of every row; one blank count
    (T("2025-01-01"), "14", "14039", "municipal", "CIE", 2),
    (T("2025-01-01"), "14", "14998", "municipal", "CIE", 1),
    (T("2025-02-01"), "14", "14039", "municipal", "CIE", pd.NA),
], "carpetas")
VICTIMAS = fact([(T("2026-03-01"), "14", "14039", "municipal", "SESNSP", 4),
                 (T("2026-03-01"), "14", None, "estatal", "SESNSP", 5)], "victimas")
POB_ESTATAL = pd.DataFrame({"anio": [2025, 2026], "cve_ent": ["14", "14"], "poblacion": [8_000_000, 8_100_000],
                            "archivo_origen": ["conapo.csv"] * 2})
POB_MUNICIPAL = pd.DataFrame({"anio": [2025, 2026], "cvegeo": ["14039", "14039"], "cve_ent": ["14", "14"],
                              "poblacion": [1_400_000, 1_380_000], "archivo_origen": ["m01.csv", "m02.csv"]})


def table():
    out = indicadores(CARPETAS, VICTIMAS, POB_ESTATAL, POB_MUNICIPAL)
    assert list(out.columns) == INDICADORES_COLUMNS
    return {(r.nivel, r.fuente, r.medida, r.anio, r.cvegeo if r.cvegeo else r.cve_ent):
            (None if pd.isna(r.valor) else int(r.valor), None if pd.isna(r.poblacion) else int(r.poblacion),
             None if pd.isna(r.tasa_100k) else round(r.tasa_100k, 6)) for r in out.itertuples()}


def test_state_rates_per_source():
    t = table()
    # SESNSP 2025: 3 + 2 = 5 carpetas / 8,000,000 * 100,000 = 0.0625
    assert t[("estatal", "SESNSP", "carpetas", 2025, "14")] == (5, 8_000_000, 0.0625)
    # 2026 so far (January): 1 / 8,100,000 * 100,000 = 0.012346
    assert t[("estatal", "SESNSP", "carpetas", 2026, "14")] == (1, 8_100_000, 0.012346)
    # CIE 2025: 2 + 1 (the blank is not a zero, and not counted) = 3 / 8,000,000 * 100,000 = 0.0375
    assert t[("estatal", "CIE", "carpetas", 2025, "14")] == (3, 8_000_000, 0.0375)
    # SESNSP victims 2026: 5 / 8,100,000 * 100,000 = 0.061728
    assert t[("estatal", "SESNSP", "victimas", 2026, "14")] == (5, 8_100_000, 0.061728)


def test_municipal_rates_and_pseudo_municipalities():
    t = table()
    # SESNSP municipal 2025 Guadalajara: 2 / 1,400,000 * 100,000 = 0.142857
    assert t[("municipal", "SESNSP", "carpetas", 2025, "14039")] == (2, 1_400_000, 0.142857)
    # CIE Guadalajara 2025: 2 (February blank) / 1,400,000 * 100,000
    assert t[("municipal", "CIE", "carpetas", 2025, "14039")] == (2, 1_400_000, 0.142857)
    # 14998 has no population: the figure stays, the rate is NULL
    assert t[("municipal", "CIE", "carpetas", 2025, "14998")] == (1, None, None)
    # victims by municipality (2026): 4 / 1,380,000 * 100,000 = 0.289855
    assert t[("municipal", "SESNSP", "victimas", 2026, "14039")] == (4, 1_380_000, 0.289855)
    # the state-file rows never reach the municipal level and vice versa
    assert not any(k[0] == "municipal" and k[4] == "14" for k in t)
    assert len(t) == 9


def test_all_blank_year_is_null_and_empty_inputs():
    blank = fact([(T("2025-05-01"), "01", "01001", "municipal", "CIE", pd.NA)], "carpetas")
    out = indicadores(blank, VICTIMAS.iloc[:0], POB_ESTATAL, POB_MUNICIPAL)
    estatal = out[out["nivel"] == "estatal"].iloc[0]
    assert pd.isna(estatal["valor"]) and pd.isna(estatal["poblacion"]) and math.isnan(estatal["tasa_100k"])
    empty = indicadores(CARPETAS.iloc[:0], VICTIMAS.iloc[:0], POB_ESTATAL, POB_MUNICIPAL)
    assert list(empty.columns) == INDICADORES_COLUMNS and len(empty) == 0
