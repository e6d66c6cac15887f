"""Overlapping SESNSP releases: for each month, the figures of the latest release (`corte`) win."""
from __future__ import annotations

import pandas as pd


def latest_release(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of `frame` whose `corte` is the latest among the releases that cover their `periodo`.

    SESNSP revises past months in every release; when two releases sit in the input folder, each month is
    taken whole from the newest release that publishes it (never a mix of releases within one month).
    """
    if not len(frame) or frame["corte"].nunique(dropna=False) <= 1:
        return frame
    newest = frame.groupby("periodo")["corte"].transform("max")
    return frame[frame["corte"] == newest].reset_index(drop=True)
