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
