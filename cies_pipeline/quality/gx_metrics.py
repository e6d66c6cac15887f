"""Vectorised pandas implementations of four GX metrics, registered in place of GX's own (same answers).

GX's pandas engine evaluates three of the metrics our suites use value by value in Python, and a fourth
column by column:
- `column_values.match_regex` turns every value into text and searches it. Our big tables keep their
  repeated labels (CVEGEO, file names, sha256) as categoricals: the regex is evaluated once per category and
  spread over the rows by the category codes.
- `column_values.between` is vectorised only for numpy numbers and datetimes; a nullable integer column
  (Int64, where a CIE blank stays <NA>) was compared row by row. GX drops the nulls first, so the values
  left are plain numbers: they are compared as a numpy array.
- `column_pair_values.equal` compares two text columns value by value; two categoricals (our derived `chk_*`
  columns, and the labels they are compared with) are compared by their codes over the union of their
  categories (GX's own `==` raises for categoricals whose categories differ).
- `compound_columns.unique` factorizes each column of the key again (`DataFrame.duplicated`); when every
  column is categorical, integer or datetime, their codes make one int64 key per row, searched once.
Anything else goes to GX's own function, unchanged. Subclassing a metric provider re-registers its metric
(GX's documented way to provide a metric); importing this module is what installs them.
`test_gx_metrics.py` checks them against GX's functions on the edge cases.

It also spares GX work that does not change a result:
- an expectation on a column under a row condition, or on a column pair or list that ignores rows with
  missing values (`ignore_row_if`), got the whole frame with the other rows dropped, every column copied; it
  now gets its own columns, then the same rows (`get_domain_records`: those metrics read nothing else);
- an expectation on one column (`expect_column_values_to_…`) dropped its column's nulls from the whole
  frame, every column copied, three or four times per expectation (its condition, unexpected values, counts
  and index list): inside `validation_scope()`, which quality.gx opens around each validation with a result
  format that never asks for other columns of the unexpected rows, it gets a frame of its column alone; a row
  condition's mask, and the whole frame's rows under it, are computed once per validation instead of once
  per metric;
- GX rebuilds an expectation's configuration from its pydantic fields (and its type name with a regex) each
  time it reads one of its kwargs, about 130 times per expectation per validation: inside
  `validation_scope()` it is built once per expectation object (GX deep-copies a configuration before it
  changes one), and the type name of a class once per process;
- GX fingerprints each batch (`pandas_data_fingerprint` in the result's batch markers) by hashing the whole
  frame; the frame's own content hash is used when `quality.gx` gives it one (attrs `cies_huella`: our
  steps compute it anyway, to reuse results), GX's hash otherwise.
- GX names each of the ~2,000 metric configurations of a validation by an md5 of its kwargs as JSON
  (`IDDict.to_id`), first passing them through `convert_to_json_serializable`, a Python walk with some 30 type
  checks per value (the value sets of our suites hold thousands): kwargs made only of str, int, bool, None,
  finite floats, lists, tuples and dicts with text keys, for which that walk returns what it was given, are
  dumped as they are; the id is the same text's md5 (`fast_to_id`). About 10-15 ms of each validation.
- A file context reads and parses its `uncommitted/config_variables.yml` (YAML, ~0.5 ms) each time it reads
  one of its variables: about 30 times when it opens and 11 per validation. The parsed variables are kept per
  file version (path, size, modification time) and environment (`config_variables`), so an edit of the file
  or a changed environment variable is read as before.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import inspect
import json
import logging
import math
import os

import numpy as np
import pandas as pd
from great_expectations.core import id_dict as gx_id_dict
from great_expectations.core.config_provider import _ConfigurationVariablesConfigurationProvider
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.execution_engine import pandas_execution_engine as gx_pandas_engine
from great_expectations.expectations.row_conditions import (Condition, PassThroughCondition,
                                                             deserialize_row_condition)
from great_expectations.expectations.metrics.column_map_metrics.column_values_between import ColumnValuesBetween
from great_expectations.expectations.metrics.column_map_metrics.column_values_in_set import ColumnValuesInSet
from great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex import (
    ColumnValuesMatchRegex)
from great_expectations.expectations import expectation as gx_expectation
from great_expectations.expectations import registry as gx_registry
from great_expectations.expectations.metrics.column_pair_map_metrics.column_pair_values_equal import (
    ColumnPairValuesEqual)
from great_expectations.expectations.metrics.multicolumn_map_metrics.compound_columns_unique import (
    CompoundColumnsUnique)
from great_expectations.expectations.metrics.map_metric_provider import (column_condition_partial,
                                                                         column_pair_condition_partial,
                                                                         multicolumn_condition_partial)
from great_expectations.expectations.metrics.map_metric_provider import (
    column_map_condition_auxilliary_methods as gx_column_map)

from cies_pipeline.sources.common import KEY_LIMIT, combined_key

# GX's own (undecorated) pandas functions, kept for every case the fast paths do not cover
gx_match_regex = inspect.unwrap(ColumnValuesMatchRegex._pandas)
gx_between = inspect.unwrap(ColumnValuesBetween._pandas)
gx_pair_equal = inspect.unwrap(ColumnPairValuesEqual._pandas)
gx_compound_unique = inspect.unwrap(CompoundColumnsUnique._pandas)
gx_in_set = inspect.unwrap(ColumnValuesInSet._pandas)


def match_regex(cls, column: pd.Series, regex: str, **kwargs) -> pd.Series:
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return gx_match_regex(cls, column, regex, **kwargs)
    per_category = pd.Series(column.cat.categories).astype(str).str.contains(regex).to_numpy(dtype=bool)
    # a missing value stays missing through GX's astype(str) and never matches
    return _by_code(column, per_category, missing=False)


def in_set(cls, column: pd.Series, value_set=None, **kwargs) -> pd.Series:
    if value_set is None or not isinstance(column.dtype, pd.CategoricalDtype):
        return gx_in_set(cls, column, value_set, **kwargs)
    # pandas' Categorical.isin answers by code: asked once for each code (-1, missing, first), instead of a
    # hash lookup of every row's code
    codes = np.arange(-1, len(column.cat.categories), dtype=column.cat.codes.dtype)
    per_code = pd.Categorical.from_codes(codes, dtype=column.dtype).isin(value_set)
    return _by_code(column, per_code[1:], missing=per_code[0])


def _by_code(column: pd.Series, per_category: np.ndarray, missing: bool) -> pd.Series:
    """A categorical column's per-row answers from one answer per category and one for a missing value (code
    -1, which takes the answer appended at the end)."""
    return pd.Series(np.append(per_category, missing)[column.cat.codes.to_numpy()], index=column.index)


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def between(cls, column: pd.Series, min_value=None, max_value=None, strict_min=None, strict_max=None,
            **kwargs) -> pd.Series:
    dtype = column.dtype
    if (isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_numeric_dtype(dtype)
            and not pd.api.types.is_bool_dtype(dtype) and not column.hasnans
            and all(v is None or _is_number(v) for v in (min_value, max_value))
            and (min_value is not None or max_value is not None)):
        column = pd.Series(column.to_numpy(dtype=dtype.numpy_dtype), index=column.index)   # GX's vectorised path
    return gx_between(cls, column, min_value=min_value, max_value=max_value, strict_min=strict_min,
                      strict_max=strict_max, **kwargs)


def pair_equal(cls, column_A: pd.Series, column_B: pd.Series, **kwargs) -> pd.Series:
    """GX's `column_A == column_B`; two categoricals by their codes over the union of their categories (a
    missing value equals nothing, as in pandas)."""
    if not (isinstance(column_A.dtype, pd.CategoricalDtype) and isinstance(column_B.dtype, pd.CategoricalDtype)):
        return gx_pair_equal(cls, column_A, column_B, **kwargs)
    try:
        categories = column_A.cat.categories.union(column_B.cat.categories)
    except TypeError:   # categories that cannot be put in one index: compared value by value
        return pd.Series(column_A.astype(object).to_numpy() == column_B.astype(object).to_numpy(),
                         index=column_A.index) & column_A.notna() & column_B.notna()
    a = column_A.cat.set_categories(categories).cat.codes.to_numpy()
    b = column_B.cat.set_categories(categories).cat.codes.to_numpy()
    return pd.Series((a == b) & (a >= 0), index=column_A.index)


_KEY_LIMIT = KEY_LIMIT


def compound_unique(cls, column_list: pd.DataFrame, **kwargs) -> pd.Series:
    """GX's `~column_list.duplicated(keep=False)`. When every column is categorical, integer or datetime, each
    column's codes (its categories', or pandas.factorize's; missing as 0, equal to missing as in pandas) are
    combined into one int64 key per row, and duplicates are found in that one column (`repeated`, by sorting),
    where pandas would factorize each column again (the SESNSP municipal key on 332,000 rows: 29-40 ms against
    41-52 ms with pandas' duplicated on the key, measured with the test suite running beside it; the sort took
    that search from 31 ms to 5 ms). Any other column, or too many distinct combinations for one int64, goes to
    GX's own."""
    for i in range(column_list.shape[1]):
        dtype = column_list.iloc[:, i].dtype
        if not (isinstance(dtype, pd.CategoricalDtype) or (isinstance(dtype, np.dtype) and dtype.kind in "iuMm")):
            return gx_compound_unique(cls, column_list, **kwargs)
    key = combined_key(column_list, limit=_KEY_LIMIT, renumber=False)
    if key is None:
        return gx_compound_unique(cls, column_list, **kwargs)
    return pd.Series(~repeated(key), index=column_list.index)


