"""Datasets in an S3 warehouse (moto on loopback, the registry's S3 fixtures): stored under
datasets/ when accepted, nothing in the bucket when refused, gone when deleted."""

import pytest

from core.errors import DomainError
from tests.s3 import BUCKET
from training import services


def keys(client) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def upload(user, organisation, path):
    with open(path, "rb") as f:
        return services.dataset_upload(
            user=user, organisation=organisation, name="Cell KPIs", stream=f,
            filename=path.name, target_column="load_next_hour",
        )  # fmt: skip


@pytest.mark.s3
def test_a_dataset_goes_to_the_bucket_and_leaves_with_its_deletion(
    s3_warehouse, member, organisation, parquet_file
):
    path = parquet_file()
    dataset = upload(member, organisation, path)
    key = f"datasets/{dataset.sha256[:2]}/{dataset.sha256}.parquet"
    assert key in keys(s3_warehouse)
    assert s3_warehouse.get_object(Bucket=BUCKET, Key=key)["Body"].read() == path.read_bytes()
    services.dataset_delete(user=member, dataset_id=dataset.pk)
    assert key not in keys(s3_warehouse)


@pytest.mark.s3
def test_a_refused_dataset_leaves_the_bucket_untouched(
    s3_warehouse, member, organisation, raw_file
):
    before = keys(s3_warehouse)
    with pytest.raises(DomainError, match="line 3"):
        upload(member, organisation, raw_file(b"a,load_next_hour\n1,2\n3,4,5\n"))
    assert keys(s3_warehouse) == before
