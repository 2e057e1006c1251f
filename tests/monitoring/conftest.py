import numpy as np
import pytest

from monitoring.selectors import monitored_output
from registry.demo import cell_kpi_dataset
from sharing import metering
from tests import factories
from tests.contract import OpenApiContract
from tests.processes import celery_worker_start, celery_worker_stop

ROWS = cell_kpi_dataset(n_samples=50, seed=11)[0]
# What the worker needs to report quickly in a test: a 1 s tick, loopback callbacks allowed,
# a short callback timeout and a short backoff.
WORKER_SETTINGS = {
    "SAMHUB_MONITOR_TICK_SECONDS": "1",
    "SAMHUB_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "SAMHUB_CALLBACK_TIMEOUT_SECONDS": "1",
    "SAMHUB_CALLBACK_ATTEMPTS": "3",
    "SAMHUB_CALLBACK_BACKOFF_SECONDS": "1",
}


# eventReportReq.notifMethod refers to TS 29.508's NotificationMethod, whose file is not among
# the specs: its values as TS 29.508 (§5.6.3.x) names them, and as SAM Hub acts on them, stand
# in for it. (The real file adds the open `string` arm of every 3GPP enumeration; SAM Hub
# refuses a value it cannot act on, so the stand-in is the enumeration alone.)
NOTIFICATION_METHODS = ["PERIODIC", "ONE_TIME", "ON_EVENT_DETECTION"]


@pytest.fixture(scope="session")
def nwdaf_contract() -> OpenApiContract:
    return OpenApiContract(
        "TS29520_Nnwdaf_MLModelMonitor.yaml",
        stand_ins={
            "TS29508_Nsmf_EventExposure.yaml": {
                "NotificationMethod": {"type": "string", "enum": NOTIFICATION_METHODS}
            }
        },
    )


@pytest.fixture(scope="module")
def monitor_worker(django_db_setup, tmp_path_factory):
    """A real Celery worker with Celery beat inside it, ticking every second."""
    log_path = tmp_path_factory.mktemp("monitor-worker") / "worker.log"
    worker = celery_worker_start(log_path, env=WORKER_SETTINGS, beat=True)
    yield log_path
    celery_worker_stop(worker)


@pytest.fixture
def regressor(provider, auditor):
    """A released ONNX regressor (next-hour cell load) that SAM Hub runs itself."""
    return factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind="onnx")


def infer_with_truth(
    version, caller, *, right: int, wrong: int, batch: int = 1, input_data_set: dict | None = None
) -> list:
    """Real reasoning calls of `version` by `caller`, metered, then ground truth attached:
    equal to the answer for `right` instances, different for `wrong` ones (a classifier's
    label flipped, a regressor's value off by 10), naming `input_data_set` as where the
    inputs are kept. Returns the records."""
    records = []
    total, index = right + wrong, 0
    while index < total:
        size = min(batch, total - index)
        rows = ROWS[index % len(ROWS) : index % len(ROWS) + size]
        if len(rows) < size:
            rows = np.resize(ROWS, (size, ROWS.shape[1]))
        name = version.signature["inputs"][0]["name"]
        record = metering.inference_call(
            caller=caller, version_id=version.pk, body={"inputs": {name: rows.tolist()}}
        )
        output = monitored_output(version)[0]
        truths = []
        for offset, predicted in enumerate(record.outputs[output]):
            if index + offset < right:
                truths.append(predicted)
            elif isinstance(predicted, list):  # a regressor's [value]
                truths.append([predicted[0] + 10.0])
            elif isinstance(predicted, float):
                truths.append(predicted + 10.0)
            else:
                truths.append(1 - predicted if isinstance(predicted, int) else f"not {predicted}")
        records.append(
            metering.inference_ground_truth_attach(
                user=caller,
                inference_id=record.pk,
                ground_truth={output: truths},
                input_data_set=input_data_set,
            )
        )
        index += size
    return records
