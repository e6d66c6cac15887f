"""quality/suppression.py: primary and secondary suppression on hand-worked tables."""
from __future__ import annotations

import pandas as pd
import pytest

from cies_pipeline.quality.suppression import suprimir, umbral_supresion


def table(rows):
    return pd.DataFrame(rows, columns=["sexo", "grupo_edad", "victimas"])


def flags(result):
    f = result.frame
    return {(r.sexo, r.grupo_edad): r.motivo_supresion for r in f.itertuples() if r.suprimida}


def test_secondary_suppression_protects_every_row_and_column():
    # sexo x grupo_edad, row and column totals published. Hand-worked:
    #            Menores  Adultos  NE
    #   Mujer       2       12      7     primary: Mujer/Menores (2)
    #   Hombre      9       15      6     row Mujer has one suppressed cell -> its smallest positive other: NE 7
    #   NI          0        5      0     column Menores -> Hombre 9 (positive before the zero); column NE
    #                                     (now holding the 7) -> Hombre 6. Next round: every row and column
    #                                     has 0 or 2 suppressed cells: done after one round of secondary.
    cells = table([("Mujer", "Menores", 2), ("Mujer", "Adultos", 12), ("Mujer", "NE", 7),
                   ("Hombre", "Menores", 9), ("Hombre", "Adultos", 15), ("Hombre", "NE", 6),
                   ("NI", "Menores", 0), ("NI", "Adultos", 5), ("NI", "NE", 0)])
    result = suprimir(cells, "victimas", margins=[["sexo"], ["grupo_edad"]])
    assert flags(result) == {("Mujer", "Menores"): "primaria", ("Mujer", "NE"): "secundaria",
                             ("Hombre", "Menores"): "secundaria", ("Hombre", "NE"): "secundaria"}
    assert result.iteraciones == 1
    assert result.margenes_sin_complemento.empty
    # No margin is left with exactly one suppressed cell.
    f = result.frame
    for margin in ("sexo", "grupo_edad"):
        assert (f.groupby(margin)["suprimida"].sum() != 1).all()
    # NI/Adultos 5 is above the threshold and not needed as a complement: published.
    assert not f[(f.sexo == "NI") & (f.grupo_edad == "Adultos")]["suprimida"].item()


def test_threshold_is_configurable_and_zero_and_blank_are_not_primary():
    cells = table([("Mujer", "Adultos", 3), ("Mujer", "Menores", 0), ("Hombre", "Adultos", None),
                   ("Hombre", "Menores", 5)])
    assert flags(suprimir(cells, "victimas", margins=[], umbral=2)) == {}
    assert flags(suprimir(cells, "victimas", margins=[], umbral=4)) == {("Mujer", "Adultos"): "primaria"}
    assert flags(suprimir(cells, "victimas", margins=[], umbral=5)) == {("Mujer", "Adultos"): "primaria",
                                                                      ("Hombre", "Menores"): "primaria"}


def test_a_blank_cell_is_never_a_complement_and_ties_go_by_key():
    # row Mujer: 3 (primary), blank, 8, 8: the complement is the first 8 in key order (Adultos < NE)
    cells = table([("Mujer", "Menores", 3), ("Mujer", "Otro", None), ("Mujer", "NE", 8), ("Mujer", "Adultos", 8)])
    assert flags(suprimir(cells, "victimas", margins=[["sexo"]])) == {("Mujer", "Menores"): "primaria",
                                                                       ("Mujer", "Adultos"): "secundaria"}


def test_a_published_grand_total_is_a_margin_too():
    cells = table([("Mujer", "Adultos", 4), ("Hombre", "Adultos", 30), ("NI", "Adultos", 11)])
    assert flags(suprimir(cells, "victimas", margins=[[]])) == {("Mujer", "Adultos"): "primaria",
                                                               ("NI", "Adultos"): "secundaria"}


def test_a_margin_with_a_single_cell_is_reported_not_silently_published():
    # column Menores holds only the primary 3: no other cell can hide it from that column's total. Row
    # Mujer then suppresses Adultos 10, column Adultos suppresses Hombre 20, and row Hombre holds only that
    # 20: two margins whose totals would give their cell away, both reported.
    cells = table([("Mujer", "Menores", 3), ("Mujer", "Adultos", 10), ("Hombre", "Adultos", 20)])
    result = suprimir(cells, "victimas", margins=[["sexo"], ["grupo_edad"]])
    assert flags(result) == {("Mujer", "Menores"): "primaria", ("Mujer", "Adultos"): "secundaria",
                             ("Hombre", "Adultos"): "secundaria"}
    assert sorted(map(tuple, result.margenes_sin_complemento.values.tolist())) == [
        ("grupo_edad", "Menores"), ("sexo", "Hombre")]


