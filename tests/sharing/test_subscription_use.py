"""Using a subscription in the portal: a reasoning call tried in the page and the API call to
make from other systems; an SDK wheel or mirror bundle built (the page following the build)
and downloaded, each download logged."""

import hashlib
import html
import json
import re

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from registry import demo
from registry.models import ModelVersion
from sharing import extraction
from sharing import services as sharing_services
from sharing.models import Delivery, InferenceOutcome, InferenceRecord, PackageStatus
from sharing.tasks import package_build_task
from tests import factories

ROW = [9.0, 2.0, 80.5, 61.2, 250.0, 0.3]


def subscribe(consumer, version, method):
    return sharing_services.subscription_request(user=consumer, sam=version.sam, method=method)


def use_url(subscription) -> str:
    return reverse("sharing:subscription-use", args=[subscription.pk])


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_my_subscriptions_links_each_active_subscription_to_its_use(client, consumer, version):
    active = subscribe(consumer, version, "INFERENCE")
    client.force_login(consumer)

    page = text(client.get(reverse("sharing:my-subscriptions")))

    assert f'href="{use_url(active)}"' in page


def test_the_inference_page_shows_the_api_call_to_make(client, consumer, version):
    subscription = subscribe(consumer, version, "INFERENCE")
    client.force_login(consumer)

    page = text(client.get(use_url(subscription)))

    assert f"curl -X POST http://testserver/api/v1/versions/{version.pk}/infer/" in page
    assert "Authorization: Token $SAMHUB_TOKEN" in page
    assert "POST http://testserver/api/v1/auth/token/" in page
    example = json.loads(re.search(r"-d '(.*?)'", page).group(1))
    assert example == {"inputs": {"input": [[0.0] * 6]}}


def test_a_call_tried_in_the_page_answers_like_the_model_and_is_metered(client, consumer, version):
    subscription = subscribe(consumer, version, "INFERENCE")
    client.force_login(consumer)
    x, _, _ = demo.cell_kpi_dataset()

    answer = client.post(use_url(subscription), {"inputs": json.dumps({"input": x[:3].tolist()})})

    assert answer.status_code == 200
    record = InferenceRecord.objects.get()
    assert (record.caller, record.subscription, record.count) == (consumer, subscription, 3)
    page = text(answer)
    assert str(record.pk) in page
    table = re.search(r'<table class="table" id="answer-table">(.*?)</table>', page, re.S)[1]
    assert len(re.findall(r"<tr><td>\d+</td>", table)) == 3
    shown = json.loads(re.search(r'<pre class="json" id="outputs">(.*?)</pre>', page, re.S)[1])
    estimator = factories.demo_model("skops").estimator
    assert shown["label"] == estimator.predict(x[:3]).tolist()
    assert np.allclose(shown["probabilities"], estimator.predict_proba(x[:3]))


@pytest.mark.parametrize(
    ("typed", "status", "message", "metered"),
    [
        ('{"input": [[1, 2', 400, "This is not valid JSON", 0),
        ("[[1, 2, 3]]", 400, 'Give an object: {"input": [[...]]}.', 0),
        ('{"input": [[1, 2]]}', 400, "Input 'input': expected shape [batch, 6], got [1, 2].", 1),
    ],
    ids=["broken-json", "not-an-object", "wrong-shape"],
)
def test_a_refused_call_is_explained_on_the_form_with_the_input_kept(
    client, consumer, version, typed, status, message, metered
):
    subscription = subscribe(consumer, version, "INFERENCE")
    client.force_login(consumer)

    answer = client.post(use_url(subscription), {"inputs": typed})

    assert answer.status_code == status
    page = text(answer)
    assert page.count(message) == 1  # once, next to the field; not again on top of the form
    assert typed in page
    assert InferenceRecord.objects.count() == metered
    if metered:
        assert InferenceRecord.objects.get().outcome == InferenceOutcome.INVALID_INPUT


