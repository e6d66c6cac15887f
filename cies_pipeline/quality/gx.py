"""Runs an expectation suite (quality.suites) on a DataFrame and turns GX's result into a check outcome.

One GX context per context root per process: `context_root=None` is an in-memory (ephemeral) context,
for tests; a folder is a file context that stores every validation result and renders Data Docs under
`<context_root>/uncommitted/data_docs/local_site/index.html` (the ephemeral context would write them to a
fresh temporary folder per process). Datasource, assets, suites, validation definitions and checkpoints
are get-or-add, so a second run, or a second process on the same folder, reuses them.

The caller's frame is never changed: GX gets a shallow copy, with datetimes in nanoseconds and gap-free
Int64 as int64 (GX compares anything else value by value) and the suite's helper `chk_*` columns added.
"""
from __future__ import annotations

import json
import math
import os
import shutil

os.environ["GX_ANALYTICS_ENABLED"] = "False"

import threading  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import unquote, urlparse  # noqa: E402

import great_expectations as gx  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from great_expectations.core.freshness_diagnostics import (  # noqa: E402
    CheckpointFreshnessDiagnostics, ValidationDefinitionFreshnessDiagnostics)
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from great_expectations.expectations.metadata_types import FailureSeverity  # noqa: E402

from cies_pipeline.quality import gx_metrics  # noqa: E402,F401 - installs the vectorised metrics
from cies_pipeline.quality.data_docs import site_dir  # noqa: E402
from cies_pipeline.quality.suites import SUITES  # noqa: E402

DATASOURCE = "cies"
BATCH_DEFINITION = "frame_completo"
MAX_EXAMPLES = 10
MAX_TABLE_ROWS = 25  # failures shown in the metadata table (a missing column fails a dozen expectations)
# A validation runs first for its verdict only (GX's BOOLEAN_ONLY: each expectation's success, none of the
# metrics that describe unexpected values). Only a suite that fails is validated again with RESULT_FORMAT,
# whose details (unexpected counts, examples) the check's metadata and its Data Docs page show. A pass costs a
# third less (the 330,000-row SESNSP municipal frame: 0.12 s instead of 0.18 s); a failure costs both runs.
VERDICT_FORMAT = {"result_format": "BOOLEAN_ONLY"}
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}
DETAIL_CHECKPOINT = "{suite}__detalle"   # the checkpoint of the second run, with RESULT_FORMAT
# what gx_metrics.validation_scope() relies on: no result asks for other columns of the unexpected rows
assert not {"include_unexpected_rows", "unexpected_index_column_names"} & {*RESULT_FORMAT, *VERDICT_FORMAT}
# kwargs that say where an expectation looks, not what it expects: shown as the column, not repeated
_WHERE_KWARGS = {"column", "column_list", "column_A", "column_B", "batch_id", "result_format",
                 "catch_exceptions", "include_config", "meta", "notes", "row_condition",
                 "condition_parser"}


@dataclass
class SuiteOutcome:
    suite: str
    success: bool
    evaluated: int  # expectations evaluated
    failed: list[dict] = field(default_factory=list)
    data_docs: str | None = None  # this validation's Data Docs page (file context only)

    def metadata(self) -> dict:
        """JSON-safe metadata for a Dagster asset check: counts, a markdown table of failures, Data Docs."""
        meta: dict[str, Any] = {"suite": self.suite, "success": self.success, "evaluated": self.evaluated,
                                "failed": len(self.failed), "failures": failures_markdown(self.failed)}
        if self.data_docs:
            meta["data_docs"] = self.data_docs
        return meta


