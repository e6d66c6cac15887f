"""The vectorised GX metrics (quality/gx_metrics.py) give GX's own answers, row for row."""
from datetime import date

import numpy as np
import pandas as pd
import pytest

from cies_pipeline.quality import gx_metrics
from cies_pipeline.quality.gx import validate_frame
from cies_pipeline.quality.suites import _derive_cvegeo

REGEX = r"^\d{5}$"


def _same(fast: pd.Series, slow: pd.Series) -> None:
    assert list(fast.index) == list(slow.index)
    assert [bool(v) for v in fast] == [bool(v) for v in slow]


@pytest.mark.parametrize("values, categories", [
    (["01001", "1001", "01001", "ABCDE", "32058"], None),
    (["01001", "01001"], ["01001", "99", "nan"]),           # unused categories
    ([], ["01001"]),                                          # empty column
    ([5, 12345, 12345], None),                               # numbers as categories: GX compares their text
])
def test_regex_on_categoricals_equals_gx(values, categories):
    column = pd.Series(pd.Categorical(values, categories=categories), index=range(10, 10 + len(values)),
                       dtype="category")
    fast = gx_metrics.match_regex(None, column, REGEX)
    _same(fast, gx_metrics.gx_match_regex(None, column, REGEX))
    assert [bool(v) for v in fast] == [bool(pd.notna(v) and len(str(v)) == 5 and str(v).isdigit())
                                       for v in values]


def test_regex_on_a_missing_category_value_equals_gx():
    column = pd.Series(pd.Categorical(["01001", None]))
    _same(gx_metrics.match_regex(None, column, REGEX), gx_metrics.gx_match_regex(None, column, REGEX))
    _same(gx_metrics.match_regex(None, column, "an"), gx_metrics.gx_match_regex(None, column, "an"))  # not "nan"


@pytest.mark.parametrize("kwargs", [
    {"min_value": 0}, {"max_value": 3}, {"min_value": 0, "max_value": 3},
    {"min_value": 0, "max_value": 3, "strict_min": True}, {"min_value": 0, "max_value": 3, "strict_max": True},
    {"min_value": -1.5, "max_value": 2.5, "strict_min": True, "strict_max": True},
])
@pytest.mark.parametrize("dtype", ["Int64", "Float64", "int64"])
def test_between_on_nullable_numbers_equals_gx(kwargs, dtype):
    column = pd.Series([-2, -1, 0, 1, 3, 4], index=[3, 5, 7, 9, 11, 13], dtype=dtype)
    fast = gx_metrics.between(gx_metrics.FastColumnValuesBetween, column, **kwargs)
    slow = gx_metrics.gx_between(gx_metrics.FastColumnValuesBetween, column, **kwargs)
    _same(fast, slow)


def test_between_keeps_gx_type_error_for_text_bounds():
    column = pd.Series([1, 2], dtype="Int64")
    with pytest.raises(TypeError):
        gx_metrics.between(gx_metrics.FastColumnValuesBetween, column, min_value="0", max_value="5")


def test_suite_results_do_not_depend_on_categoricals():
    """The fact suite on the same rows, as categoricals and as plain text, finds the same failures."""
    frame = pd.DataFrame({
        "periodo": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
        "cve_ent": ["01", "02", "03"], "cvegeo": ["01001", "0200X", "09001"],
        "nivel": ["municipal"] * 3, "fuente": ["SESNSP"] * 3, "metodologia": ["CNSP-38-15"] * 3,
        "carpetas": pd.array([1, -4, pd.NA], dtype="Int64"),
        "municipio_regla": ["codigo"] * 3, "versiones_crosswalk": ["v1"] * 3,
        "archivo_origen": ["a.csv"] * 3, "archivo_sha256": ["0" * 64, "0" * 64, "xyz"], "hoja": [""] * 3,
        "fila_origen": [2, 3, 4], "corte": pd.to_datetime(["2025-10-01"] * 3)})
    categorical = frame.astype({c: "category" for c in ("cve_ent", "cvegeo", "archivo_sha256", "nivel")})

    def failures(f):
        outcome = validate_frame(f, "fact_carpetas_trata", date(2026, 11, 28))
        return sorted((x["expectation"], x["column"], x["unexpected_count"], tuple(x["partial_unexpected_list"]))
                      for x in outcome.failed)

    found = failures(categorical)
    assert found == failures(frame)
    # by hand: 0200X is not five digits and its state prefix 02 is right; 09001 lies in state 09, not 03;
    # the third sha256 is not 64 hex digits; -4 is negative (the <NA> count is not checked)
    assert found == sorted([
        ("expect_column_values_to_match_regex", "cvegeo", 1, ("0200X",)),
        ("expect_column_pair_values_to_be_equal", "chk_entidad_de_cvegeo, cve_ent", 1, ("(09, 03)",)),
        ("expect_column_values_to_match_regex", "archivo_sha256", 1, ("xyz",)),
        ("expect_column_values_to_be_between", "carpetas", 1, ("-4",)),
    ])


def test_state_prefix_of_categorical_cvegeo():
    frame = pd.DataFrame({"cvegeo": pd.Categorical(["01001", None, "32058", "01001"], categories=["01001", "32058",
                                                                                                  "07000"])})
    assert list(_derive_cvegeo(frame)["chk_entidad_de_cvegeo"]) == ["01", None, "32", "01"]
    empty = pd.DataFrame({"cvegeo": pd.Categorical([None, None], categories=[])})
    assert list(_derive_cvegeo(empty)["chk_entidad_de_cvegeo"]) == [None, None]
    assert np.array_equal(_derive_cvegeo(frame.astype({"cvegeo": object}))["chk_entidad_de_cvegeo"].to_numpy(),
                          _derive_cvegeo(frame)["chk_entidad_de_cvegeo"].to_numpy())
