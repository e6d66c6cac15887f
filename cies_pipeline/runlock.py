"""One refresh at a time per data directory: the lock `cies-pipeline refresh` holds for the whole run.

Two refreshes of the same CIES_DATA_DIR would share more than the warehouse (whose publish has its own lock):
the Great Expectations file context under `<CIES_DATA_DIR>/gx` (suites are saved on each run, and GX refuses
a suite changed by another process), the Data Docs, the report folder and, with the default instance, the
Dagster SQLite storage. So the second refresh waits for the first (an `fcntl` lock on
`<CIES_DATA_DIR>/.refresh.lock`, released by the kernel even if the holder is killed), then runs; after
CIES_REFRESH_LOCK_TIMEOUT_S seconds (default 3600) it gives up with a message naming the lock. Runs launched
by a daemon on a shared instance are serialised by its queued run coordinator (docs/dagster.postgres.yaml).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from pathlib import Path


class RefreshLockTimeout(RuntimeError):
    pass


@contextlib.contextmanager
def refresh_lock(data_dir: Path, timeout_s: float | None = None, poll_s: float = 0.5):
    if timeout_s is None:
        timeout_s = float(os.environ.get("CIES_REFRESH_LOCK_TIMEOUT_S") or 3600)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / ".refresh.lock"
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout_s
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    print(f"another refresh of {data_dir} is running ({path}); waiting for it to finish",
                          file=sys.stderr, flush=True)
                    announced = True
                if time.monotonic() > deadline:
                    raise RefreshLockTimeout(f"another refresh has held {path} for more than {timeout_s:.0f} s; "
                                             "not refreshing") from None
                time.sleep(poll_s)
        try:
            handle.seek(0), handle.truncate(), handle.write(f"{os.getpid()}\n"), handle.flush()
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
