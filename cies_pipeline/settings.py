"""Configuration read once from the environment, with documented defaults.

CIES_DATA_DIR        inputs (sesnsp/, reference/, inbox/state_reports/) and local outputs; default ./data
CIES_WAREHOUSE_URL   any SQLAlchemy URL; default duckdb:///<CIES_DATA_DIR>/cies.duckdb
                     (not warehouse.duckdb: a file named like the schema `warehouse` makes
                     `warehouse.t` ambiguous in DuckDB)
CIES_RECONCILIACION_DESDE  optional YYYY-MM: first reconciled month (default: earliest CIE period)
CIES_CROSSWALK_DIR   optional folder with an analyst's edited crosswalk CSVs (each file found there replaces
                     the package's; read at every run: harmonize/crosswalks.py)
DAGSTER_HOME         default <CIES_DATA_DIR>/dagster_home, so CLI and UI runs share one instance
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TIMEZONE = "America/Mexico_City"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    warehouse_url: str
    reconciliacion_desde: str | None

    @property
    def sesnsp_dir(self) -> Path:
        return self.data_dir / "sesnsp"

    @property
    def reference_dir(self) -> Path:
        return self.data_dir / "reference"

    @property
    def inbox_dir(self) -> Path:
        return self.data_dir / "inbox" / "state_reports"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.data_dir / "dagster_home").absolute()


def default_warehouse_url(data_dir: Path) -> str:
    return f"duckdb:///{(data_dir / 'cies.duckdb').absolute()}"


def get_settings() -> Settings:
    data_dir = Path(os.environ.get("CIES_DATA_DIR") or "data").absolute()
    return Settings(
        data_dir=data_dir,
        warehouse_url=os.environ.get("CIES_WAREHOUSE_URL") or default_warehouse_url(data_dir),
        reconciliacion_desde=os.environ.get("CIES_RECONCILIACION_DESDE") or None,
    )
