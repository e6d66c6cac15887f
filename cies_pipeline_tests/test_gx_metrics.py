"""The vectorised GX metrics (quality/gx_metrics.py) give GX's own answers, row for row."""
from datetime import date

import numpy as np
import pandas as pd
import pytest

from cies_pipeline.quality import gx_metrics
from cies_pipeline.quality.gx import validate_frame
from cies_pipeline.quality.suites import _derive_cvegeo, _derive_metodologia
from cies_pipeline.sources.common import _constant_codes

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


def _labels(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series]


def test_state_prefix_of_categorical_cvegeo():
    frame = pd.DataFrame({"cvegeo": pd.Categorical(["01001", None, "32058", "01001"], categories=["01001", "32058",
                                                                                                  "07000"])})
    prefix = _derive_cvegeo(frame)["chk_entidad_de_cvegeo"]
    assert _labels(prefix) == ["01", None, "32", "01"]
    assert list(prefix.cat.categories) == ["01", "07", "32"]       # one per distinct prefix, unused kept
    empty = pd.DataFrame({"cvegeo": pd.Categorical([None, None], categories=[])})
    assert _labels(_derive_cvegeo(empty)["chk_entidad_de_cvegeo"]) == [None, None]
    text = _derive_cvegeo(frame.astype({"cvegeo": object}))["chk_entidad_de_cvegeo"]
    assert isinstance(text.dtype, pd.CategoricalDtype) and _labels(text) == _labels(prefix)


def test_methodology_by_month_is_categorical():
    frame = pd.DataFrame({"periodo": pd.to_datetime(["2025-12-01", None, "2026-01-01", "2015-01-01"])})
    esperada = _derive_metodologia(frame)["chk_metodologia_segun_periodo"]
    assert _labels(esperada) == ["CNSP-38-15", None, "RNID-2026", "CNSP-38-15"]
    assert list(esperada.cat.categories) == ["CNSP-38-15", "RNID-2026"]


@pytest.mark.parametrize("a, b, a_categories, b_categories", [
    (["01", "02", None, "03", None], ["01", "03", "02", None, None], None, None),
    (["01", "02", None], ["01", "04", "02"], None, None),                            # categories differ
    (["x", "y"], ["x", "y"], ["y", "x", "z"], ["x", "y"]),                            # same labels, other order
    ([], [], ["x"], ["y"]),
])
def test_pair_equality_of_categoricals_is_pandas_value_equality(a, b, a_categories, b_categories):
    """Codes over the union of categories give what comparing the values gives (missing equals nothing);
    GX's own `==` raises for categoricals with different categories."""
    index = range(7, 7 + len(a))
    column_a = pd.Series(pd.Categorical(a, categories=a_categories), index=index)
    column_b = pd.Series(pd.Categorical(b, categories=b_categories), index=index)
    fast = gx_metrics.pair_equal(None, column_a, column_b)
    by_value = pd.Series(column_a.astype(object) == column_b.astype(object), index=index)
    _same(fast, by_value)
    assert [bool(v) for v in fast] == [x is not None and x == y for x, y in zip(a, b)]
    if set(column_a.cat.categories) != set(column_b.cat.categories):
        with pytest.raises(TypeError):
            gx_metrics.gx_pair_equal(None, column_a, column_b)


def test_pair_equality_of_text_is_gx():
    column_a, column_b = pd.Series(["1", None, "x"]), pd.Series(["1", None, "y"])
    _same(gx_metrics.pair_equal(None, column_a, column_b), gx_metrics.gx_pair_equal(None, column_a, column_b))