def repeated(key: np.ndarray) -> np.ndarray:
    """Per row, whether its key appears in another row too (pandas' duplicated(keep=False)): the keys sorted
    (numpy sorts int64 with SIMD), the repeated ones read off neighbours, and only their rows looked up (none,
    in a valid table). 332,000 keys: 5 ms against 31 ms for pandas' hash table."""
    ordered = np.sort(key)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    return np.isin(key, twice) if len(twice) else np.zeros(len(key), dtype=bool)


# GX logs a warning when a metric is registered again; here that is the point
_registry_log = logging.getLogger("great_expectations.expectations.registry")
_level = _registry_log.level
_registry_log.setLevel(logging.ERROR)
try:
    class FastColumnValuesMatchRegex(ColumnValuesMatchRegex):
        _pandas = column_condition_partial(engine=PandasExecutionEngine)(match_regex)

    class FastColumnValuesBetween(ColumnValuesBetween):
        _pandas = column_condition_partial(engine=PandasExecutionEngine)(between)

    class FastColumnPairValuesEqual(ColumnPairValuesEqual):
        _pandas = column_pair_condition_partial(engine=PandasExecutionEngine)(pair_equal)

    class FastCompoundColumnsUnique(CompoundColumnsUnique):
        _pandas = multicolumn_condition_partial(engine=PandasExecutionEngine)(compound_unique)

    class FastColumnValuesInSet(ColumnValuesInSet):
        _pandas = column_condition_partial(engine=PandasExecutionEngine)(in_set)
