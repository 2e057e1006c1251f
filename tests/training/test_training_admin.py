"""Operators see training requests, processes and reports in the admin, read-only, and cancel
through the same service."""

from tests.training.training import process_of, request_training, trainable_version, upload_dataset
from training import services
from training.models import RequestStatus


def test_operators_see_the_training_objects_and_cancel_by_action(
    client, operator, provider, auditor, organisation, tmp_path
):
    version = trainable_version(provider, auditor)
    dataset = upload_dataset(provider, organisation, tmp_path)
    request = request_training(provider, version, [dataset])
    services.training_request_start(request_id=request.pk)
    client.force_login(operator)

    pages = [
        client.get(f"/admin/training/{name}/")
        for name in ("mltrainingrequest", "mltrainingprocess", "mltrainingreport")
    ]
    detail = client.get(f"/admin/training/mltrainingprocess/{process_of(request).pk}/change/")
    cancelled = client.post(
        "/admin/training/mltrainingrequest/",
        {"action": "cancel_requests", "_selected_action": [request.pk]},
        follow=True,
    )

    assert [p.status_code for p in pages] == [200, 200, 200]
    assert detail.status_code == 200 and "ProgressStatus changes" in detail.content.decode()
    assert "Cancelled: MLTrainingRequest=" in cancelled.content.decode()
    request.refresh_from_db()
    assert request.status == RequestStatus.CANCELLED
    assert request.events.get(name="cancel").actor == operator