@pytest.mark.parametrize("values, categories, value_set, expected", [
    (["01", "02", "33", "01"], None, ["01", "02"], [True, True, False, True]),
    (["01", None, "02"], ["01", "02", "99"], ["02", "99"], [False, False, True]),     # unused category in set
    (["01", None, "02"], None, ["01", None], [True, True, False]),                  # a missing value in the set
    ([], ["01"], ["01"], []),                                                       # empty column
    ([1, 2, 3], None, [2, "3"], [False, True, False]),                              # numbers are not their text
])
def test_in_set_on_categoricals_equals_gx(values, categories, value_set, expected):
    """Categorical.isin asked once per code gives what it gives asked for every row (hand-listed)."""
    column = pd.Series(pd.Categorical(values, categories=categories), index=range(4, 4 + len(values)))
    fast = gx_metrics.in_set(None, column, value_set)
    _same(fast, gx_metrics.gx_in_set(None, column, value_set))
    assert [bool(v) for v in fast] == expected


def test_in_set_of_text_or_without_a_set_is_gx():
    column = pd.Series(["01", "33", None])
    _same(gx_metrics.in_set(None, column, ["01"]), gx_metrics.gx_in_set(None, column, ["01"]))
    assert list(gx_metrics.in_set(None, pd.Series(pd.Categorical(["x"])), None)) == [True]    # vacuously


@pytest.mark.parametrize("key, expected", [
    ([5, 3, 5, 9, 3, 7], [True, True, True, False, True, False]),
    ([4, 1, 2], [False, False, False]),
    ([], []),
    ([-2, 2**62, -2, 2**62 - 1], [True, False, True, False]),
])
def test_repeated_keys_are_pandas_duplicated(key, expected):
    key = np.array(key, dtype=np.int64)
    assert gx_metrics.repeated(key).tolist() == expected
    assert gx_metrics.repeated(key).tolist() == pd.Series(key).duplicated(keep=False).tolist()


def _key_frame() -> pd.DataFrame:
    """A SESNSP-like key: rows 0 and 3 repeat (file, month, municipality); rows 5 and 6 repeat with a missing
    municipality and a missing month (missing equals missing, as in pandas); row 7 has an unused category."""
    cvegeo = pd.Categorical(["01001", "01002", "01001", "01001", "02001", None, None, "02001"],
                            categories=["01001", "01002", "02001", "99999"])
    return pd.DataFrame({
        "archivo_origen": pd.Categorical(["a.csv"] * 7 + ["b.csv"]),
        "periodo": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-01", "2025-01-01", "2025-01-01", None,
                                   None, "2025-01-01"]),
        "cvegeo": cvegeo,
        "fila": np.array([1, 2, 3, 1, 5, 6, 6, 8], dtype=np.int64),
        "texto": ["x", "y", "x", "x", "z", None, None, "w"]},
        index=range(20, 28))


@pytest.mark.parametrize("columns, repeated", [
    (["archivo_origen", "periodo", "cvegeo"], [20, 23, 25, 26]),
    (["archivo_origen", "periodo", "cvegeo", "fila"], [20, 23, 25, 26]),
    (["periodo", "cvegeo"], [20, 23, 24, 25, 26, 27]),
    (["cvegeo"], [20, 22, 23, 24, 25, 26, 27]),
    (["archivo_origen", "cvegeo", "texto"], [20, 22, 23, 25, 26]),      # a text column: GX's own
])
def test_compound_uniqueness_by_codes_equals_gx(columns, repeated):
    """Codes combined into one int64 key find the rows pandas' duplicated(keep=False) finds (hand-listed)."""
    frame = _key_frame()[columns]
    fast = gx_metrics.compound_unique(None, frame)
    _same(fast, gx_metrics.gx_compound_unique(None, frame))
    assert [i for i, unique in fast.items() if not unique] == repeated


