"""Shared fixtures: the sample data written once per session, and one full refresh of it into DuckDB."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not REAL.is_dir():
        if os.environ.get("CI"):
            raise RuntimeError(f"{REAL} is missing: CI must have ../shared beside the clone")
        pytest.skip(f"the real public files are not at {REAL} (../shared beside the checkout)")
    return REAL


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    from cies_pipeline.sample_data import write_sample_data

    directory = tmp_path_factory.mktemp("sample")
    write_sample_data(directory)
    return directory
