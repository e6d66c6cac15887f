"""Vectorised pandas implementations of two GX metrics, registered in place of GX's own (same answers).

GX's pandas engine evaluates two of the metrics our suites use value by value in Python:
- `column_values.match_regex` turns every value into text and searches it. Our big tables keep their
  repeated labels (CVEGEO, file names, sha256) as categoricals: the regex is evaluated once per category and
  spread over the rows by the category codes.
- `column_values.between` is vectorised only for numpy numbers and datetimes; a nullable integer column
  (Int64, where a CIE blank stays <NA>) was compared row by row. GX drops the nulls first, so the values
  left are plain numbers: they are compared as a numpy array.
Anything else goes to GX's own function, unchanged. Subclassing a metric provider re-registers its metric
(GX's documented way to provide a metric); importing this module is what installs them.
`test_gx_metrics.py` checks both against GX's functions on the edge cases.
"""
from __future__ import annotations

import inspect
import logging

import numpy as np
import pandas as pd
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.metrics.column_map_metrics.column_values_between import ColumnValuesBetween
from great_expectations.expectations.metrics.column_map_metrics.column_values_match_regex import (
    ColumnValuesMatchRegex)
from great_expectations.expectations.metrics.map_metric_provider import column_condition_partial

# GX's own (undecorated) pandas functions, kept for every case the fast paths do not cover
gx_match_regex = inspect.unwrap(ColumnValuesMatchRegex._pandas)
gx_between = inspect.unwrap(ColumnValuesBetween._pandas)


def match_regex(cls, column: pd.Series, regex: str, **kwargs) -> pd.Series:
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return gx_match_regex(cls, column, regex, **kwargs)
    per_category = pd.Series(column.cat.categories).astype(str).str.contains(regex).to_numpy(dtype=bool)
    # a missing value stays missing through GX's astype(str) and never matches
    missing = False
    # code -1 (missing) takes the answer appended at the end
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


# GX logs a warning when a metric is registered again; here that is the point
_registry_log = logging.getLogger("great_expectations.expectations.registry")
_level = _registry_log.level
_registry_log.setLevel(logging.ERROR)
try:
    class FastColumnValuesMatchRegex(ColumnValuesMatchRegex):
        _pandas = column_condition_partial(engine=PandasExecutionEngine)(match_regex)

    class FastColumnValuesBetween(ColumnValuesBetween):
        _pandas = column_condition_partial(engine=PandasExecutionEngine)(between)
finally:
    _registry_log.setLevel(_level)