def test_compound_uniqueness_with_too_many_combinations_is_gx(monkeypatch):
    frame = _key_frame()[["archivo_origen", "periodo", "cvegeo"]]
    called = []
    monkeypatch.setattr(gx_metrics, "gx_compound_unique",
                        lambda cls, column_list, **kw: called.append(list(column_list)) or
                        ~column_list.duplicated(keep=False))
    monkeypatch.setattr(gx_metrics, "_KEY_LIMIT", 3 * 3 * 5)    # 2+1 files, 2+1 months, 4+1 municipalities
    assert [i for i, u in gx_metrics.compound_unique(None, frame).items() if not u] == [20, 23, 25, 26]
    assert called == [["archivo_origen", "periodo", "cvegeo"]]
    called.clear()
    monkeypatch.setattr(gx_metrics, "_KEY_LIMIT", 3 * 3 * 5 + 1)
    gx_metrics.compound_unique(None, frame)
    assert called == []


def _pair_and_compound_frame() -> pd.DataFrame:
    # rows 11 and 13 miss one side of the pair, row 14 both; (x, x) repeats on rows 10 and 15
    return pd.DataFrame({
        "a": ["x", None, "y", "z", None, "x", "y"],
        "b": ["x", "q", "w", None, None, "x", "y"],
        "other": [1, 2, 3, 4, 5, 6, 7]},
        index=[10, 11, 12, 13, 14, 15, 16])


@pytest.mark.parametrize("ignore, failing", [
    ("either_value_is_missing", [(12, "y", "w")]),                   # rows with a missing side are skipped
    ("both_values_are_missing", [(11, None, "q"), (12, "y", "w"), (13, "z", None)]),
    ("neither", [(11, None, "q"), (12, "y", "w"), (13, "z", None), (14, None, None)]),
])
def test_pair_domain_is_its_two_columns_and_the_same_rows(ignore, failing):
    """The pair's domain records: only columns a and b, the rows GX itself keeps, so the same failures."""
    from great_expectations.execution_engine import PandasExecutionEngine

    frame = _pair_and_compound_frame()
    engine = PandasExecutionEngine()
    engine.load_batch_data("b1", frame)
    kwargs = {"column_A": "a", "column_B": "b", "ignore_row_if": ignore, "batch_id": "b1"}
    fast = engine.get_domain_records(kwargs)
    slow = gx_metrics.gx_get_domain_records(engine, kwargs)
    assert list(fast.columns) == ["a", "b"] and list(slow.columns) == ["a", "b", "other"]
    pd.testing.assert_frame_equal(fast, slow[["a", "b"]])
    unequal = fast[fast["a"] != fast["b"]]
    assert [(i, None if pd.isna(x) else x, None if pd.isna(y) else y)
            for i, x, y in unequal.itertuples()] == failing


@pytest.mark.parametrize("ignore", ["all_values_are_missing", "any_value_is_missing", "never"])
def test_compound_domain_is_its_columns_and_the_same_rows(ignore):
    from great_expectations.execution_engine import PandasExecutionEngine

    engine = PandasExecutionEngine()
    engine.load_batch_data("b1", _pair_and_compound_frame())
    kwargs = {"column_list": ["a", "b"], "ignore_row_if": ignore, "batch_id": "b1"}
    fast = engine.get_domain_records(kwargs)
    pd.testing.assert_frame_equal(fast, gx_metrics.gx_get_domain_records(engine, kwargs)[["a", "b"]])
    kept = {"all_values_are_missing": [10, 11, 12, 13, 15, 16], "any_value_is_missing": [10, 12, 15, 16],
            "never": [10, 11, 12, 13, 14, 15, 16]}[ignore]
    assert list(fast.index) == kept


