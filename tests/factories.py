"""Test data built through the same services users go through."""

import io
from itertools import count

from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from core import services as core_services
from registry import demo, services
from registry.models import ModelVersion, Organisation, SmallAIModel

_serial = count(1)
PASSWORD = "pw-for-tests-123"  # the password of every user make_user creates


def make_user(role: str | None, *, organisation: Organisation | None = None, **extra) -> User:
    n = next(_serial)
    user = User.objects.create_user(
        username=extra.pop("username", f"{role or 'nobody'}{n}"),
        password=PASSWORD,
        **extra,
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    if organisation is not None:
        organisation.members.add(user)
    return user


def make_api_token(user: User, *, name: str = "tests", expires_in_days: int | None = None) -> str:
    """The key of a new API token of the user, as the token page creates it."""
    _, key = core_services.api_token_create(user=user, name=name, expires_in_days=expires_in_days)
    return key


def token_client(user: User) -> APIClient:
    """An API client holding a new API token of the user, as external systems call."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {make_api_token(user)}")
    return client


def token_client_by_password(user: User, password: str) -> APIClient:
    """An API client holding a token got from POST /api/v1/auth/token/, as scripts get one."""
    client = APIClient()
    answer = client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": password}, format="json"
    )
    assert answer.status_code == 200, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


def session_client(user: User) -> APIClient:
    """An API client signed in with a real session, as the portal's pages call."""
    client = APIClient()
    client.force_login(user)
    return client


def make_organisation(name: str | None = None) -> Organisation:
    return services.organisation_create(name=name or f"Operator {next(_serial)}")


def demo_model(kind: str) -> demo.DemoModel:
    """'onnx' (cell load), 'skops' (anomaly), 'trees' (forest); each trained once per process."""
    builders = {
        "onnx": demo.cell_load_model,
        "skops": demo.kpi_anomaly_model,
        "trees": demo.handover_failure_model,
    }
    return builders[kind]()


SAM_FIELDS = {
    "description": "Predicts next-hour cell load from current KPIs for energy saving.",
    "inference_type": "NWDAF_ANALYTICS",
    "inference_name": "NF_LOAD",
    "domain": "RAN",
    "region": "North",
    "scenario": "Energy saving",
    "licence": "Apache-2.0",
    "intended_use": "Forecast cell load one hour ahead.",
    "limitations": "Synthetic training data.",
}
PERFORMANCE = [
    {"inference_output_name": "variable", "performance_metric": "MAE", "performance_score": 2.5}
]


def make_model(provider: User, *, name: str | None = None, **fields) -> SmallAIModel:
    organisation = provider.organisations.first()
    return services.sam_create(
        user=provider,
        organisation=organisation,
        tags=fields.pop("tags", ["load"]),
        **{"name": name or f"Model {next(_serial)}", **SAM_FIELDS, **fields},
    )


def make_draft(
    provider: User, *, sam: SmallAIModel | None = None, version: str = "1.0.0", **fields
) -> ModelVersion:
    sam = sam or make_model(provider)
    return services.version_create(
        sam=sam,
        user=provider,
        version=version,
        performance=fields.pop("performance", PERFORMANCE),
        training_context=fields.pop("training_context", {"dataset": "synthetic"}),
        **fields,
    )


def upload(version: ModelVersion, provider: User, kind: str = "onnx") -> ModelVersion:
    model = demo_model(kind)
    return services.version_artifact_upload(
        version_id=version.pk,
        user=provider,
        stream=io.BytesIO(model.content),
        filename=model.filename,
    )


def make_version_in(
    state: str,
    *,
    provider: User,
    auditor: User,
    kind: str = "onnx",
    with_file: bool = True,
    **fields,
) -> ModelVersion:
    """A version carried through the lifecycle up to `state` by the given people; past DRAFT
    it has its model file of `kind` (uploaded while a DRAFT, as the audit needs) unless
    `with_file` is false (then it can only be registered as an external endpoint)."""
    version = make_draft(provider, **fields)
    steps = ["SUBMITTED", "APPROVED", "REGISTERED", "RELEASED", "DEPRECATED", "RETIRED"]
    if state == "DRAFT":
        return version
    if with_file:
        version = upload(version, provider, kind)
    if state == "REJECTED":
        services.version_submit(version_id=version.pk, user=provider)
        return services.version_reject(
            version_id=version.pk,
            user=auditor,
            reason="Incomplete",
            findings=[{"field": "limitations", "message": "Say which cells it was not tested on."}],
        )
    for step in steps[: steps.index(state) + 1]:
        if step == "SUBMITTED":
            version = services.version_submit(version_id=version.pk, user=provider)
        elif step == "APPROVED":
            version = services.version_approve(version_id=version.pk, user=auditor)
        elif step == "REGISTERED":
            version = services.version_register(
                version_id=version.pk, user=provider, access_type="MODEL_FILE"
            )
        elif step == "RELEASED":
            version = services.version_release(version_id=version.pk, user=provider)
        elif step == "DEPRECATED":
            version = services.version_deprecate(version_id=version.pk, user=provider)
        elif step == "RETIRED":
            version = services.version_retire(version_id=version.pk, user=provider)
    return version


def make_released(
    provider: User, auditor: User, *, performance=PERFORMANCE, **fields
) -> ModelVersion:
    """A released version without a file (external endpoint), quick enough to make many."""
    sam = make_model(provider, **fields)
    return release(make_draft(provider, sam=sam, performance=performance), provider, auditor)


def release(version: ModelVersion, provider: User, auditor: User) -> ModelVersion:
    """A DRAFT without a file carried to RELEASED as an external endpoint."""
    services.version_submit(version_id=version.pk, user=provider)
    services.version_approve(version_id=version.pk, user=auditor)
    services.version_register(
        version_id=version.pk,
        user=provider,
        access_type="EXTERNAL_ENDPOINT",
        endpoint_url="https://inference.example.net/v1/predict",
    )
    return services.version_release(version_id=version.pk, user=provider)
