"""Datasets built with pandas in tmp_path, the people who own and see them, and a look into
the warehouse folder."""

import pathlib

import pandas as pd
import pytest

from tests import factories
from tests.training.datasets import cell_kpis


@pytest.fixture
def member(organisation):
    """A consumer of the provider's organisation: uploads datasets for it."""
    return factories.make_user("consumer", organisation=organisation, username="member")


@pytest.fixture
def outsider_consumer(other_organisation):
    return factories.make_user("consumer", organisation=other_organisation, username="elsewhere")


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