def test_pair_and_compound_failures_equal_gx_through_a_suite(monkeypatch):
    """A whole suite (the reconciliation's pairs and compound key) finds the same failures with GX's own
    domain records as with the narrowed ones."""
    from great_expectations.execution_engine import PandasExecutionEngine

    frame = pd.DataFrame({
        "periodo": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-01", "2025-03-01"]),
        "cve_ent": ["01", "01", "02", "03"], "medida": ["carpetas"] * 4,
        "valor_cie": [3.0, 3.0, None, 5.0], "valor_sesnsp": [3.0, 3.0, 2.0, 4.0],
        "diferencia": [0.0, 0.0, None, 2.0], "estatus": ["coincide", "coincide", "sin_reporte_cie", "coincide"]})

    def failures():
        outcome = validate_frame(frame, "reconciliacion", date(2026, 11, 28))
        return sorted((x["expectation"], x["column"], x["unexpected_count"], tuple(x["partial_unexpected_list"]))
                      for x in outcome.failed)

    narrowed = failures()
    monkeypatch.setattr(PandasExecutionEngine, "get_domain_records", gx_metrics.gx_get_domain_records)
    assert narrowed == failures()
    # by hand: row 3 has diferencia 2 for 5 - 4 = 1 and estatus coincide for a discrepancy; rows 0 and 1
    # repeat the key (periodo, cve_ent, medida)
    key = "periodo=2025-01-01, cve_ent=01, medida=carpetas"
    assert narrowed == [
        ("expect_column_pair_values_to_be_equal", "chk_diferencia, chk_diferencia_esperada", 1, ("(2, 1)",)),
        ("expect_column_pair_values_to_be_equal", "chk_estatus, chk_estatus_esperado", 1,
         ("(coincide, discrepa)",)),
        ("expect_compound_columns_to_be_unique", "periodo, cve_ent, medida", 2, (key, key))]


def test_gx_records_the_given_fingerprint_instead_of_hashing(monkeypatch):
    """validate_frame(fingerprint=...) is what GX records as the batch's fingerprint; without it GX hashes."""
    from great_expectations.execution_engine import pandas_execution_engine as engine

    hashed = []
    monkeypatch.setattr(gx_metrics, "gx_hash_pandas_dataframe", lambda df: hashed.append(len(df)) or "gx-md5")
    frame = pd.DataFrame({"periodo": pd.to_datetime(["2025-01-01"]), "cve_ent": ["01"], "medida": ["carpetas"],
                          "valor_cie": [1.0], "valor_sesnsp": [1.0], "diferencia": [0.0], "estatus": ["coincide"]})
    assert engine.hash_pandas_dataframe is gx_metrics.hash_pandas_dataframe
    validate_frame(frame, "reconciliacion", date(2026, 11, 28), fingerprint="huella-abc")
    assert hashed == []
    validate_frame(frame, "reconciliacion", date(2026, 11, 28))
    assert hashed and set(hashed) == {1}      # GX hashes the one-row frame (once per batch it builds)
    data = frame.copy()
    data.attrs[gx_metrics.FINGERPRINT_ATTR] = "huella-abc"
    assert engine.hash_pandas_dataframe(data) == "huella-abc"
    assert engine.hash_pandas_dataframe(frame) == "gx-md5"


def test_row_condition_domain_is_its_column_and_the_same_rows():
    from great_expectations.execution_engine import PandasExecutionEngine

    frame = pd.DataFrame({"cvegeo": ["01001", None, None, "02001"], "nivel": ["municipal", "estatal", "municipal",
                                                                             "municipal"], "x": [1, 2, 3, 4]},
                         index=[5, 6, 7, 8])
    engine = PandasExecutionEngine()
    engine.load_batch_data("b1", frame)
    kwargs = {"column": "cvegeo", "batch_id": "b1", "condition_parser": "pandas",
              "row_condition": {"type": "pass_through", "pass_through_filter": 'nivel == "municipal"'}}
    fast = engine.get_domain_records(kwargs)
    slow = gx_metrics.gx_get_domain_records(engine, kwargs)
    assert list(slow.columns) == ["cvegeo", "nivel", "x"]
    pd.testing.assert_frame_equal(fast, slow[["cvegeo"]])
    assert list(fast.index) == [5, 7, 8]                 # the estatal row 6 is not in the domain
    # no row condition: the frame itself, as GX gives it
    assert engine.get_domain_records({"column": "cvegeo", "batch_id": "b1"}) is frame