def failures_markdown(failed: list[dict]) -> str:
    """The failures as a markdown table (what Dagster shows for a check's metadata)."""
    if not failed:
        return ""
    lines = ["| expectation | column | unexpected | examples | kwargs |", "| --- | --- | --- | --- | --- |"]
    for f in failed[:MAX_TABLE_ROWS]:
        unexpected = f.get("unexpected_count")
        if unexpected is None:
            unexpected = f.get("exception") or f"observed: {f.get('observed_value')}"
        cells = [f["expectation"], f["column"], str(unexpected), "; ".join(f["partial_unexpected_list"]),
                 f["kwargs"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    if len(failed) > MAX_TABLE_ROWS:
        lines.append(f"| … {len(failed) - MAX_TABLE_ROWS} more | | | | |")
    return "\n".join(lines)


# -- contexts -----------------------------------------------------------------------------------------
_CONTEXTS: dict[str | None, Any] = {}
_LOCK = threading.RLock()


def _root(context_root: Path | None) -> str | None:
    """The key of a context root in this module's per-process tables (None: the ephemeral context)."""
    return None if context_root is None else str(Path(context_root).absolute())


def get_context(context_root: Path | None = None) -> Any:
    """The process's GX context for `context_root` (None: ephemeral), created quiet on first use."""
    key = _root(context_root)
    with _LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            if key is None:
                context = gx.get_context(mode="ephemeral")
            else:
                Path(key).mkdir(parents=True, exist_ok=True)
                context = gx.get_context(mode="file", context_root_dir=key)
            # both are read by GX from the context's variables; a file context keeps them in its yml, which is
            # rewritten only when they change (writing it costs ~0.04 s per process)
            quiet = {"globally": False, "metric_calculations": False}
            current = context.variables.progress_bars
            changed = (getattr(current, "to_json_dict", lambda: current)() != quiet
                       or context.config.analytics_enabled is not False)
            context.variables.progress_bars = ProgressBarsConfig(**quiet)
            context.config.analytics_enabled = False
            if key is not None and changed:
                context.variables.save()
            _CONTEXTS[key] = context
        return context


def _batch_definition(context: Any, asset_name: str) -> Any:
    try:
        datasource = context.data_sources.get(DATASOURCE)
    except (KeyError, ValueError, LookupError, gx.exceptions.DataContextError):
        datasource = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = datasource.get_asset(asset_name)
    except LookupError:
        asset = datasource.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except (KeyError, LookupError, ValueError):
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)


# -- validation ---------------------------------------------------------------------------------------
def validate_frame(frame: pd.DataFrame, suite: str, today: date, context_root: Path | None = None,
                   *, data_docs: bool = True, fingerprint: str | None = None) -> SuiteOutcome:
    """Validate `frame` against the suite `suite` (a key of SUITES) as of `today` (Mexico City date).

    `context_root` None validates in memory; a folder uses (and creates) a file context there, stores
    the result and renders its Data Docs page and index. Rendering costs about 0.4 s per call (GX
    compiles its templates on every build): when validating many frames in a row, pass
    `data_docs=False` and call `build_data_docs(context_root)` once at the end. An empty frame
    validates like any other. `fingerprint`, the frame's content hash (memo.table_fingerprint) when the
    caller has it, is what GX records as the batch's fingerprint, instead of hashing the frame again.
    """
    if suite not in SUITES:
        raise ValueError(f"suite desconocida '{suite}'; se esperaba una de: {', '.join(sorted(SUITES))}")
    spec = SUITES[suite]
    data = _for_validation(frame)
    if spec.derive is not None:
        data = data.assign(**spec.derive(frame))
    if fingerprint:
        data.attrs[gx_metrics.FINGERPRINT_ATTR] = fingerprint
    context = get_context(context_root)
    with _LOCK:
        batch_definition, gx_suite, checkpoints = _prepared(context, context_root, suite, today)
        if checkpoints is None:
            batch = batch_definition.get_batch(batch_parameters={"dataframe": data})
            for result_format in (VERDICT_FORMAT, RESULT_FORMAT):
                with gx_metrics.validation_scope():
                    result, docs = batch.validate(gx_suite, result_format=result_format), None
                if result.success:
                    break
        else:
            with gx_metrics.validation_scope():
                result, identifier = _run_checkpoint(checkpoints[0], data)
            if not result.success:
                # the verdict's stored result would only repeat, without its details, the one stored next
                context.validation_results_store.remove_key(identifier)
                detail = _detail_checkpoint(context, context_root, suite)
                with gx_metrics.validation_scope():
                    result, identifier = _run_checkpoint(detail, data)
            docs = _data_docs_page(context, context_root, identifier, data_docs)
    return SuiteOutcome(suite=suite, success=bool(result.success), evaluated=len(result.results),
                        failed=[_failure(r) for r in result.results if not r.success], data_docs=docs)


def _for_validation(frame: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy GX can validate fast, with the same values and dtype kinds.

    GX's pandas range check is vectorised only for datetime64[ns] and numpy numbers; pandas 3 makes
    datetime64[us] and readers use Int64, which GX then compares value by value (seconds per 300k rows).
    """
    data = frame.copy(deep=False)  # GX and our chk_* columns never touch the caller's frame
    for column, dtype in frame.dtypes.items():
        if isinstance(dtype, np.dtype) and dtype.kind == "M" and dtype != np.dtype("datetime64[ns]"):
            try:
                data[column] = frame[column].astype("datetime64[ns]")
            except (OverflowError, ValueError):  # a date beyond 1677-2262: let GX compare it as is
                pass
        elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and pd.api.types.is_integer_dtype(dtype) \
                and not frame[column].hasnans:
            data[column] = frame[column].astype(dtype.numpy_dtype)
    return data


# (context root, suite) -> (first of the month it was built for, batch definition, suite, checkpoints)
_PREPARED: dict[tuple[str | None, str], tuple[date, Any, Any, Any]] = {}


def _prepared(context: Any, context_root: Path | None, name: str, today: date) -> tuple[Any, Any, list | None]:
    """Batch definition, GX suite and (file context only) its checkpoints for `name` as of `today`: the
    verdict's (VERDICT_FORMAT), and a place for the details' (RESULT_FORMAT, on the same validation
    definition), which `_detail_checkpoint` fills on the suite's first failure.

    Built once per month and context: storing a suite, validation definition or checkpoint compares
    every expectation with the stored ones and rewrites them (about half a second for the larger
    suites), and a suite only changes when the code or the month does. A file context keeps them from
    one process to the next: when the stored checkpoint, validation definition and suite are exactly
    what would be stored now (`_stored`), they are read back (a few hundredths of a second) instead.
    """
    key = (_root(context_root), name)
    month = today.replace(day=1)
    cached = _PREPARED.get(key)
    if cached is None or cached[0] != month:
        batch_definition = _batch_definition(context, name)
        spec = SUITES[name]
        expectations = spec.build(today)
        for expectation in expectations:  # shown in Data Docs; the run itself follows spec.blocking
            expectation.severity = FailureSeverity.CRITICAL if spec.blocking else FailureSeverity.WARNING
        suite = gx.ExpectationSuite(name=name, expectations=expectations)
        stored = None if context_root is None else _stored(context, name, suite)
        checkpoints = None
        if stored is not None:
            gx_suite, verdict = stored
            checkpoints = [verdict, None]
        else:
            gx_suite = context.suites.add_or_update(suite)
            if context_root is not None:
                definition = context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(name=name, data=batch_definition, suite=gx_suite))
                # Data Docs are built by _data_docs_page / build_data_docs, so that many validations can
                # share one build
                checkpoints = [context.checkpoints.add_or_update(
                    gx.Checkpoint(name=name, validation_definitions=[definition], result_format=VERDICT_FORMAT,
                                  actions=[])), None]
        cached = (month, batch_definition, gx_suite, checkpoints)
        _PREPARED[key] = cached
    return cached[1], cached[2], cached[3]


# GX checks, before each run of a checkpoint and again of its validation definition, that both and their suite
# are exactly what its stores hold (reading and parsing them back: about 0.03 s per validation). A checkpoint
# that `_prepared` stored, or read back and compared (`_stored`), in this process is fresh by construction: it
# is not checked again. Any other checkpoint or validation definition gets GX's own check.
_gx_checkpoint_is_fresh = gx.Checkpoint.is_fresh
_gx_definition_is_fresh = gx.ValidationDefinition.is_fresh


def _fresh_by_construction(obj: Any) -> bool:
    """`obj` is a checkpoint held in _PREPARED, or one of its validation definitions."""
    return any(obj is checkpoint or any(obj is d for d in checkpoint.validation_definitions)
               for _, _, _, checkpoints in list(_PREPARED.values()) for checkpoint in checkpoints or ()
               if checkpoint is not None)


def _checkpoint_is_fresh(self) -> CheckpointFreshnessDiagnostics:
    if _fresh_by_construction(self):
        return CheckpointFreshnessDiagnostics(errors=[])
    return _gx_checkpoint_is_fresh(self)


def _definition_is_fresh(self) -> ValidationDefinitionFreshnessDiagnostics:
    if _fresh_by_construction(self):
        return ValidationDefinitionFreshnessDiagnostics(errors=[])
    return _gx_definition_is_fresh(self)


gx.Checkpoint.is_fresh = _checkpoint_is_fresh
gx.ValidationDefinition.is_fresh = _definition_is_fresh


def _stored(context: Any, name: str, suite: Any) -> tuple[Any, Any] | None:
    """The stored suite and verdict checkpoint `name`, if they are exactly what `_prepared` would store."""
    checkpoint = _stored_checkpoint(context, name, name, VERDICT_FORMAT, _suite_definition(suite))
    return None if checkpoint is None else (list(checkpoint.validation_definitions)[0].suite, checkpoint)


def _stored_checkpoint(context: Any, checkpoint_name: str, name: str, result_format: dict,
                       suite_definition: str) -> Any | None:
    """The stored checkpoint `checkpoint_name` of suite `name`, if it is exactly what this module would store.

    The checkpoint is read with its validation definition and suite (GX resolves both from their stores), and
    compared with what `_prepared` builds: one validation definition named `name` on the asset's whole-frame
    batch, the given result format, no actions, and a suite whose definition (`_suite_definition`: name, meta
    (GX version) and expectations, in order, kwargs and severity included: everything GX stores but the ids it
    assigns) is `suite_definition`. No fingerprint file to go stale: a suite rewritten by another month, another
    process or a person is compared as it is now. None (store again) on any difference, or on anything missing
    or unreadable.
    """
    try:
        checkpoint = context.checkpoints.get(checkpoint_name)
        definitions = list(checkpoint.validation_definitions)
        if len(definitions) != 1:
            return None
        definition = definitions[0]
        data = definition.data
        same = (checkpoint.name == checkpoint_name and list(checkpoint.actions) == []
                and checkpoint.result_format == result_format and definition.name == name
                and data.name == BATCH_DEFINITION and data.data_asset.name == name
                and data.data_asset.datasource.name == DATASOURCE
                and _suite_definition(definition.suite) == suite_definition)
    except Exception:  # noqa: BLE001 - not stored, or stored in a shape this code cannot read: store it again
        return None
    return checkpoint if same else None


def _detail_checkpoint(context: Any, context_root: Path, name: str) -> Any:
    """The details' checkpoint (RESULT_FORMAT) of suite `name`, prepared: read back, or stored, on the suite's
    first failure in this process and month (a suite that passes never needs it)."""
    prepared = _PREPARED[(_root(context_root), name)][3]
    if prepared[1] is None:
        verdict = prepared[0]
        definition = list(verdict.validation_definitions)[0]
        checkpoint_name = DETAIL_CHECKPOINT.format(suite=name)
        prepared[1] = _stored_checkpoint(context, checkpoint_name, name, RESULT_FORMAT,
                                         _suite_definition(definition.suite)) \
            or context.checkpoints.add_or_update(gx.Checkpoint(
                name=checkpoint_name, validation_definitions=[definition], result_format=RESULT_FORMAT,
                actions=[]))
    return prepared[1]


def _suite_definition(suite: Any) -> str:
    """A suite as GX stores it, without the ids GX assigns, as canonical JSON."""
    expectations = []
    for expectation in suite.expectations:
        config = expectation.configuration.to_json_dict()
        config.pop("id", None)
        expectations.append(config)
    return json.dumps({"name": suite.name, "meta": suite.meta, "notes": suite.notes,
                       "expectations": expectations}, sort_keys=True, default=str)


# context root -> validation results stored but not rendered yet (validate_frame(..., data_docs=False))
_PENDING_DOCS: dict[str, list] = {}


def _run_checkpoint(checkpoint: Any, data: pd.DataFrame) -> tuple[Any, Any]:
    """Run a checkpoint on `data` (GX stores the result): the result and its identifier in the store."""
    checkpoint_result = checkpoint.run(batch_parameters={"dataframe": data})
    identifier, result = next(iter(checkpoint_result.run_results.items()))
    return result, identifier


def _data_docs_page(context: Any, context_root: Path, identifier: Any, data_docs: bool) -> str | None:
    """The Data Docs page of a stored result: rendered now, or with the next build_data_docs."""
    if data_docs:
        context.build_data_docs(resource_identifiers=[identifier])
    else:
        _PENDING_DOCS.setdefault(_root(context_root), []).append(identifier)
    page = context.get_docs_sites_urls(resource_identifier=identifier, only_if_exists=False)
    return _site_path(page)


def build_data_docs(context_root: Path) -> str | None:
    """Render the Data Docs pages of validations run with `data_docs=False`, and the index, in one build.

    First drops all but the latest RESULTS_PER_SUITE validation results of each suite, with their pages
    (`prune_validations`): GX's index reads every stored result, so without it each nightly build would take
    longer than the last. Returns the path of the Data Docs index (None if no file context was used at
    `context_root`).
    """
    key = _root(context_root)
    with _LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            return None
        pending = _PENDING_DOCS.pop(key, [])
        prune_validations(Path(key))
        if pending:  # an empty list would make GX re-render every validation ever stored
            context.build_data_docs(resource_identifiers=pending)
        return _site_path(context.get_docs_sites_urls())


def pending_docs(context_root: Path) -> int:
    """How many validations run in this process with `data_docs=False` have no Data Docs page yet."""
    return len(_PENDING_DOCS.get(_root(context_root), []))


# validation results (and their Data Docs pages) kept per suite: the latest runs; a table validated again only
# when its content changes keeps its latest result however old it is
RESULTS_PER_SUITE = 5


def prune_validations(context_root: Path, keep: int = RESULTS_PER_SUITE) -> list[str]:
    """Delete all but the latest `keep` stored validation results of each suite, and their rendered pages.

    GX stores each result as uncommitted/validations/<suite>/<run name>/<run time>/<batch>.json and renders it
    to the same path under the site's validations/ folder; run times (20261128T223348.804653Z) sort in time
    order. Returns the '<suite>/<run name>/<run time>' removed."""
    stores = [Path(context_root) / "uncommitted" / "validations", site_dir(context_root) / "validations"]
    removed = []
    if not stores[0].is_dir():
        return removed
    for suite in sorted(p for p in stores[0].iterdir() if p.is_dir()):
        runs = sorted((run_time.name, run_time.relative_to(stores[0]))
                      for run_name in suite.iterdir() if run_name.is_dir()
                      for run_time in run_name.iterdir() if run_time.is_dir())
        for _, relative in runs[:max(len(runs) - keep, 0)]:
            for store in stores:
                shutil.rmtree(store / relative, ignore_errors=True)
            removed.append(relative.as_posix())
    return removed


def _site_path(urls: list[dict]) -> str | None:
    """A filesystem path rather than a file:// URL: browsers block file:// links from the Dagster UI."""
    for site in urls:
        url = site.get("site_url")
        if url:
            return unquote(urlparse(url).path) if url.startswith("file:") else url
    return None


def _failure(r: Any) -> dict:
    config = r.expectation_config
    kwargs = dict(config.kwargs)
    if "column" in kwargs:
        columns = [kwargs["column"]]
    elif "column_list" in kwargs:
        columns = list(kwargs["column_list"])
    else:
        columns = [kwargs[k] for k in ("column_A", "column_B") if k in kwargs]
    result = r.result or {}
    failure: dict[str, Any] = {
        "expectation": config.type,
        "column": ", ".join(str(c) for c in columns),
        "unexpected_count": None if result.get("unexpected_count") is None
        else int(result["unexpected_count"]),
        "partial_unexpected_list": [_text(v) for v in (result.get("partial_unexpected_list") or [])
                                    [:MAX_EXAMPLES]],
        "kwargs": ", ".join(f"{k}={_short(_text(v))}" for k, v in sorted(kwargs.items())
                            if k not in _WHERE_KWARGS and v is not None),
    }
    if result.get("observed_value") is not None:
        failure["observed_value"] = _text(result["observed_value"])
    message = _exception_message(r.exception_info)
    if message:
        failure["exception"] = message
    return failure


def _exception_message(info: Any) -> str | None:
    """GX reports exceptions either flat or keyed by metric id; return the first message."""
    if not info:
        return None
    if isinstance(info, dict) and "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    if isinstance(info, dict):
        for value in info.values():
            message = _exception_message(value if isinstance(value, dict) else getattr(value, "to_json_dict",
                                                                                       lambda: {})())
            if message:
                return message
    return None


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any) -> str:
    """A value as a person reads it: dates as ISO, pairs as (a, b), missing as 'nulo'."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_text(v) for v in value) + ")"
    if isinstance(value, np.datetime64):  # .item() of a nanosecond datetime64 is a bare int
        value = pd.Timestamp(value)
    elif isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "nulo"
    if isinstance(value, datetime):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