def test_a_margin_given_its_complement_in_a_later_round_is_not_reported():
    # Hand-worked, rows (sexo) before columns (grupo_edad) in each round; "-" is a blank:
    #            Menores  Adultos  NE   Otro
    #   Mujer       2        9     15          primary: Mujer/Menores 2, NR/Otro 1
    #   Hombre      6       50     20          round 1: row Mujer -> Adultos 9; column Menores -> Hombre 6;
    #   NI         70       11     40          column Adultos (9) -> NI 11. Rows Hombre and NI are left with
    #   NR                   -           1     ONE suppressed cell each after round 1.
    # round 2: row Hombre -> NE 20, row NI -> NE 40 (column NE then holds two): Hombre and NI got their
    # complement and must not be reported. Row NR (its other cell blank) and column Otro (one cell) never can.
    cells = table([("Mujer", "Menores", 2), ("Mujer", "Adultos", 9), ("Mujer", "NE", 15),
                   ("Hombre", "Menores", 6), ("Hombre", "Adultos", 50), ("Hombre", "NE", 20),
                   ("NI", "Menores", 70), ("NI", "Adultos", 11), ("NI", "NE", 40),
                   ("NR", "Otro", 1), ("NR", "Adultos", None)])
    result = suprimir(cells, "victimas", margins=[["sexo"], ["grupo_edad"]])
    assert flags(result) == {("Mujer", "Menores"): "primaria", ("NR", "Otro"): "primaria",
                             ("Mujer", "Adultos"): "secundaria", ("Hombre", "Menores"): "secundaria",
                             ("NI", "Adultos"): "secundaria", ("Hombre", "NE"): "secundaria",
                             ("NI", "NE"): "secundaria"}
    assert result.iteraciones == 2
    # listed once each, in the order of the margins
    assert result.margenes_sin_complemento.values.tolist() == [["sexo", "NR"], ["grupo_edad", "Otro"]]


def test_a_margin_with_a_missing_key_value_is_reported_once():
    # anio blank for two cells: Mujer 3 (primary) and Hombre blank, so the anio-blank margin has no complement;
    # row Mujer takes 2025/Mujer 20, which leaves the anio 2025 margin with one cell. Each is listed once.
    cells = pd.DataFrame({"anio": [None, None, 2025.0], "sexo": ["Mujer", "Hombre", "Mujer"],
                          "victimas": [3, None, 20]})
    result = suprimir(cells, "victimas", margins=[["anio"], ["sexo"]])
    assert result.frame["suprimida"].tolist() == [False, True, True]  # sorted: blank anio first
    assert result.margenes_sin_complemento.values.tolist() == [["anio", ""], ["anio", "2025.0"]]


def test_umbral_from_the_environment():
    assert umbral_supresion({}) == 4
    assert umbral_supresion({"CIES_UMBRAL_SUPRESION": "10"}) == 10
    for bad in ("0", "cuatro", "-1"):
        with pytest.raises(ValueError, match="CIES_UMBRAL_SUPRESION must be an integer >= 1"):
            umbral_supresion({"CIES_UMBRAL_SUPRESION": bad})
    with pytest.raises(KeyError, match="not cell keys"):
        suprimir(table([("Mujer", "Adultos", 1)]), "victimas", margins=[["municipio"]])


def test_indicadores_suppress_small_municipal_victims_and_their_rates():
    from cies_pipeline.quality.suppression import indicadores_supresion

    # Jalisco 2025, CIE victims: state 20 (published), municipalities 3, 5, 12. The 3 is primary; the state
    # total would give it away (20 - 5 - 12), so the smallest other municipality, 5, is suppressed too.
    # Carpetas are never suppressed, however small.
    ind = pd.DataFrame([
        ("estatal", 2025, "14", None, "CIE", "victimas", 20, 8_900_000, 0.22),
        ("municipal", 2025, "14", "14039", "CIE", "victimas", 3, 1_400_000, 0.21),
        ("municipal", 2025, "14", "14120", "CIE", "victimas", 5, 1_500_000, 0.33),
        ("municipal", 2025, "14", "14097", "CIE", "victimas", 12, 700_000, 1.71),
        ("municipal", 2025, "14", "14039", "CIE", "carpetas", 2, 1_400_000, 0.14),
    ], columns=["nivel", "anio", "cve_ent", "cvegeo", "fuente", "medida", "valor", "poblacion", "tasa_100k"])
    out = indicadores_supresion(ind).frame
    assert out["suprimida"].tolist() == [False, True, True, False, False]
    assert out["motivo_supresion"].tolist() == [None, "primaria", "secundaria", None, None]
    assert out["valor"].tolist() == [20, 3, 5, 12, 2]  # the flags travel beside the figures: the view hides