def test_row_condition_failures_equal_gx_through_the_fact_suite(monkeypatch):
    """The fact suite's 'a municipal row has its CVEGEO' (row condition nivel == municipal): same failures
    with GX's own domain records; by hand, one municipal row (of two without CVEGEO) fails."""
    from great_expectations.execution_engine import PandasExecutionEngine

    frame = pd.DataFrame({
        "periodo": pd.to_datetime(["2025-01-01"] * 3), "cve_ent": ["01", "01", "02"],
        "cvegeo": [None, None, "02001"], "nivel": ["estatal", "municipal", "municipal"],
        "fuente": ["SESNSP"] * 3, "metodologia": ["CNSP-38-15"] * 3, "carpetas": pd.array([1, 2, 3], dtype="Int64"),
        "municipio_regla": ["codigo"] * 3, "versiones_crosswalk": ["v1"] * 3, "archivo_origen": ["a.csv"] * 3,
        "archivo_sha256": ["0" * 64] * 3, "hoja": [""] * 3, "fila_origen": [2, 3, 4],
        "corte": pd.to_datetime(["2025-10-01"] * 3)})

    def failures():
        outcome = validate_frame(frame, "fact_carpetas_trata", date(2026, 11, 28))
        return sorted((x["expectation"], x["column"], x["unexpected_count"]) for x in outcome.failed)

    narrowed = failures()
    assert narrowed == [("expect_column_values_to_not_be_null", "cvegeo", 1)]
    monkeypatch.setattr(PandasExecutionEngine, "get_domain_records", gx_metrics.gx_get_domain_records)
    assert failures() == narrowed


def test_column_domain_is_its_column_inside_a_validation_scope():
    from great_expectations.execution_engine import PandasExecutionEngine

    frame = pd.DataFrame({"cvegeo": ["01001", None], "nivel": ["municipal", "estatal"]}, index=[4, 9])
    engine = PandasExecutionEngine()
    engine.load_batch_data("b1", frame)
    assert engine.get_domain_records({"column": "cvegeo", "batch_id": "b1"}) is frame
    condition = {"batch_id": "b1", "condition_parser": "pandas",
                 "row_condition": {"type": "pass_through", "pass_through_filter": 'nivel == "municipal"'}}
    with gx_metrics.validation_scope():
        narrowed = engine.get_domain_records({"column": "cvegeo", "batch_id": "b1"})
        pd.testing.assert_frame_equal(narrowed, frame[["cvegeo"]])
        rows = engine.get_domain_records(condition)
        assert engine.get_domain_records(dict(condition)) is rows          # computed once per validation
        assert list(rows.index) == [4] and list(rows.columns) == ["cvegeo", "nivel"]
    assert engine.get_domain_records({"column": "cvegeo", "batch_id": "b1"}) is frame
    assert engine.get_domain_records(condition) is not rows


def test_unexpected_values_providers_are_narrowed():
    from great_expectations.expectations import registry

    providers = [d["providers"].get("PandasExecutionEngine") for d in registry._registered_metrics.values()]
    originals = (gx_metrics.gx_column_map._pandas_column_map_condition_values,
                 gx_metrics.gx_column_map._pandas_column_map_condition_value_counts)
    assert not [p for p in providers if p and p[1] in originals]                  # none left to GX's own
    wrapped = [p for p in providers if p and getattr(p[1], "__wrapped__", None) in originals]
    assert len(wrapped) == gx_metrics.NARROWED_PROVIDERS and len(wrapped) % 2 == 0 and len(wrapped) >= 20
    _, provider = registry._registered_metrics["column_values.match_regex.unexpected_values"]["providers"][
        "PandasExecutionEngine"]
    assert provider.__wrapped__ is gx_metrics.gx_column_map._pandas_column_map_condition_values


