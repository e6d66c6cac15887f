import pandas as pd

from cies_pipeline.harmonize.releases import latest_release


def test_latest_release_wins_per_month():
    t = pd.Timestamp
    f = pd.DataFrame({
        "corte": [t("2025-06-01")] * 3 + [t("2025-07-01")] * 2,
        "periodo": [t("2025-05-01"), t("2025-06-01"), t("2025-04-01"), t("2025-06-01"), t("2025-07-01")],
        "carpetas": [1, 2, 3, 20, 30]})
    out = latest_release(f).sort_values("periodo")
    # April and May only in the June release; June and July from the July release (revised June 2 → 20)
    assert out["carpetas"].tolist() == [3, 1, 20, 30]
