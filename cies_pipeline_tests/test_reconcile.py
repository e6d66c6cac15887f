"""reconcile.py on literal harmonized facts: every status, blanks, range of months."""
import pandas as pd
import pytest

from cies_pipeline.reconcile import compare, reconciliacion

T = pd.Timestamp


def carpetas(rows):
    return pd.DataFrame(rows, columns=["periodo", "cve_ent", "cvegeo", "nivel", "fuente", "carpetas"]).assign(
        periodo=lambda f: pd.to_datetime(f["periodo"]), carpetas=lambda f: f["carpetas"].astype("Int64"))


def victimas(rows):
    return pd.DataFrame(rows, columns=["periodo", "cve_ent", "cvegeo", "nivel", "fuente", "forma_explotacion",
                                       "victimas"]).assign(
        periodo=lambda f: pd.to_datetime(f["periodo"]), victimas=lambda f: f["victimas"].astype("Int64"))


NA = pd.NA
C = carpetas([
    # Jalisco: two municipal CIE rows sum to 5 = SESNSP 5 (coincide) in January
    ("2025-01-01", "14", "14039", "municipal", "CIE", 3),
    ("2025-01-01", "14", "14998", "municipal", "CIE", 2),
    ("2025-01-01", "14", None, "estatal", "SESNSP", 5),
    # Jalisco February: CIE 4 vs SESNSP 2 → discrepa, +2
    ("2025-02-01", "14", "14039", "municipal", "CIE", 4),
    ("2025-02-01", "14", None, "estatal", "SESNSP", 2),
    # Puebla January: every CIE count blank → NULL, SESNSP 0 → sin_reporte_cie
    ("2025-01-01", "21", "21114", "municipal", "CIE", NA),
    ("2025-01-01", "21", "21998", "municipal", "CIE", NA),
    ("2025-01-01", "21", None, "estatal", "SESNSP", 0),
    # Puebla February: one blank, one 0 → CIE 0 = SESNSP 0 → coincide
    ("2025-02-01", "21", "21114", "municipal", "CIE", NA),
    ("2025-02-01", "21", "21998", "municipal", "CIE", 0),
    ("2025-02-01", "21", None, "estatal", "SESNSP", 0),
    # Oaxaca: no CIE at all; SESNSP 1 in Feb → sin_reporte_cie
    ("2025-01-01", "20", None, "estatal", "SESNSP", 0),
    ("2025-02-01", "20", None, "estatal", "SESNSP", 1),
    # SESNSP month before the first CIE month is out of range
    ("2024-12-01", "14", None, "estatal", "SESNSP", 9),
    # CIE month after the last SESNSP month is out of range
    ("2025-03-01", "14", "14039", "municipal", "CIE", 7),
    # municipal SESNSP
    ("2025-01-01", "14", "14039", "municipal", "SESNSP", 3),
    ("2025-01-01", "14", "14998", "municipal", "SESNSP", 1),
    ("2025-02-01", "14", "14039", "municipal", "SESNSP", 2),
])
V = victimas([
    ("2025-01-01", "14", "14039", "municipal", "CIE", "EXPLOTACION_SEXUAL", 4),
    ("2025-01-01", "14", "14039", "municipal", "CIE", "SIN_CLASIFICAR", 2),
    ("2025-01-01", "14", None, "estatal", "SESNSP", "NO_ESPECIFICADA", 5),
    ("2025-01-01", "14", None, "estatal", "SESNSP", "NO_ESPECIFICADA", 1),
])


def rows(frame, **where):
    mask = pd.Series(True, index=frame.index)
    for k, v in where.items():
        mask &= frame[k] == v
    return frame[mask]