def _gx_own(monkeypatch) -> None:
    """GX's own domain records, unexpected-value providers and expectation configurations (the pair metric
    falls back to GX's own `==` on a frame whose labels are text)."""
    from great_expectations.execution_engine import PandasExecutionEngine
    from great_expectations.expectations import expectation, registry

    monkeypatch.setattr(PandasExecutionEngine, "get_domain_records", gx_metrics.gx_get_domain_records)
    monkeypatch.setattr(expectation.Expectation, "configuration", gx_metrics.gx_configuration)
    monkeypatch.setattr(expectation, "camel_to_snake", gx_metrics.gx_camel_to_snake)
    for definition in registry._registered_metrics.values():
        providers = definition.get("providers", {})
        entry = providers.get("PandasExecutionEngine")
        if entry and hasattr(entry[1], "__wrapped__") and entry[1].__name__ == "narrowed":
            monkeypatch.setitem(providers, "PandasExecutionEngine", (entry[0], entry[1].__wrapped__))


def _failing_fact_frame() -> pd.DataFrame:
    """A fact frame (labels as text) that breaks one expectation of the fact suite per row."""
    n = 12
    frame = pd.DataFrame({
        "periodo": pd.to_datetime(["2025-01-01"] * 11 + ["2026-12-01"]),
        "cve_ent": ["01", "01", "01", "02", "03", "01", "01", "01", "01", "33", "01", "01"],
        "cvegeo": ["01001", None, None, "0200X", "09001", "01001", "01001", "01001", "01001", "33001", "01001",
                   "01001"],
        "nivel": ["municipal", "municipal", "estatal"] + ["municipal"] * 7 + ["otro", "municipal"],
        "fuente": ["SESNSP"] * n,
        "metodologia": ["CNSP-38-15"] * 5 + ["RNID-2026"] + ["CNSP-38-15"] * 5 + ["RNID-2026"],
        "carpetas": pd.array([1, 1, 1, 1, 1, 1, -4, pd.NA, 1, 1, 1, 1], dtype="Int64"),
        "municipio_regla": ["codigo"] * n, "versiones_crosswalk": ["v1"] * n, "archivo_origen": ["a.csv"] * n,
        "archivo_sha256": ["0" * 64] * 8 + ["xyz"] + ["0" * 64] * 3, "hoja": [""] * n,
        "fila_origen": list(range(2, 2 + n)), "corte": pd.to_datetime(["2026-10-01"] * n)})
    return frame


def test_fact_suite_failures_equal_gx_own_on_every_kind_of_failure(monkeypatch):
    """The fact suite on a frame that breaks one expectation per row, as the pipeline holds it (categorical
    labels, narrowed domains, codes compared), and through GX's own methods on plain text: the same failures,
    counted by hand."""
    frame = _failing_fact_frame()
    labels = ("cve_ent", "cvegeo", "nivel", "fuente", "metodologia", "archivo_origen", "archivo_sha256")
    categorical = frame.astype({c: "category" for c in labels})

    def failures(f):
        outcome = validate_frame(f, "fact_carpetas_trata", date(2026, 11, 28))
        return sorted((x["expectation"], x["column"], x["unexpected_count"], tuple(x["partial_unexpected_list"]))
                      for x in outcome.failed)

    fast = failures(categorical)
    _gx_own(monkeypatch)
    assert failures(frame) == fast
    assert fast == sorted([
        ("expect_column_values_to_be_between", "periodo", 1, ("2026-12-01",)),          # row 11: not closed
        ("expect_column_values_to_be_in_set", "cve_ent", 1, ("33",)),                    # row 9
        ("expect_column_values_to_be_in_set", "nivel", 1, ("otro",)),                    # row 10
        ("expect_column_pair_values_to_be_equal", "metodologia, chk_metodologia_segun_periodo", 1,
         ("(RNID-2026, CNSP-38-15)",)),                                                  # row 5
        ("expect_column_values_to_match_regex", "archivo_sha256", 1, ("xyz",)),          # row 8
        ("expect_column_values_to_not_be_null", "cvegeo", 1, ("nulo",)),                 # row 1 (row 2 estatal)
        ("expect_column_values_to_be_between", "carpetas", 1, ("-4",)),                  # row 6 (row 7 <NA>)
        ("expect_column_values_to_match_regex", "cvegeo", 1, ("0200X",)),                # row 3
        ("expect_column_pair_values_to_be_equal", "chk_entidad_de_cvegeo, cve_ent", 1, ("(09, 03)",)),  # row 4
    ])


