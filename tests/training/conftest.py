"""Datasets built with pandas in tmp_path, the people who own and see them, and a look into
the warehouse folder."""

import pathlib

import numpy as np
import pandas as pd
import pytest
from django.conf import settings

from tests import factories

# The registry's S3 warehouse on a moto server (tests/training/test_dataset_s3.py).
from tests.registry.test_s3_warehouse import s3_endpoint, s3_warehouse  # noqa: F401


@pytest.fixture
def member(organisation):
    """A consumer of the provider's organisation: uploads datasets for it."""
    return factories.make_user("consumer", organisation=organisation, username="member")


@pytest.fixture
def outsider_consumer(other_organisation):
    return factories.make_user("consumer", organisation=other_organisation, username="elsewhere")


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


@pytest.fixture
def csv_file(tmp_path):
    def write(frame: pd.DataFrame | None = None, name: str = "kpis.csv") -> pathlib.Path:
        path = tmp_path / name
        (cell_kpis() if frame is None else frame).to_csv(path, index=False)
        return path

    return write


@pytest.fixture
def parquet_file(tmp_path):
    def write(frame: pd.DataFrame | None = None, name: str = "kpis.parquet", **kwargs):
        path = tmp_path / name
        (cell_kpis() if frame is None else frame).to_parquet(path, index=False, **kwargs)
        return path

    return write


@pytest.fixture
def raw_file(tmp_path):
    def write(content: bytes, name: str = "data.csv") -> pathlib.Path:
        path = tmp_path / name
        path.write_bytes(content)
        return path

    return write


def warehouse_files() -> list[str]:
    """Every file in the test's warehouse folder (tests/conftest.py puts it in tmp_path)."""
    root = pathlib.Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