def test_the_page_names_the_models_own_inputs_not_a_placeholder(client, consumer, version):
    # The signature's input renamed: what the page shows must come from it.
    renamed = [{**version.signature["inputs"][0], "name": "cell_kpis"}]
    ModelVersion.objects.filter(pk=version.pk).update(
        signature={**version.signature, "inputs": renamed}
    )
    subscription = subscribe(consumer, version, "INFERENCE")
    client.force_login(consumer)

    page = text(client.post(use_url(subscription), {"inputs": "[[1, 2, 3]]"}))

    example = json.loads(re.search(r"-d '(.*?)'", page).group(1))
    assert list(example["inputs"]) == ["cell_kpis"]
    assert 'One nested list per input, one row per instance: {"cell_kpis": [[...]]}.' in page
    assert page.count('Give an object: {"cell_kpis": [[...]]}.') == 1
    assert "<input name>" not in page


def test_a_suspended_subscription_cannot_be_used(client, consumer, provider, version):
    subscription = subscribe(consumer, version, "INFERENCE")
    sharing_services.subscription_transition(
        name="suspend", subscription_id=subscription.pk, user=provider, reason="Unpaid invoice"
    )
    client.force_login(consumer)

    page = text(client.get(use_url(subscription)))
    tried = client.post(use_url(subscription), {"inputs": json.dumps({"input": [ROW]})})

    assert 'id="not-usable"' in page
    assert "Suspended" in page
    assert 'id="try-form"' not in page
    assert tried.status_code == 405
    assert not InferenceRecord.objects.exists()


def test_nobody_else_opens_a_consumers_subscription(client, consumer, other_provider, version):
    subscription = subscribe(consumer, version, "INFERENCE")
    client.force_login(other_provider)

    assert client.get(use_url(subscription)).status_code == 404
    assert (
        client.post(
            reverse("sharing:subscription-package-build", args=[subscription.pk])
        ).status_code
        == 404
    )


@pytest.mark.parametrize("method", ["SDK", "BUNDLE"])
def test_a_package_is_built_followed_and_downloaded(
    client, consumer, version, method, monkeypatch, django_capture_on_commit_callbacks
):
    subscription = subscribe(consumer, version, method)
    client.force_login(consumer)
    queued = []
    monkeypatch.setattr(package_build_task, "delay", queued.append)

    before = text(client.get(use_url(subscription)))
    with django_capture_on_commit_callbacks(execute=True):
        built = client.post(reverse("sharing:subscription-package-build", args=[subscription.pk]))
    building = text(client.get(use_url(subscription)))
    package = extraction.package_build(package_id=queued[0])  # what the Celery worker runs
    ready = text(client.get(use_url(subscription)))
    download = client.get(reverse("sharing:subscription-package-download", args=[subscription.pk]))

    assert 'id="build"' in before and "Not built yet" in before
    assert built.status_code == 302 and built["Location"] == use_url(subscription)
    assert 'http-equiv="refresh"' in building and "<progress" in building
    assert package.status == PackageStatus.READY
    assert 'http-equiv="refresh"' not in ready
    assert f"Download {package.filename}" in ready
    if method == "SDK":
        # The snippet calls predict() with the model's own input name (its signature).
        assert 'model.predict({"input": [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]})' in ready
        assert "<input name>" not in ready
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert hashlib.sha256(content).hexdigest() == package.sha256 == download["X-Checksum-SHA256"]
    delivery = Delivery.objects.get()
    assert (delivery.user, delivery.kind, delivery.subscription) == (consumer, method, subscription)


def test_a_failed_build_is_shown_and_can_be_started_again(
    client, consumer, version, monkeypatch, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    subscription = subscribe(consumer, version, "SDK")
    client.force_login(consumer)
    queued = []
    monkeypatch.setattr(package_build_task, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("sharing:subscription-package-build", args=[subscription.pk]))
    model = default_storage.open(version.artifact.name, "rb").read()
    default_storage.delete(version.artifact.name)
    extraction.package_build(package_id=queued[0])

    failed = text(client.get(use_url(subscription)))
    default_storage.save(version.artifact.name, ContentFile(model))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("sharing:subscription-package-build", args=[subscription.pk]))

    assert 'id="build-error"' in failed and "missing from the warehouse" in failed
    assert "Build it again" in failed
    assert queued == [queued[0], queued[0]]
    assert extraction.package_build(package_id=queued[0]).status == PackageStatus.READY