def test_an_expectation_configuration_is_built_once_per_validation():
    import great_expectations.expectations as gxe

    expectation = gxe.ExpectColumnValuesToBeInSet(column="cve_ent", value_set=["01", "02"])
    outside = expectation.configuration
    assert outside is not expectation.configuration and outside == expectation.configuration
    with gx_metrics.validation_scope():
        inside = expectation.configuration
        assert expectation.configuration is inside and inside == outside
        other = gxe.ExpectColumnValuesToBeInSet(column="cve_ent", value_set=["03"])
        assert other.configuration is not inside and other.configuration.kwargs["value_set"] == ["03"]
    assert expectation.configuration is not inside
    assert inside.type == "expect_column_values_to_be_in_set"


@pytest.mark.parametrize("kwargs, plain", [
    ({"column": "cvegeo", "batch_id": "b", "value_set": ["01001", "32058"], "mostly": 1.0}, True),
    ({"column": "x", "bounds": (0, 2.5), "nested": {"a": [None, True, -3]}}, True),
    ({"column": "x", "min_value": float("nan")}, False),           # GX writes NaN as null
    ({"column": "x", "value": np.int64(3)}, False),                # numpy numbers: GX converts them
    ({"column": "x", "by_key": {1: "a"}}, False),                  # GX makes the key text
    ({"column": "x", "when": date(2025, 10, 1)}, False),           # GX writes the ISO date
    ({"column": "x", "set": {"a"}}, False),                        # a set: GX makes it a list
])
def test_fast_metric_ids_equal_gx_ids(kwargs, plain):
    from great_expectations.core.id_dict import IDDict

    values = IDDict(kwargs)
    assert gx_metrics._plain_json(dict(values)) is plain
    assert gx_metrics.fast_to_id(values) == gx_metrics.gx_to_id(values)
    assert gx_metrics.fast_to_id(values, id_ignore_keys={"column"}) == gx_metrics.gx_to_id(values, None, {"column"})
    one = IDDict({"column": "x"})
    assert gx_metrics.fast_to_id(one) == gx_metrics.gx_to_id(one) == "column=x"


def test_every_metric_id_of_a_validation_is_gx_own(monkeypatch, tmp_path):
    """Through a whole suite (the fact's, with its value sets of categories and its row conditions), each
    id computed is the one GX computes, and most are computed without GX's conversion."""
    from great_expectations.core.id_dict import IDDict

    gx_own = gx_metrics.gx_to_id
    seen = {"ids": 0, "by_gx": 0, "different": [], "converted": set()}

    def counted_gx(self, id_keys=None, id_ignore_keys=None):      # what fast_to_id leaves to GX
        keys = gx_metrics.id_key_set(self, id_keys, id_ignore_keys)
        if len(keys) > 1:     # (one key or none: GX's id is that key's text, no conversion)
            seen["by_gx"] += 1
            seen["converted"] |= {type(self[k]).__name__ for k in keys if not gx_metrics._plain_json(self[k])}
        return gx_own(self, id_keys, id_ignore_keys)

    def compared(self, id_keys=None, id_ignore_keys=None):
        mine, theirs = gx_metrics.fast_to_id(self, id_keys, id_ignore_keys), gx_own(self, id_keys, id_ignore_keys)
        seen["ids"] += 1
        if mine != theirs:
            seen["different"].append(dict(self))
        return theirs

    monkeypatch.setattr(gx_metrics, "gx_to_id", counted_gx)
    monkeypatch.setattr(IDDict, "to_id", compared)
    labels = ("cve_ent", "cvegeo", "nivel", "fuente", "metodologia", "archivo_origen", "archivo_sha256")
    frame = _failing_fact_frame().astype({c: "category" for c in labels})
    outcome = validate_frame(frame, "fact_carpetas_trata", date(2026, 11, 28), tmp_path / "gx", data_docs=False)
    assert outcome.evaluated == 20 and len(outcome.failed) == 9     # as in the test above
    assert seen["different"] == []
    assert seen["ids"] > 1000 and 0 < seen["by_gx"] < 50
    assert seen["converted"] == {"datetime"}     # only the bounds of `periodo` need GX's conversion


