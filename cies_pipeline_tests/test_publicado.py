"""End to end: the `publicado` views analysts read, over the suppression flags computed in the pipeline.

Uses the DuckDB refresh of test_pipeline.py; test_pipeline_postgres.py re-collects these tests on PostgreSQL.
"""
from __future__ import annotations

import pandas as pd

from test_pipeline import run  # noqa: F401  the module-scoped refresh of the sample (DuckDB)
from cies_pipeline.quality.suppression import victimas_municipio_margins


def _cells(wh) -> pd.DataFrame:
    return wh.query("SELECT * FROM warehouse.victimas_municipio_supresion")


def test_the_view_hides_exactly_the_flagged_cells(run):  # noqa: F811
    _, _, wh, _ = run
    cells = _cells(wh)
    view = wh.query("SELECT * FROM publicado.victimas_municipio")
    assert len(view) == len(cells) > 100
    assert list(view.columns) == ["periodo", "cve_ent", "cvegeo", "fuente", "metodologia", "forma_explotacion",
                                  "sexo", "grupo_edad", "victimas", "suprimida"]
    primary = cells[cells["motivo_supresion"] == "primaria"]
    assert len(primary) > 0 and primary["victimas"].between(1, 4).all()
    assert (cells["umbral"] == 4).all()
    # every cell of 1-4 victims is suppressed; the view shows none of the suppressed counts
    small = cells[cells["victimas"].between(1, 4)]
    assert small["suprimida"].all()
    assert view[view["suprimida"].astype(bool)]["victimas"].isna().all()
    shown = view[~view["suprimida"].astype(bool) & view["victimas"].notna()]
    assert (shown["victimas"] == 0).any() or (shown["victimas"] > 4).all()
    assert not shown["victimas"].between(1, 4).any()


def test_no_published_margin_has_exactly_one_suppressed_cell_unless_it_has_one_cell(run):  # noqa: F811
    _, _, wh, _ = run
    cells = _cells(wh)
    cells["suprimida"] = cells["suprimida"].astype(bool)
    cells["anio"] = pd.to_datetime(cells["periodo"]).dt.year
    for margin in victimas_municipio_margins():
        groups = cells.groupby(margin, dropna=False).agg(n=("suprimida", "size"), s=("suprimida", "sum"),
                                                        reportadas=("victimas", "count"))
        exposed = groups[(groups["s"] == 1) & (groups["reportadas"] > 1)]
        assert exposed.empty, (margin, exposed.head())


def test_cells_add_up_to_the_reconciled_state_totals(run):  # noqa: F811
    _, _, wh, _ = run
    # Nuevo León 2025-08: 6 victims reported by the state (a planted match with SESNSP)
    total = wh.query("SELECT sum(victimas) AS n FROM warehouse.victimas_municipio_supresion WHERE fuente = 'CIE' "
                     "AND cve_ent = '19' AND periodo = DATE '2025-08-01'")
    assert int(total["n"][0]) == 6
    both = wh.query("SELECT r.cve_ent, r.periodo, r.valor_cie, s.n FROM warehouse.reconciliacion r JOIN "
                    "(SELECT cve_ent, periodo, sum(victimas) AS n FROM warehouse.victimas_municipio_supresion "
                    " WHERE fuente = 'CIE' GROUP BY cve_ent, periodo) s ON s.cve_ent = r.cve_ent "
                    "AND s.periodo = r.periodo WHERE r.medida = 'victimas' AND r.valor_cie IS NOT NULL")
    assert len(both) > 50 and (both["valor_cie"] == both["n"]).all()


def test_rates_of_suppressed_counts_are_suppressed(run):  # noqa: F811
    _, _, wh, _ = run
    flagged = wh.query("SELECT * FROM warehouse.indicadores_supresion")
    view = wh.query("SELECT * FROM publicado.indicadores")
    assert len(view) == len(flagged) == len(wh.query("SELECT nivel FROM warehouse.indicadores"))
    small = flagged[(flagged["nivel"] == "municipal") & (flagged["medida"] == "victimas")
                    & flagged["valor"].between(1, 4)]
    assert len(small) > 0 and small["suprimida"].astype(bool).all()
    hidden = view[view["suprimida"].astype(bool)]
    assert len(hidden) >= len(small) and hidden["valor"].isna().all() and hidden["tasa_100k"].isna().all()
    assert (hidden["medida"] == "victimas").all() and (hidden["nivel"] == "municipal").all()
