"""training.services.dataset_upload: what a good file stores, and every refusal storing
nothing (issue 9, item 1)."""

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from core.errors import DomainError
from tests.training.datasets import cell_kpis, warehouse_files
from training import services
from training.models import Dataset, DatasetFormat


def upload(user, organisation, path, *, target="load_next_hour", name="Cell KPIs"):
    with open(path, "rb") as stream:
        return services.dataset_upload(
            user=user,
            organisation=organisation,
            name=name,
            stream=stream,
            filename=path.name,
            target_column=target,
        )


def refusal(user, organisation, path, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        upload(user, organisation, path, **kwargs)
    assert Dataset.objects.count() == 0
    assert warehouse_files() == []
    return caught.value


def test_it_stores_a_clean_csv_with_its_columns_and_full_score(member, organisation, csv_file):
    dataset = upload(member, organisation, csv_file())
    assert dataset.format == DatasetFormat.CSV
    assert dataset.row_count == 200
    assert dataset.columns == [
        {"name": "prb_usage", "type": "float", "missing": 0},
        {"name": "active_users", "type": "integer", "missing": 0},
        {"name": "cell", "type": "string", "missing": 0},
        {"name": "load_next_hour", "type": "float", "missing": 0},
    ]
    assert dataset.feature_columns == ["prb_usage", "active_users", "cell"]
    assert dataset.quality_score == 100.0
    assert (dataset.missing_ratio, dataset.duplicate_ratio, dataset.constant_columns) == (0, 0, [])
    assert len(dataset.sha256) == 64 and dataset.size == csv_file().stat().st_size
    assert warehouse_files() == [f"datasets/{dataset.sha256[:2]}/{dataset.sha256}.csv"]
    assert Dataset.objects.get().uploaded_by == member


def test_it_scores_missing_values_duplicates_and_constant_columns(member, organisation, csv_file):
    frame = cell_kpis(100)
    frame["region"] = "north"  # constant: 1 of 5 columns
    frame.loc[:9, "prb_usage"] = np.nan  # 10 of 500 cells missing
    frame = pd.concat([frame, frame.iloc[10:35]], ignore_index=True)  # 25 of 125 rows repeat
    dataset = upload(member, organisation, csv_file(frame))
    assert dataset.row_count == 125
    assert dataset.missing_ratio == pytest.approx(10 / 625)
    assert dataset.duplicate_ratio == pytest.approx(25 / 125)
    assert dataset.constant_columns == ["region"]
    expected = 100 * (1 - 10 / 625) * (1 - 25 / 125) * (1 - 1 / 5)
    assert dataset.quality_score == round(expected, 1) == 63.0


def test_it_reads_a_csv_saved_with_a_byte_order_mark(member, organisation, raw_file):
    dataset = upload(member, organisation, raw_file(b"\xef\xbb\xbfprb,load_next_hour\n1,2\n3,4\n"))
    assert [c["name"] for c in dataset.columns] == ["prb", "load_next_hour"]


def test_it_stores_parquet(member, organisation, parquet_file):
    dataset = upload(member, organisation, parquet_file())
    assert dataset.format == DatasetFormat.PARQUET
    assert dataset.row_count == 200 and dataset.quality_score == 100.0
    assert warehouse_files() == [f"datasets/{dataset.sha256[:2]}/{dataset.sha256}.parquet"]


def test_the_same_bytes_are_stored_once_and_deleted_with_the_last_dataset(
    member, organisation, csv_file
):
    first = upload(member, organisation, csv_file(), name="One")
    second = upload(member, organisation, csv_file(), name="Two")
    assert len(warehouse_files()) == 1
    services.dataset_delete(user=member, dataset_id=first.pk)
    assert len(warehouse_files()) == 1
    services.dataset_delete(user=member, dataset_id=second.pk)
    assert warehouse_files() == [] and not Dataset.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"prb,load_next_hour\n1,2\n3,4,5\n6,7\n", "Expected 2 fields in line 3, saw 3"),
        (b"", "The file is empty"),
        (b"prb,load_next_hour\n", "no rows"),
        (b"load_next_hour\n1\n2\n", "at least one feature column"),
        (b"prb,other\n1,2\n", "no column 'load_next_hour'"),
        (b"prb,load_next_hour\n1,high\n2,low\n", "must be numeric; it holds string values"),
        (b"prb,prb,load_next_hour\n1,2,3\n", "repeated: prb"),
        (b"prb,,load_next_hour\n1,2,3\n", "Every column needs a name"),
        (b"prb,load_next_hour\n1,\n2,\n", "'load_next_hour' has no values"),
    ],
    ids=[
        "malformed",
        "empty",
        "header-only",
        "no-feature",
        "no-target",
        "text-target",
        "duplicate-names",
        "unnamed-column",
        "empty-target",
    ],
)
def test_it_refuses_a_bad_csv_and_stores_nothing(member, organisation, raw_file, content, message):
    error = refusal(member, organisation, raw_file(content))
    assert error.status == 400
    assert message in error.message and "nothing was stored" in error.message.lower()


