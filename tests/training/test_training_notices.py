"""What training tells the requester in their notices (training.notices): a request that ends
with its processes failed; a cancelled one tells no one. A finished training and a released
retrained version are told in tests/training/test_retraining.py, which runs the training."""

import pytest

from core.models import Notice, NoticeKind
from tests.training.training import process_of, request_training, trainable_version
from training import services


@pytest.fixture
def started(provider, auditor):
    request = request_training(provider, trainable_version(provider, auditor))
    return services.training_request_start(request_id=request.pk)


def test_a_failed_training_tells_its_requester_why(provider, started):
    process = process_of(started)
    services.training_process_fail(process_id=process.pk, run_id=None, reason="The disk is full.")

    notice = Notice.objects.get(user=provider, kind=NoticeKind.TRAINING_FAILED)
    assert notice.title.endswith("failed") and "The disk is full." in notice.body
    assert notice.url == f"/training/requests/{started.pk}/"


def test_a_cancelled_training_tells_no_one(provider, started):
    services.training_request_cancel(request_id=started.pk, user=provider)
    services.training_process_fail(process_id=process_of(started).pk, run_id=None, reason="gone")

    assert not Notice.objects.filter(kind__startswith="TRAINING_").exists()