def test_state_reconciliation_statuses():
    r = reconciliacion(C, V)["reconciliacion"]
    c = r[r.medida == "carpetas"].set_index(["periodo", "cve_ent"])
    assert list(c.loc[(T("2025-01-01"), "14"), ["valor_cie", "valor_sesnsp", "diferencia", "estatus"]]) == \
        [5, 5, 0, "coincide"]
    assert list(c.loc[(T("2025-02-01"), "14"), ["valor_cie", "valor_sesnsp", "diferencia", "estatus"]]) == \
        [4, 2, 2, "discrepa"]
    jan_puebla = c.loc[(T("2025-01-01"), "21")]
    assert pd.isna(jan_puebla.valor_cie) and jan_puebla.valor_sesnsp == 0 and pd.isna(jan_puebla.diferencia)
    assert jan_puebla.estatus == "sin_reporte_cie"
    assert c.loc[(T("2025-02-01"), "21"), "estatus"] == "coincide"
    assert c.loc[(T("2025-02-01"), "20"), "estatus"] == "sin_reporte_cie"
    # range: Jan..Feb 2025 only (first CIE month .. last SESNSP month)
    assert sorted(set(r.periodo)) == [T("2025-01-01"), T("2025-02-01")]
    assert len(c) == 6
    v = r[r.medida == "victimas"]
    assert list(v[["cve_ent", "valor_cie", "valor_sesnsp", "estatus"]].itertuples(index=False, name=None)) == \
        [("14", 6, 6, "coincide")]


def test_municipal_reconciliation():
    m = reconciliacion(C, V)["reconciliacion_municipal"].set_index(["periodo", "cvegeo"])
    assert m.loc[(T("2025-01-01"), "14039"), "estatus"] == "coincide"
    assert list(m.loc[(T("2025-01-01"), "14998"), ["valor_cie", "valor_sesnsp", "diferencia"]]) == [2, 1, 1]
    assert list(m.loc[(T("2025-02-01"), "14039"), ["valor_cie", "valor_sesnsp", "diferencia", "estatus"]]) == \
        [4, 2, 2, "discrepa"]
    # Puebla's municipalities have CIE rows but no SESNSP municipal rows: only 21998 Feb has a figure (0)
    assert m.loc[(T("2025-02-01"), "21998"), "estatus"] == "sin_dato_sesnsp"
    assert (T("2025-01-01"), "21114") not in m.index  # both sides without a figure: no row
    assert set(m["medida"]) == {"carpetas"}  # no SESNSP municipal victims before 2026


def test_forma_only_where_sesnsp_has_forms():
    assert len(reconciliacion(C, V)["reconciliacion_forma"]) == 0
    v2026 = victimas([
        ("2026-02-01", "14", "14039", "municipal", "CIE", "EXPLOTACION_SEXUAL", 3),
        ("2026-02-01", "14", None, "estatal", "SESNSP", "EXPLOTACION_SEXUAL", 2),
        ("2026-02-01", "14", None, "estatal", "SESNSP", "EXPLOTACION_LABORAL", 1),
    ])
    f = reconciliacion(C.iloc[0:0], v2026)["reconciliacion_forma"].set_index("forma_explotacion")
    assert list(f.loc["EXPLOTACION_SEXUAL", ["valor_cie", "valor_sesnsp", "diferencia", "estatus"]]) == \
        [3, 2, 1, "discrepa"]
    assert f.loc["EXPLOTACION_LABORAL", "estatus"] == "sin_reporte_cie"


def test_desde_overrides_first_month():
    r = reconciliacion(C, V, desde="2024-12")["reconciliacion"]
    dec = rows(r, periodo=T("2024-12-01"), cve_ent="14", medida="carpetas")
    assert list(dec[["valor_sesnsp", "estatus"]].iloc[0]) == [9, "sin_reporte_cie"]


def test_nothing_to_reconcile_without_cie():
    assert len(reconciliacion(C[C.fuente == "SESNSP"], V[V.fuente == "SESNSP"])["reconciliacion"]) == 0


@pytest.mark.parametrize("cie,ses,status", [(1, None, "sin_dato_sesnsp"), (None, 1, "sin_reporte_cie"),
                                            (2, 2, "coincide"), (0, 3, "discrepa")])
def test_compare_status_table(cie, ses, status):
    a = pd.DataFrame({"periodo": [T("2025-01-01")], "cve_ent": ["01"],
                      "carpetas": pd.array([cie], dtype="Int64")})
    b = pd.DataFrame({"periodo": [T("2025-01-01")], "cve_ent": ["01"],
                      "carpetas": pd.array([ses], dtype="Int64")})
    out = compare(a, b, ["periodo", "cve_ent"], "carpetas", T("2025-01-01"), T("2025-01-01"))
    assert out["estatus"].tolist() == [status]
