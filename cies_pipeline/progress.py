"""Progress of a refresh on a terminal: one line per asset as it is materialized, and a live bar of steps.

`execute_in_process` blocks, so a background thread follows the run's events in the Dagster instance
(cursor-based `get_records_for_run`, every 0.25 s) and draws them with rich. It is used only when stdout is
a terminal: piped or redirected, `cies-pipeline refresh` prints nothing but its summary, so it stays
parseable.
"""
from __future__ import annotations

import threading
from typing import IO

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

_EVENTS = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
           dg.DagsterEventType.STEP_SKIPPED, dg.DagsterEventType.ASSET_MATERIALIZATION,
           dg.DagsterEventType.ASSET_CHECK_EVALUATION}


def wants_progress(stream: IO) -> bool:
    """Progress only for a person watching a terminal."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def step_count(job: dg.JobDefinition) -> int:
    """Steps of an in-process run: one per op (a multi-asset such as the publish is one step)."""
    return len(job.graph.node_dict)


class RunProgress:
    """Context manager: `with RunProgress(instance, run_id, total_steps): job.execute_in_process(...)`."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, total_steps: int,
                 console: Console | None = None, interval_s: float = 0.25):
        self.instance, self.run_id, self.total = instance, run_id, total_steps
        self.console = console or Console(highlight=False)
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._cursor: str | None = None
        self._running: list[str] = []
        self.materialized: list[str] = []
        self.failed: list[str] = []
        self._progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), console=self.console, transient=True)
        self._task = self._progress.add_task("refresco", total=total_steps)

    def _drain(self) -> None:
        while True:
            conn = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, of_type=_EVENTS, limit=500)
            for record in conn.records:
                self._show(record.event_log_entry)
            self._cursor = conn.cursor
            if not conn.has_more:
                return

    def _show(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            self._running.append(event.step_key)
        elif kind == dg.DagsterEventType.STEP_SKIPPED:   # ingest/cambios found nothing to do
            self._progress.advance(self._task)
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            if event.step_key in self._running:
                self._running.remove(event.step_key)
            self._progress.advance(self._task)
            if kind == dg.DagsterEventType.STEP_FAILURE:
                self.failed.append(event.step_key)
                self.console.print(f"[red]✗ falló el paso {event.step_key}[/red]")
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            name = mat.asset_key.to_user_string()
            self.materialized.append(name)
            rows = mat.metadata.get("dagster/row_count")
            suffix = f" ({rows.value:,} filas)" if rows is not None else ""
            self.console.print(f"[green]✓[/green] {name}{suffix}")
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                color = "red" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "yellow"
                self.console.print(f"  [{color}]! {evaluation.asset_key.to_user_string()} :: "
                                   f"{evaluation.check_name}[/{color}]")
        self._progress.update(self._task, description=", ".join(self._running[-2:]) or "refresco")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self._drain()
            except Exception:  # the run does not exist yet: the instance writes it when execution starts
                continue

    def __enter__(self) -> "RunProgress":
        self._progress.start()
        self._thread = threading.Thread(target=self._loop, name="cies-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        try:
            self._drain()  # whatever arrived after the last poll
        finally:
            self._progress.stop()
