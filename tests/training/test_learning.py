"""training.learning's reading of a stored dataset (pyarrow's reader, with pandas' idea of a
missing value and of a short row) and the prepared arrays handed from the prepare step to the
training step of the same run."""

import io

import numpy as np
import pandas as pd
import pytest

from training import learning, services

pytestmark = pytest.mark.django_db


def stored(member, organisation, content: bytes, *, name: str = "kpis.csv", target: str = "y"):
    return services.dataset_upload(
        user=member,
        organisation=organisation,
        name=name,
        stream=io.BytesIO(content),
        filename=name,
        target_column=target,
    )


def test_rows_with_a_value_pandas_calls_missing_are_left_out(member, organisation):
    csv = b"a,b,y\n1,2.5,0\nNone,4,1\n5,NA,1\n7,8,\n9,nan,0\n10,11,1\n<NA>,1,0\n12,13,0\n"
    dataset = stored(member, organisation, csv)
    assert dataset.row_count == 8  # the upload check (pandas) read every row

    x, y = learning.dataset_read(dataset, ["b", "a"])

    assert x.dtype == np.float64
    assert x.tolist() == [[2.5, 1.0], [11.0, 10.0], [13.0, 12.0]]
    assert y.tolist() == [0, 1, 0]
    assert y.dtype.kind == "i"


def test_a_row_shorter_than_the_header_is_read_as_the_upload_check_read_it(member, organisation):
    # pyarrow's reader refuses the short row; pandas (the check's reader) fills it with
    # missing values, so it is left out and the other rows are used.
    csv = b"a,b,y\n1,2,0\n3,4\n5,6,1\n"
    dataset = stored(member, organisation, csv)

    x, y = learning.dataset_read(dataset, ["a", "b"])

    assert x.tolist() == [[1.0, 2.0], [5.0, 6.0]]
    assert y.tolist() == [0, 1]


def test_booleans_and_integers_are_features_as_numbers(member, organisation):
    csv = b"flag,count,y\nTrue,3,0.5\nFalse,99999999999999999,1.5\n"
    dataset = stored(member, organisation, csv)

    x, y = learning.dataset_read(dataset, ["flag", "count"])

    assert x.tolist() == [[1.0, 3.0], [0.0, 1e17]]
    assert y.tolist() == [0.5, 1.5]


def test_parquet_nulls_and_nans_are_left_out(member, organisation, tmp_path):
    frame = pd.DataFrame(
        {"a": [1.0, np.nan, 3.0, 4.0], "b": pd.array([1, 2, None, 4], dtype="Int64")}
    )
    frame["y"] = [0.1, 0.2, 0.3, np.nan]
    path = tmp_path / "kpis.parquet"
    frame.to_parquet(path, index=False)
    dataset = stored(member, organisation, path.read_bytes(), name="kpis.parquet")

    x, y = learning.dataset_read(dataset, ["a", "b"])

    assert x.tolist() == [[1.0, 1.0]]
    assert y.tolist() == [0.1]


def test_the_training_step_of_the_run_that_prepared_takes_its_arrays_from_memory():
    arrays = learning.split(np.arange(40.0).reshape(20, 2), np.arange(20), seed=3)
    name = learning.arrays_store(41, arrays, run_id="run-a")

    from_file = learning.arrays_load(name, run_id="run-b")  # another run: the stored file
    assert from_file.keys() == arrays.keys()
    assert all(np.array_equal(from_file[k], arrays[k]) for k in arrays)
    assert learning.arrays_load(name, run_id="run-a") is arrays  # its own run: no read back
    again = learning.arrays_load(name, run_id="run-a")  # taken once: the file afterwards
    assert again is not arrays and np.array_equal(again["x_train"], arrays["x_train"])

    learning.arrays_store(41, arrays, run_id="run-a")
    learning.arrays_forget()
    assert learning.arrays_load(name, run_id="run-a") is not arrays


def test_the_split_is_the_same_for_the_same_seed_and_keeps_every_row_once():
    x, y = np.arange(200.0).reshape(100, 2), np.arange(100)

    first, second = learning.split(x, y, seed=7), learning.split(x, y, seed=7)

    assert all(np.array_equal(first[k], second[k]) for k in first)
    assert (len(first["y_train"]), len(first["y_validation"])) == (80, 20)
    rows = np.concatenate([first["y_train"], first["y_validation"]])
    assert sorted(rows.tolist()) == list(range(100))
    assert np.array_equal(first["x_train"][:, 0], first["y_train"] * 2.0)
