"""The catalog's popularity counts (sharing.services.version_popularity_count, run by Celery
beat): people with an active subscription to the model, calls of the version."""

from sharing import services
from sharing.models import InferenceOutcome, InferenceRecord, VersionPopularity
from sharing.tasks import version_popularity_count_task
from tests import factories


def calls(version, caller, n: int) -> None:
    InferenceRecord.objects.bulk_create(
        InferenceRecord(
            version=version, caller=caller, count=1, latency_ms=1.0, outcome=InferenceOutcome.ERROR
        )
        for _ in range(n)
    )


def test_it_counts_active_subscribers_once_and_every_call(provider, auditor, consumer):
    released = factories.make_version_in("RELEASED", provider=provider, auditor=auditor)
    other = factories.make_released(provider, auditor)
    draft = factories.make_draft(provider)
    suspended = factories.make_user("consumer")
    # One person by two methods is one subscriber; a suspended subscription counts for none.
    for person, method in ((consumer, "INFERENCE"), (consumer, "SDK"), (suspended, "BUNDLE")):
        services.subscription_request(user=person, sam=released.sam, method=method)
    services.subscription_transition(
        subscription_id=suspended.subscriptions.get().pk,
        user=provider,
        name="suspend",
        reason="Unpaid",
    )
    calls(released, consumer, 4)  # failed calls count too: they are calls of the model
    calls(draft, provider, 2)

    counted = services.version_popularity_count()

    assert counted == 2  # released versions only: the draft is in no catalog
    popularity = {p.version_id: (p.subscribers, p.calls) for p in VersionPopularity.objects.all()}
    assert popularity == {released.pk: (1, 4), other.pk: (0, 0)}


def test_counting_again_updates_the_counts_and_the_task_runs_twice_harmlessly(
    provider, auditor, consumer
):
    version = factories.make_released(provider, auditor)
    calls(version, consumer, 1)
    services.version_popularity_count()
    calls(version, consumer, 2)

    assert version_popularity_count_task() == version_popularity_count_task() == 1
    popularity = VersionPopularity.objects.get(version=version)
    assert popularity.calls == 3
    assert VersionPopularity.objects.count() == 1
