"""Datasets for the training tests, built with pandas, and a look into the warehouse folder."""

import pathlib

import numpy as np
import pandas as pd
from django.conf import settings


def cell_kpis(rows: int = 200, *, seed: int = 0) -> pd.DataFrame:
    """Distinct rows, no missing cell, no constant column: quality 100."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "prb_usage": rng.random(rows),
            "active_users": rng.integers(0, 500, rows),
            "cell": [f"cell-{i % 7}" for i in range(rows)],
        }
    )
    frame["load_next_hour"] = frame["prb_usage"] * 0.8 + rng.random(rows) * 0.1
    return frame


def warehouse_files() -> list[str]:
    """Every file in the test's warehouse folder (tests/conftest.py puts it in tmp_path)."""
    root = pathlib.Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def anomaly_kpis(rows: int = 120, *, seed: int = 3, extra: dict | None = None) -> pd.DataFrame:
    """Six numeric KPI columns in the order the demo anomaly model takes them, and its label."""
    from registry.demo import KPI_FEATURES, cell_kpi_dataset

    features, _, anomaly = cell_kpi_dataset(n_samples=rows, seed=seed)
    frame = pd.DataFrame(features.astype(np.float64), columns=KPI_FEATURES)
    frame["anomaly"] = anomaly
    for name, values in (extra or {}).items():
        frame[name] = values
    return frame