finally:
    _registry_log.setLevel(_level)


# -- the engine's passes over the whole frame -----------------------------------------------------------
gx_get_domain_records = PandasExecutionEngine.get_domain_records
gx_hash_pandas_dataframe = gx_pandas_engine.hash_pandas_dataframe
FINGERPRINT_ATTR = "cies_huella"
_HOW = {"both_values_are_missing": "all", "either_value_is_missing": "any",
        "all_values_are_missing": "all", "any_value_is_missing": "any"}


def _row_mask(self, data: pd.DataFrame, row_condition) -> pd.Series | None:
    """The rows GX's `_apply_row_condition_filter` keeps (it runs `data.query(...)`, i.e. `data.loc[data.eval(...)]`),
    as a mask; None for a legacy string condition (left to GX)."""
    condition = deserialize_row_condition(row_condition) if isinstance(row_condition, dict) else row_condition
    if isinstance(condition, PassThroughCondition):
        return data.eval(condition.pass_through_filter)
    if isinstance(condition, Condition):
        return data.eval(self.condition_to_filter_clause(condition))
    return None


# set by validation_scope(): what this validation computed once (row-condition masks and rows, expectation
# configurations), by what it was computed from
_SCOPE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("cies_gx_validation", default=None)


@contextlib.contextmanager
def validation_scope():
    """One validation whose result format never asks for the unexpected rows or for other columns of them
    (`include_unexpected_rows`, `unexpected_index_column_names`): a column's domain is that column alone; a row
    condition, and each expectation's configuration, are computed once."""
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def _cached_mask(self, whole: pd.DataFrame, row_condition) -> pd.Series | None:
    scope = _SCOPE.get()
    if scope is None:
        return _row_mask(self, whole, row_condition)
    key = (id(whole), repr(row_condition))   # `whole`, the batch's frame, lives as long as the scope
    if key not in scope:
        scope[key] = _row_mask(self, whole, row_condition)
    return scope[key]


