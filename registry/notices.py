"""What the registry tells people (core.notices), called by registry.services inside the
transaction of the change: the auditors who may take up a submission, and the model's providers
of the audit's decision."""

from django.contrib.auth.models import User
from django.urls import reverse

from core.models import NoticeKind
from core.notices import notice_send
from registry import selectors
from registry.checklist import REGISTRATION_FIELDS
from registry.models import ModelVersion, VersionStatus


def _version_url(version: ModelVersion) -> str:
    return reverse("registry:model-detail", args=[version.sam.slug]) + f"#v-{version.pk}"


def _providers_of(version: ModelVersion) -> set[int]:
    """Whoever submitted the version and made it, and the model's organisation: its providers
    register and release an approved version, or revise a rejected one."""
    parties = {version.created_by_id, version.submitted_by_id, version.artifact_uploaded_by_id}
    members = version.sam.organisation.members.values_list("pk", flat=True)
    return (parties | set(members)) - {None}


def submission_waiting(*, version: ModelVersion, actor: User) -> None:
    """A version was submitted: the auditors who may audit it have one more in their queue."""
    notice_send(
        users=selectors.auditors_of(version).values_list("pk", flat=True),
        kind=NoticeKind.SUBMISSION_WAITING,
        title=f"{version.sam.name} {version.version} waits for an audit",
        body=f"Submitted by {actor.get_username()} for {version.sam.organisation}.",
        url=reverse("registry:audit-version", args=[version.pk]),
        actor=actor,
    )


def audit_decided(*, version: ModelVersion, actor: User, reason: str, findings: list[dict]) -> None:
    """The audit approved or rejected the version (its status says which)."""
    approved = version.status == VersionStatus.APPROVED
    lines = [f"{'Approved' if approved else 'Rejected'} by {actor.get_username()}."]
    if reason.strip():
        lines.append(f"Reason: {reason.strip()}")
    lines += [
        f"- {REGISTRATION_FIELDS.get(f['field'], f['field'])}: {f['message']}" for f in findings
    ]
    lines.append(
        "Next: register the version and release it."
        if approved
        else "Next: revise the version, fix what the findings name and submit it again."
    )
    notice_send(
        users=_providers_of(version),
        kind=NoticeKind.AUDIT_APPROVED if approved else NoticeKind.AUDIT_REJECTED,
        title=(
            f"{version.sam.name} {version.version} "
            + ("passed the audit" if approved else "was rejected by the audit")
        ),
        body="\n".join(lines),
        url=_version_url(version),
        actor=actor,
    )
