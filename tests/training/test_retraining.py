"""Retraining-sharing (issue 9, item 5): a consumer with an ACTIVE RETRAINING subscription
retrains the model on their dataset; the new version goes to the audit as theirs under the
subscription, and once it is released they are told on the use page, in their notices and by
e-mail. The steps run in-process here (training.execution); tests/browser/test_retraining_flow.py
runs them on a real worker."""

import pytest
from django.core import mail

from core import notices
from core.errors import DomainError
from core.models import Notice, NoticeKind
from registry import services as registry_services
from registry.models import VersionStatus
from sharing import services as sharing_services
from tests import factories
from tests.training.training import process_of, request_training, upload_dataset
from training import execution, services
from training.models import RequestStatus


@pytest.fixture
def consumer_organisation(db):
    return factories.make_organisation("East Consumer Ltd")


@pytest.fixture
def retrainer(consumer_organisation):
    """A consumer in an organisation of their own (datasets belong to organisations)."""
    return factories.make_user(
        "consumer",
        organisation=consumer_organisation,
        username="retrainer",
        email="retrainer@east.example",
    )


@pytest.fixture
def retraining(retrainer, version):
    """The consumer's ACTIVE RETRAINING subscription to the released skops model."""
    return sharing_services.subscription_request(
        user=retrainer, sam=version.sam, method="RETRAINING"
    )


@pytest.fixture
def own_data(retrainer, consumer_organisation, tmp_path):
    return upload_dataset(retrainer, consumer_organisation, tmp_path, name="East KPIs")


def run_to_the_end(request):
    services.training_request_start(request_id=request.pk)
    execution.training_queue_run()
    return process_of(request)


def test_a_consumer_with_an_active_retraining_subscription_retrains_on_their_data(
    retrainer, retraining, version, own_data, auditor, second_auditor, provider
):
    request = request_training(retrainer, version, [own_data])
    process = run_to_the_end(request)
    request.refresh_from_db()
    trained = process.trained_version
    submission = trained.transitions.get(name="submit")

    assert request.subscription == retraining and request.status == RequestStatus.FINISHED
    assert list(process.report.used_consumer_training_data.all()) == [own_data]
    assert trained.status == VersionStatus.SUBMITTED and trained.parent == version
    assert trained.sam == version.sam  # a version of the provider's model, made by the consumer
    assert trained.created_by == retrainer and trained.submitted_by == retrainer
    assert f"Re-training sharing subscription {retraining.pk}" in submission.reason
    # The audit treats it like any other version: the consumer cannot approve it, an
    # auditor from outside can.
    approved = registry_services.version_approve(version_id=trained.pk, user=auditor)
    assert approved.status == VersionStatus.APPROVED
    # Told along the way: the consumer that their training finished, the auditors that it
    # waits for them, and the consumer and the model's providers (who register and release it
    # next) of the decision.
    assert kinds_told(retrainer) == [NoticeKind.TRAINING_FINISHED, NoticeKind.AUDIT_APPROVED]
    assert NoticeKind.SUBMISSION_WAITING in kinds_told(second_auditor)
    assert kinds_told(provider)[-1] == NoticeKind.AUDIT_APPROVED


def kinds_told(user) -> list[str]:
    return list(Notice.objects.filter(user=user).order_by("pk").values_list("kind", flat=True))


@pytest.mark.parametrize("method", ["INFERENCE", None, "SUSPENDED"])
def test_without_an_active_retraining_subscription_a_consumer_cannot_request_training(
    retrainer, version, own_data, provider, method
):
    if method == "INFERENCE":
        sharing_services.subscription_request(user=retrainer, sam=version.sam, method=method)
    elif method == "SUSPENDED":
        subscription = sharing_services.subscription_request(
            user=retrainer, sam=version.sam, method="RETRAINING"
        )
        sharing_services.subscription_transition(
            subscription_id=subscription.pk, user=provider, name="suspend", reason="Unpaid"
        )
    with pytest.raises(DomainError) as caught:
        request_training(retrainer, version, [own_data])
    assert caught.value.status == 403
    assert "active Re-training sharing subscription" in caught.value.message