def get_domain_records(self, domain_kwargs: dict) -> pd.DataFrame:
    """GX's domain records, with only the domain's columns: a column under a row condition, a column pair or
    a column list (their metrics read nothing else); inside validation_scope(), a column too."""
    row_condition = domain_kwargs.get("row_condition")
    if "column" in domain_kwargs:
        if not row_condition:
            whole = gx_get_domain_records(self, domain_kwargs)     # the frame itself, not a copy
            column = domain_kwargs["column"]
            if _SCOPE.get() is None or column not in whole.columns:
                return whole
            return whole[[column]]
        whole = gx_get_domain_records(self, {k: v for k, v in domain_kwargs.items()
                                             if k not in ("row_condition", "condition_parser")})
        mask = _cached_mask(self, whole, row_condition) if domain_kwargs["column"] in whole.columns else None
        if mask is None or not isinstance(mask, pd.Series) or mask.dtype != bool:
            return gx_get_domain_records(self, domain_kwargs)
        return whole.loc[mask, [domain_kwargs["column"]]]
    if row_condition:
        # the whole frame's rows under a row condition (a table metric, or a compute domain): the same copy for
        # every metric of the validation that asks for it
        scope = _SCOPE.get()
        if scope is None:
            return gx_get_domain_records(self, domain_kwargs)
        key = ("rows", repr(sorted(domain_kwargs.items(), key=lambda kv: kv[0])))
        if key not in scope:
            scope[key] = gx_get_domain_records(self, domain_kwargs)
        return scope[key]
    if "column_A" in domain_kwargs and "column_B" in domain_kwargs:
        columns = [domain_kwargs["column_A"], domain_kwargs["column_B"]]
    elif "column_list" in domain_kwargs:
        columns = list(domain_kwargs["column_list"])
    else:
        return gx_get_domain_records(self, domain_kwargs)
    ignore = domain_kwargs.get("ignore_row_if")
    if ignore is not None and ignore not in _HOW and ignore not in ("neither", "never"):
        return gx_get_domain_records(self, domain_kwargs)     # GX raises its own error for it
    whole = gx_get_domain_records(self, {k: v for k, v in domain_kwargs.items() if k != "ignore_row_if"})
    if any(c not in whole.columns for c in columns):
        return gx_get_domain_records(self, domain_kwargs)     # GX's own error for a missing column
    data = whole[columns]
    return data.dropna(axis=0, how=_HOW[ignore], subset=columns) if ignore in _HOW else data


def hash_pandas_dataframe(df: pd.DataFrame) -> str:
    return df.attrs.get(FINGERPRINT_ATTR) or gx_hash_pandas_dataframe(df)


class _OneColumn:
    """The engine as a column map metric's unexpected values and counts see it: the records of their
    compute domain (the whole frame, with its row condition) narrowed to the metric's column."""

    def __init__(self, engine: PandasExecutionEngine, column: str):
        self._engine, self._column = engine, column

    def get_domain_records(self, domain_kwargs: dict) -> pd.DataFrame:
        records = self._engine.get_domain_records(domain_kwargs)
        return records[[self._column]] if self._column in records.columns else records

    def __getattr__(self, name):
        return getattr(self._engine, name)


def _one_column(provider):
    """GX's unexpected values / value counts of a column map metric (they read `df[column]` of the whole
    compute domain after dropping its nulls from every column), given only that column."""
    def narrowed(cls, execution_engine, metric_domain_kwargs, metric_value_kwargs, metrics, **kwargs):
        column = metrics["unexpected_condition"][2].get("column")
        engine = execution_engine if column is None else _OneColumn(execution_engine, column)
        return provider(cls, engine, metric_domain_kwargs, metric_value_kwargs, metrics, **kwargs)
    narrowed.__wrapped__ = provider
    return narrowed


