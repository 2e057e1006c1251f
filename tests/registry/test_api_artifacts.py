import hashlib
import io
import pickle

from registry.artifacts import CHUNK_SIZE
from registry.models import ModelVersion
from tests import factories


def _url(version) -> str:
    return f"/api/v1/versions/{version.pk}/artifact/"


def _put(client, version, content: bytes, filename: str | None = "model.onnx", **extra):
    query = f"?filename={filename}" if filename else ""
    return client.put(
        _url(version) + query, data=content, content_type="application/octet-stream", **extra
    )


def _assert_nothing_stored(version, settings):
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert (fresh.artifact.name, fresh.artifact_sha256, fresh.artifact_size) == ("", "", None)
    assert (fresh.signature, fresh.updated_at) == ({}, version.updated_at)
    warehouse = settings.MEDIA_ROOT
    assert not warehouse.exists() or not any(p.is_file() for p in warehouse.rglob("*"))


def test_it_refuses_a_pickle_upload_and_stores_nothing(api, draft, provider, settings):
    content = pickle.dumps({"weights": [1.0, 2.0]}, protocol=4)

    answer = _put(api(provider), draft, content, filename="model.pkl")

    assert answer.status_code == 400
    assert answer.json()["code"] == "artifact_refused"
    assert "pickle/joblib" in answer.json()["detail"]
    assert "Nothing was stored" in answer.json()["detail"]
    _assert_nothing_stored(draft, settings)


def test_it_refuses_a_pickle_even_under_an_onnx_name(api, draft, provider, settings):
    content = pickle.dumps([1, 2, 3], protocol=5)

    answer = _put(api(provider), draft, content, filename="innocent.onnx")

    assert answer.status_code == 400
    assert "pickle" in answer.json()["detail"]
    _assert_nothing_stored(draft, settings)


def test_it_refuses_an_over_limit_raw_upload_before_reading_it(api, draft, provider, settings):
    settings.SAMHUB_ARTIFACT_MAX_BYTES = 1000
    content = factories.demo_model("onnx").content
    untouched = io.BytesIO(content)

    answer = _put(api(provider), draft, content, **{"wsgi.input": untouched})

    assert answer.status_code == 413
    assert answer.json()["code"] == "artifact_too_large"
    assert f"{len(content):,} bytes, above the limit of 1,000 bytes" in answer.json()["detail"]
    assert untouched.tell() == 0
    _assert_nothing_stored(draft, settings)


def test_it_refuses_an_over_limit_multipart_upload(api, draft, provider, settings):
    settings.SAMHUB_ARTIFACT_MAX_BYTES = 1000
    upload = io.BytesIO(b"\0" * (200 * 1024))
    upload.name = "big.onnx"

    answer = api(provider).post(_url(draft), {"file": upload}, format="multipart")

    assert answer.status_code == 413
    assert "above the limit of 1,000 bytes" in answer.json()["detail"]
    _assert_nothing_stored(draft, settings)


def test_it_enforces_the_exact_limit_while_streaming(api, draft, provider, settings):
    # The declared size passes the multipart allowance; the file itself is one byte too big.
    model = factories.demo_model("skops")
    settings.SAMHUB_ARTIFACT_MAX_BYTES = len(model.content) - 1
    upload = io.BytesIO(model.content)
    upload.name = model.filename

    answer = api(provider).post(_url(draft), {"file": upload}, format="multipart")

    assert answer.status_code == 413
    assert "larger than the limit" in answer.json()["detail"]
    _assert_nothing_stored(draft, settings)


def test_it_accepts_a_multipart_skops_upload_with_its_signature(api, draft, provider):
    model = factories.demo_model("skops")
    upload = io.BytesIO(model.content)
    upload.name = model.filename

    answer = api(provider).post(_url(draft), {"file": upload}, format="multipart")

    assert answer.status_code == 200, answer.json()
    version = answer.json()
    assert version["artifact_format"] == "skops"
    assert version["artifact_filename"] == model.filename
    assert version["artifact_sha256"] == hashlib.sha256(model.content).hexdigest()
    assert version["signature"]["inputs"][0]["shape"] == [None, 6]
    assert version["signature"]["outputs"][0]["classes"] == [0, 1]
    assert version["signature"]["estimator"]


def test_it_takes_the_filename_from_content_disposition(api, draft, provider):
    content = factories.demo_model("onnx").content

    answer = _put(
        api(provider),
        draft,
        content,
        filename=None,
        HTTP_CONTENT_DISPOSITION="attachment; filename*=UTF-8''z%C3%BCrich-load.onnx",
    )

    assert answer.status_code == 200, answer.json()
    assert answer.json()["artifact_filename"] == "zürich-load.onnx"
    download = api(provider).get(_url(draft))
    assert "z%C3%BCrich-load.onnx" in download["Content-Disposition"]


def test_it_asks_for_a_filename(api, draft, provider, settings):
    answer = _put(api(provider), draft, b"\x08\x07", filename=None)

    assert answer.status_code == 400
    assert "Name the file" in answer.json()["detail"]
    _assert_nothing_stored(draft, settings)


def test_it_asks_for_a_content_length(api, draft, provider, settings):
    answer = _put(api(provider), draft, b"\x08\x07", CONTENT_LENGTH="")

    assert answer.status_code == 411
    assert "Content-Length" in answer.json()["detail"]
    _assert_nothing_stored(draft, settings)


def test_it_refuses_an_empty_body(api, draft, provider, settings):
    answer = _put(api(provider), draft, b"", CONTENT_LENGTH="0")

    assert answer.status_code == 400
    assert "empty" in answer.json()["detail"]
    _assert_nothing_stored(draft, settings)


def test_it_refuses_an_upload_once_the_version_is_submitted(api, provider, auditor, settings):
    # The version holds the ONNX file it was submitted with; another file is refused.
    version = factories.make_version_in("SUBMITTED", provider=provider, auditor=auditor)
    stored = sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file())

    answer = _put(api(provider), version, factories.demo_model("skops").content, filename="m.skops")

    assert answer.status_code == 409
    assert "Version 1.0.0 is SUBMITTED" in answer.json()["detail"]
    fresh = ModelVersion.objects.get(pk=version.pk)
    assert (fresh.artifact_sha256, fresh.updated_at) == (
        version.artifact_sha256,
        version.updated_at,
    )
    assert sorted(p.name for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()) == stored


class RecordingStream(io.BytesIO):
    """The WSGI input, noting how much each read asks for."""

    def __init__(self, content: bytes):
        super().__init__(content)
        self.sizes: list[int] = []

    def read(self, size=-1, /):
        self.sizes.append(size)
        return super().read(size)


def test_it_streams_the_raw_body_in_chunks(api, draft, provider):
    content = factories.demo_model("onnx").content
    padded = content + b"\0" * (3 * CHUNK_SIZE)  # several chunks; refused as not ONNX
    wsgi_input = RecordingStream(padded)

    answer = _put(api(provider), draft, padded, **{"wsgi.input": wsgi_input})

    assert answer.status_code == 400
    assert wsgi_input.tell() == len(padded)
    assert len(wsgi_input.sizes) > 3
    assert all(0 < size <= CHUNK_SIZE for size in wsgi_input.sizes)


def test_it_gives_404_for_a_version_without_a_file(api, draft, provider):
    answer = api(provider).get(_url(draft))

    assert answer.status_code == 404
    assert answer.json()["detail"] == "This version has no model file in the warehouse."