def test_a_retraining_subscription_does_not_let_one_train_a_version_it_does_not_serve(
    retrainer, version, provider, auditor
):
    # A newer release, and the older one deprecated: a subscription made after that works
    # with the newer one; the deprecated one serves only subscriptions made before.
    newer = factories.make_version_in(
        "APPROVED", provider=provider, auditor=auditor, kind="skops", sam=version.sam,
        version="1.1.0",
    )  # fmt: skip
    registry_services.version_register(version_id=newer.pk, user=provider, access_type="MODEL_FILE")
    registry_services.version_release(version_id=newer.pk, user=provider)
    registry_services.version_deprecate(version_id=version.pk, user=provider)
    sharing_services.subscription_request(user=retrainer, sam=version.sam, method="RETRAINING")

    with pytest.raises(DomainError) as caught:
        request_training(retrainer, version, [])
    assert caught.value.status == 403
    assert request_training(retrainer, newer, []).subscription.consumer == retrainer


def test_the_consumer_is_told_once_when_the_retrained_version_is_released(
    retrainer, retraining, version, own_data, auditor, provider, client,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    request = request_training(retrainer, version, [own_data])
    trained = run_to_the_end(request).trained_version
    registry_services.version_approve(version_id=trained.pk, user=auditor)
    registry_services.version_register(
        version_id=trained.pk, user=provider, access_type="MODEL_FILE"
    )
    with django_capture_on_commit_callbacks() as queued:
        registry_services.version_release(version_id=trained.pk, user=provider)
    assert len(queued) == 1  # the notice's e-mail task, queued on commit
    told = Notice.objects.filter(user=retrainer, kind=NoticeKind.RETRAINED_RELEASED)
    services.retrained_version_released(version=trained)  # once, however often it is called
    assert told.count() == 1
    assert told.get().url == f"/subscriptions/{retraining.pk}/use/"

    assert notices.notice_email(notice_id=told.get().pk) is True
    assert notices.notice_email(notice_id=told.get().pk) is False  # once
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["retrainer@east.example"]
    assert f"{version.sam.name} {trained.version} is released" in message.subject
    assert f"/subscriptions/{retraining.pk}/use/" in message.body

    client.force_login(retrainer)
    page = client.get(f"/subscriptions/{retraining.pk}/use/").content.decode()
    assert f'id="retrained-released-{trained.pk}"' in page
    assert "retrained on your data, is released" in page
    # It is the model's latest release now, which every subscription to the model uses.
    assert f'latest release <a href="/models/{version.sam.slug}/#v-{trained.pk}"' in page


def test_releasing_a_providers_own_training_tells_no_subscriber(
    provider, auditor, version, organisation, tmp_path, django_capture_on_commit_callbacks
):
    dataset = upload_dataset(provider, organisation, tmp_path)
    trained = run_to_the_end(request_training(provider, version, [dataset])).trained_version
    registry_services.version_approve(version_id=trained.pk, user=auditor)
    registry_services.version_register(
        version_id=trained.pk, user=provider, access_type="MODEL_FILE"
    )
    with django_capture_on_commit_callbacks() as queued:
        registry_services.version_release(version_id=trained.pk, user=provider)
    assert queued == [] and mail.outbox == []


def test_the_use_page_of_a_retraining_subscription_offers_upload_and_retraining(
    retrainer, retraining, own_data, client
):
    client.force_login(retrainer)
    page = client.get(f"/subscriptions/{retraining.pk}/use/").content.decode()
    assert "there is nothing to use here yet" not in page
    assert 'id="retrain-form"' in page and 'id="dataset-upload"' in page
    assert f'value="{own_data.pk}"' in page  # their dataset, to pick


def test_a_dataset_uploaded_from_the_use_page_comes_back_to_it(
    retrainer, retraining, consumer_organisation, tmp_path, client
):
    from tests.training.datasets import anomaly_kpis

    path = tmp_path / "east.csv"
    anomaly_kpis().to_csv(path, index=False)
    client.force_login(retrainer)
    use_url = f"/subscriptions/{retraining.pk}/use/"
    with open(path, "rb") as file:
        answer = client.post(
            "/datasets/",
            {
                "organisation": consumer_organisation.pk,
                "name": "East KPIs",
                "target_column": "anomaly",
                "file": file,
                "next": use_url,
            },
        )
    assert answer.status_code == 302 and answer["Location"] == use_url
    with open(path, "rb") as file:
        elsewhere = client.post(
            "/datasets/",
            {
                "organisation": consumer_organisation.pk,
                "name": "Again",
                "target_column": "anomaly",
                "file": file,
                "next": "https://evil.example/",
            },
        )
    assert elsewhere.status_code == 302 and elsewhere["Location"].startswith("/datasets/")