def _narrow_registered_providers() -> int:
    """Wrap every registered pandas provider of column map unexpected values and value counts; returns how
    many (metrics registered later keep GX's own, which gives the same answers)."""
    wrapped = 0
    for definition in gx_registry._registered_metrics.values():
        providers = definition.get("providers", {})
        entry = providers.get("PandasExecutionEngine")
        if entry and entry[1] in (gx_column_map._pandas_column_map_condition_values,
                                  gx_column_map._pandas_column_map_condition_value_counts):
            providers["PandasExecutionEngine"] = (entry[0], _one_column(entry[1]))
            wrapped += 1
    return wrapped


gx_to_id = gx_id_dict.IDDict.to_id
_SCALARS = (str, int, bool, type(None))


def _plain_json(value) -> bool:
    """True when `convert_to_json_serializable(value)` would dump to the same JSON as `value` itself: only
    str, int, bool, None, floats other than NaN (GX makes NaN None), lists, tuples (both dump as arrays) and
    dicts with str keys (GX makes every key str). Exact types: a subclass or anything else goes to GX."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is float:
        return not math.isnan(value)
    if kind is list or kind is tuple:
        return all(type(v) is str for v in value) or all(_plain_json(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    return False


def id_key_set(iddict, id_keys=None, id_ignore_keys=None) -> set:
    """The keys GX's `IDDict.to_id` names an IDDict by (one key or none: the id is that key's text, or ())."""
    return set(iddict.keys() if id_keys is None else id_keys) - set(
        iddict._id_ignore_keys if id_ignore_keys is None else id_ignore_keys)


def fast_to_id(self, id_keys=None, id_ignore_keys=None):
    """GX's `IDDict.to_id`, the same id, without GX's conversion when the kwargs are plain JSON already."""
    keys = id_key_set(self, id_keys, id_ignore_keys)
    if len(keys) > 1:
        data = {k: self[k] for k in keys}
        if _plain_json(data):
            return hashlib.md5(json.dumps(data, sort_keys=True).encode("utf-8"), usedforsecurity=False).hexdigest()
    return gx_to_id(self, id_keys, id_ignore_keys)


gx_configuration = gx_expectation.Expectation.configuration
gx_camel_to_snake = gx_expectation.camel_to_snake


def configuration(self):
    """GX's `Expectation.configuration`, built once per expectation object within a validation_scope()."""
    scope = _SCOPE.get()
    if scope is None:
        return gx_configuration.fget(self)
    key = ("configuration", id(self))
    found = scope.get(key)
    if found is None or found[0] is not self:   # the object is held, so its id is not reused in the scope
        found = scope[key] = (self, gx_configuration.fget(self))
    return found[1]


gx_config_variables = _ConfigurationVariablesConfigurationProvider.get_values
_CONFIG_VARIABLES: dict[tuple, dict] = {}


def config_variables(self) -> dict:
    """GX's `_ConfigurationVariablesConfigurationProvider.get_values`, parsed once per version of the file and
    of the environment (GX's own when the file cannot be found: it answers {} or raises)."""
    env = dict(os.environ)
    try:
        path = self._substitutor.substitute_config_variable(self._config_variables_file_path, env)
        path = os.path.join(self._root_directory or os.curdir, path) if not os.path.isabs(path) else path
        stat = os.stat(path)
    except (OSError, TypeError, ValueError):
        return gx_config_variables(self)
    key = (path, stat.st_size, stat.st_mtime_ns, tuple(sorted(env.items())))
    found = _CONFIG_VARIABLES.get(key)
    if found is None:
        if len(_CONFIG_VARIABLES) > 16:
            _CONFIG_VARIABLES.clear()
        found = _CONFIG_VARIABLES[key] = gx_config_variables(self)
    return dict(found)


PandasExecutionEngine.get_domain_records = get_domain_records
_ConfigurationVariablesConfigurationProvider.get_values = config_variables
gx_pandas_engine.hash_pandas_dataframe = hash_pandas_dataframe
NARROWED_PROVIDERS = _narrow_registered_providers()
gx_expectation.Expectation.configuration = property(configuration, doc=gx_configuration.__doc__)
gx_id_dict.IDDict.to_id = fast_to_id
gx_expectation.camel_to_snake = functools.lru_cache(maxsize=None)(gx_camel_to_snake)   # a pure function
