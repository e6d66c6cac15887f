"""Progress of `cies-pipeline refresh`: per-asset lines on a terminal, nothing when piped."""
from __future__ import annotations

import io
import uuid

import dagster as dg
from rich.console import Console

from cies_pipeline.progress import RunProgress, step_count, wants_progress


@dg.asset
def primero() -> dg.Output:
    return dg.Output(1, metadata={"dagster/row_count": 3})


@dg.asset
def segundo(primero: int) -> int:
    return primero + 1


@dg.asset(deps=[segundo])
def roto() -> None:
    raise ValueError("falla a propósito")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal():
    assert wants_progress(_Tty()) is True
    assert wants_progress(io.StringIO()) is False


def test_every_asset_and_the_failed_step_are_shown():
    defs = dg.Definitions(assets=[primero, segundo, roto],
                          jobs=[dg.define_asset_job("todo", executor_def=dg.in_process_executor)])
    job = defs.resolve_job_def("todo")
    assert step_count(job) == 3
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system=None)
    run_id = str(uuid.uuid4())
    with dg.DagsterInstance.ephemeral() as instance:
        with RunProgress(instance, run_id, step_count(job), console=console, interval_s=0.05) as progress:
            result = job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)
    assert not result.success
    assert progress.materialized == ["primero", "segundo"]
    assert progress.failed == ["roto"]
    text = out.getvalue()
    assert "✓ primero (3 filas)" in text
    assert "✓ segundo" in text
    assert "✗ falló el paso roto" in text