def test_it_refuses_rows_and_columns_over_the_caps(member, organisation, csv_file, settings):
    settings.SAMHUB_DATASET_MAX_ROWS = 150
    assert "more than 150 rows" in refusal(member, organisation, csv_file()).message
    settings.SAMHUB_DATASET_MAX_ROWS = 1000
    settings.SAMHUB_DATASET_MAX_COLUMNS = 3
    assert "4 columns, above the limit of 3" in refusal(member, organisation, csv_file()).message


def test_it_refuses_a_file_over_the_size_limit_while_it_streams(
    member, organisation, csv_file, settings
):
    settings.SAMHUB_DATASET_MAX_BYTES = 1024
    error = refusal(member, organisation, csv_file())
    assert (error.status, error.code) == (413, "dataset_too_large")


def test_it_refuses_other_formats_by_their_extension(member, organisation, raw_file):
    error = refusal(member, organisation, raw_file(b"a,b\n1,2\n", name="data.xlsx"))
    assert "Upload a .csv or .parquet file" in error.message


def test_only_members_and_operators_upload(
    member, outsider_consumer, operator, organisation, csv_file
):
    error = refusal(outsider_consumer, organisation, csv_file())
    assert error.status == 403
    assert upload(operator, organisation, csv_file()).organisation == organisation


# --- hostile files: refused with a clear 400, never a crash -------------------------------


def test_a_csv_with_one_giant_line_is_refused_before_parsing(
    member, organisation, raw_file, settings
):
    settings.SAMHUB_DATASET_MAX_LINE_BYTES = 64 * 1024
    content = b"prb,load_next_hour\n1,2\n" + b"9" * (3 * 1024 * 1024) + b",3\n"
    error = refusal(member, organisation, raw_file(content))
    assert error.status == 400
    assert "Line 3 is longer than 65,536 bytes" in error.message


def test_a_csv_that_is_not_utf8_is_refused_with_its_line(member, organisation, raw_file):
    content = b"prb,load_next_hour\n1,2\n\xff\xfe,3\n"
    error = refusal(member, organisation, raw_file(content))
    assert error.status == 400
    assert "Line 3 is not UTF-8 text" in error.message


def test_a_parquet_footer_claiming_more_bytes_than_the_file_is_refused(
    member, organisation, parquet_file, raw_file
):
    content = bytearray(parquet_file().read_bytes())
    content[-8:-4] = (2**31 - 1).to_bytes(4, "little")  # the footer's declared length
    error = refusal(member, organisation, raw_file(bytes(content), name="huge.parquet"))
    assert error.status == 400
    assert "The Parquet metadata cannot be read" in error.message


def test_a_parquet_compression_bomb_is_refused_before_it_is_decompressed(
    member, organisation, parquet_file, settings
):
    frame = pd.DataFrame({"zeros": np.zeros(2_000_000), "load_next_hour": np.zeros(2_000_000)})
    path = parquet_file(frame, name="bomb.parquet", compression="zstd")
    assert path.stat().st_size < 200_000  # 32 MB of data in a few kB
    settings.SAMHUB_DATASET_MAX_LOADED_BYTES = 8 * 1024**2
    error = refusal(member, organisation, path)
    assert error.status == 400
    assert "once decompressed, above the limit of 8,388,608" in error.message


def test_a_zip_bomb_named_parquet_is_refused(member, organisation, raw_file):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bomb:
        bomb.writestr("data.parquet", b"\0" * 50_000_000)
    error = refusal(member, organisation, raw_file(archive.getvalue(), name="data.parquet"))
    assert error.status == 400
    assert "not Parquet" in error.message


def test_a_parquet_with_a_garbled_middle_is_refused(member, organisation, parquet_file, raw_file):
    content = bytearray(parquet_file().read_bytes())
    content[4:-8] = b"\x17" * (len(content) - 12)
    error = refusal(member, organisation, raw_file(bytes(content), name="garbled.parquet"))
    assert error.status == 400
    assert "Parquet" in error.message


def test_a_checker_that_runs_out_of_memory_refuses_the_file(
    member, organisation, csv_file, settings
):
    # Far less than the checker (forked with pandas and pyarrow loaded) has mapped already: its
    # next allocation fails, as a MemoryError the check reports or as a crash of the child.
    settings.SAMHUB_DATASET_CHECK_MEMORY_BYTES = 64 * 1024**2
    error = refusal(member, organisation, csv_file())
    assert error.status == 400
    assert any(
        phrase in error.message
        for phrase in (
            "needs more memory than a dataset may take (SAMHUB_DATASET_CHECK_MEMORY_BYTES)",
            "exceeded the resources a dataset may take",
        )
    )


def test_a_check_that_takes_too_long_is_refused(member, organisation, csv_file, settings):
    settings.SAMHUB_DATASET_CHECK_TIMEOUT_SECONDS = 0  # no check answers at once
    error = refusal(member, organisation, csv_file())
    assert error.status == 400
    assert "took too long (SAMHUB_DATASET_CHECK_TIMEOUT_SECONDS)" in error.message
