"""The warehouse on S3: a moto server on loopback stands in for the S3 endpoint."""

import hashlib
import io

import pytest
from django.core.files.storage import default_storage

from core.errors import DomainError
from registry import services
from tests import factories
from tests.s3 import BUCKET


def test_it_stores_the_artifact_in_the_bucket_and_downloads_it_identical(s3_warehouse, provider):
    model = factories.demo_model("onnx")
    version = factories.upload(factories.make_draft(provider), provider, "onnx")

    key = f"artifacts/{version.artifact_sha256[:2]}/{version.artifact_sha256}.onnx"
    assert version.artifact.name == key
    stored = s3_warehouse.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert stored == model.content
    with default_storage.open(key, "rb") as downloaded:
        assert hashlib.sha256(downloaded.read()).hexdigest() == version.artifact_sha256


@pytest.mark.s3
def test_a_refused_file_leaves_the_bucket_untouched(s3_warehouse, provider):
    before = s3_warehouse.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0)
    version = factories.make_draft(provider)

    with pytest.raises(DomainError, match="pickle"):
        services.version_artifact_upload(
            version_id=version.pk,
            user=provider,
            stream=io.BytesIO(b"\x80\x04K\x01."),
            filename="model.pkl",
        )

    assert s3_warehouse.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == before


@pytest.mark.s3
def test_the_api_streams_the_artifact_back_from_the_bucket(s3_warehouse, provider, api):
    model = factories.demo_model("skops")
    version = factories.upload(factories.make_draft(provider), provider, "skops")

    answer = api(provider).get(f"/api/v1/versions/{version.pk}/artifact/")

    assert answer.status_code == 200
    assert answer["X-Checksum-SHA256"] == version.artifact_sha256
    assert b"".join(answer.streaming_content) == model.content