def test_config_variables_are_parsed_once_per_version_of_the_file_and_environment(tmp_path, monkeypatch):
    """A file context reads its config_variables.yml each time it reads a variable: kept per file version and
    environment, an edit of the file or a changed environment variable is still seen at once."""
    import os

    from great_expectations.core.config_provider import _ConfigurationVariablesConfigurationProvider
    (tmp_path / "uncommitted").mkdir()
    variables = tmp_path / "uncommitted" / "config_variables.yml"
    variables.write_text("clave: uno\nruta: ${CIES_PRUEBA_RUTA}\n")
    monkeypatch.setenv("CIES_PRUEBA_RUTA", "/a")
    provider = _ConfigurationVariablesConfigurationProvider("uncommitted/config_variables.yml", str(tmp_path))
    parsed = []
    real = gx_metrics.gx_config_variables
    monkeypatch.setattr(gx_metrics, "gx_config_variables", lambda self: parsed.append(1) or real(self))
    assert [provider.get_values() for _ in range(5)] == [{"clave": "uno", "ruta": "/a"}] * 5
    assert len(parsed) == 1
    provider.get_values()["clave"] = "cambiada"           # the caller's copy, not the one kept
    assert provider.get_values()["clave"] == "uno" and len(parsed) == 1
    variables.write_text("clave: dos\nruta: ${CIES_PRUEBA_RUTA}\n")
    os.utime(variables, ns=(1, 1))                        # another version, whatever the clock's resolution
    assert provider.get_values() == {"clave": "dos", "ruta": "/a"} and len(parsed) == 2
    monkeypatch.setenv("CIES_PRUEBA_RUTA", "/b")
    assert provider.get_values() == {"clave": "dos", "ruta": "/b"} and len(parsed) == 3
    variables.unlink()                                    # no file: GX's own answer
    assert provider.get_values() == {} and len(parsed) == 4


@pytest.mark.parametrize("values", [
    pd.Series(pd.to_datetime(["2026-11-30 02:00"] * 3).astype("datetime64[us]")),
    pd.Series(pd.to_datetime([None, None]).astype("datetime64[ns]")),
    pd.Series(np.array([7, 7, 7], dtype=np.int64)),
    pd.Series(np.array([3, 3], dtype=np.int16)),
])
def test_a_constant_column_is_coded_as_pandas_factorize_codes_it(values):
    """combined_key's codes for a column with one value in every row: factorize's, without factorizing."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    found = _constant_codes(values)
    assert found is not None and found[0].tolist() == codes.tolist() and found[1] == len(uniques)


@pytest.mark.parametrize("values", [
    pd.Series(pd.to_datetime(["2026-11-30", None])), pd.Series([1, 2]), pd.Series(["a", "a"]),
    pd.Series([1.0, 1.0]), pd.Series([], dtype=np.int64)])
def test_other_columns_are_not_taken_for_constant(values):
    assert _constant_codes(values) is None
