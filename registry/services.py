"""Registry writes: one function per business action of ENI SAM centralised management."""

import hashlib
from collections.abc import Callable, Iterable
from typing import BinaryIO

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from core.errors import DomainError
from core.transitions import transition_apply
from registry import artifacts, extensions, notices, permissions, selectors
from registry.checklist import REGISTRATION_FIELDS, submission_blockers, version_checklist
from registry.models import (
    AccessType,
    AuditDecision,
    AuditReview,
    ModelPerformance,
    ModelVersion,
    Organisation,
    SmallAIModel,
    Tag,
    VersionStatus,
)

SAM_FIELDS = (
    "name",
    "description",
    "inference_type",
    "inference_name",
    "domain",
    "region",
    "scenario",
    "licence",
    "intended_use",
    "limitations",
    "approval_required",
)
VERSION_FIELDS = ("version", "release_notes", "training_context")
# The model's fields an auditor checks (and can name in a finding); approval_required is a
# sharing setting, not part of the audit.
AUDITED_SAM_FIELDS = tuple(name for name in SAM_FIELDS if name in REGISTRATION_FIELDS)
# The model file is part of what is audited: it is uploaded while the version is a DRAFT and
# frozen from SUBMITTED on; a different file needs a new version.
ARTIFACT_UPLOAD_STATES = (VersionStatus.DRAFT,)


def _validated_save(instance) -> None:
    # A protected FSM field refuses the re-assignment clean_fields() does; it is never user input.
    exclude = ["status"] if isinstance(instance, ModelVersion) else None
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise DomainError(
            "Some fields are not valid.", code="invalid", details=exc.message_dict
        ) from None
    instance.save()


def _set_tags(sam: SmallAIModel, tags: Iterable[str]) -> None:
    names = sorted({slugify(t) for t in tags if slugify(t)})
    sam.tags.set([Tag.objects.get_or_create(name=name)[0] for name in names])


def sam_slug(*, organisation: Organisation, name: str) -> str:
    """A unique slug "<organisation slug>--<name slug>" that reveals no other organisation's
    models.

    slugify() never yields "--" nor a leading "-", so the last "--" of a slug separates the
    two parts: models of different organisations never get the same slug, and the numbered
    suffix is only needed against the creator's own organisation's models, which its
    providers see anyway. (A global "<name>-2" told an outsider that a hidden model of that
    name existed.) The loop looks at every slug all the same: after an operator renames an
    organisation's slug, another organisation may take the old one.
    """
    base = slugify(name)[:200].rstrip("-_") or "model"
    slug, n = f"{organisation.slug}--{base}", 1
    while SmallAIModel.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{organisation.slug}--{base}-{n}"
    return slug


@transaction.atomic
def sam_create(
    *, user: User, organisation: Organisation, tags: Iterable[str] = (), **fields
) -> SmallAIModel:
    """Sign a new SAM in for the provider's organisation (ENI SAM clause 5, step 1)."""
    if not permissions.can_create_model(user, organisation):
        raise DomainError.not_allowed(
            f"You cannot create models for {organisation}: you are not one of its providers."
        )
    unknown = set(fields) - set(SAM_FIELDS)
    if unknown:
        raise DomainError(f"Unknown model fields: {', '.join(sorted(unknown))}.")
    sam = SmallAIModel(
        organisation=organisation,
        created_by=user,
        slug=sam_slug(organisation=organisation, name=fields.get("name", "")),
        **fields,
    )
    _validated_save(sam)
    _set_tags(sam, tags)
    return sam


@transaction.atomic
def sam_update(
    *, sam: SmallAIModel, user: User, tags: Iterable[str] | None = None, **fields
) -> SmallAIModel:
    if not permissions.can_edit_model(sam, user):
        raise DomainError.not_allowed("Only providers of the model's organisation can change it.")
    unknown = set(fields) - set(SAM_FIELDS)
    if unknown:
        raise DomainError(f"Unknown model fields: {', '.join(sorted(unknown))}.")
    # The model's row lock orders this against lifecycle steps, which lock it with the version
    # (select_related rows are locked too), so the versions' states read below stay true.
    # Compared with the stored row: the caller's instance may hold the new values already.
    stored = SmallAIModel.objects.select_for_update().get(pk=sam.pk)
    _check_audited_fields_unfrozen(stored, fields, tags)
    for name, value in fields.items():
        setattr(sam, name, value)
    _validated_save(sam)
    if tags is not None:
        _set_tags(sam, tags)
    return sam


def _check_audited_fields_unfrozen(
    sam: SmallAIModel, fields: dict, tags: Iterable[str] | None
) -> None:
    """Refuse a change to the model's audited fields while an audit of them is pending or its
    approval unreleased, and after a release unless a new revision (a DRAFT) carries it."""
    changed = [
        name for name in AUDITED_SAM_FIELDS if name in fields and fields[name] != getattr(sam, name)
    ]
    if tags is not None:
        wanted = {slugify(t) for t in tags if slugify(t)}
        if wanted != set(sam.tags.values_list("name", flat=True)):
            changed.append("tags")
    if not changed:
        return
    frozen = selectors.sam_audit_freeze(sam)
    if frozen:
        labels = ", ".join(REGISTRATION_FIELDS[name] for name in changed)
        raise DomainError.conflict(
            f"{frozen} Not changed: {labels}.",
            details={name: ["frozen: the audit covers it"] for name in changed},
        )


def _set_performance(version: ModelVersion, performance: Iterable[dict]) -> None:
    performance = list(performance)
    keys = [(e.get("inference_output_name"), e.get("performance_metric")) for e in performance]
    if len(set(keys)) != len(keys):
        raise DomainError(
            "Each output and metric may be scored once.",
            details={"performance": ["the same inferenceOutputName and performanceMetric twice"]},
        )
    version.performance.all().delete()
    for entry in performance:
        row = ModelPerformance(
            version=version,
            inference_output_name=entry.get("inference_output_name", ""),
            performance_metric=entry.get("performance_metric", ""),
            performance_score=entry.get("performance_score"),
            decision_confidence_score=entry.get("decision_confidence_score"),
        )
        try:
            row.full_clean(exclude=["version"])
        except ValidationError as exc:
            raise DomainError(
                "A performance entry is not valid.", details={"performance": exc.message_dict}
            ) from None
        row.save()


def _may_add_version(sam: SmallAIModel, user: User, granted_by: str) -> bool:
    """Providers of the model's organisation add versions; so may someone else when a higher
    app's service has checked a grant and names it in `granted_by` (training: the version a
    consumer's retraining produced under their RETRAINING subscription)."""
    return bool(granted_by.strip()) or permissions.can_add_version(sam, user)


def _version_row_create(
    *, sam: SmallAIModel, user: User, version: str, parent, performance, fields, granted_by=""
) -> ModelVersion:
    if not _may_add_version(sam, user, granted_by):
        raise DomainError.not_allowed(
            "Only providers of the model's organisation can add versions."
        )
    if parent is not None and parent.sam_id != sam.pk:
        raise DomainError(
            "The parent version belongs to another model.", details={"parent": ["other model"]}
        )
    if ModelVersion.objects.filter(sam=sam, version=version).exists():
        raise DomainError(
            f"{sam.name} already has a version {version}.", details={"version": ["already exists"]}
        )
    created = ModelVersion(sam=sam, version=version, parent=parent, created_by=user, **fields)
    _validated_save(created)
    _set_performance(created, performance)
    return created


def version_create(
    *,
    sam: SmallAIModel,
    user: User,
    version: str,
    parent: ModelVersion | None = None,
    performance: Iterable[dict] = (),
    artifact: tuple[BinaryIO, str] | None = None,
    granted_by: str = "",
    **fields,
) -> ModelVersion:
    """Start a new DRAFT version of a SAM, optionally derived from a parent version and with
    its model file (stream, filename); a refused file leaves no version behind. `granted_by`
    names what lets a user outside the model's organisation add it (_may_add_version)."""
    if not _may_add_version(sam, user, granted_by):
        raise DomainError.not_allowed(
            "Only providers of the model's organisation can add versions."
        )
    checked = (
        artifacts.artifact_check(stream=artifact[0], filename=artifact[1]) if artifact else None
    )
    try:
        with transaction.atomic():
            created = _version_row_create(
                sam=sam, user=user, version=version, parent=parent, performance=performance,
                fields=fields, granted_by=granted_by,
            )  # fmt: skip
        return _artifact_attach(created.pk, user, checked, granted_by) if checked else created
    finally:
        if checked:
            checked.discard()


def version_discard(*, version_id: int, user: User, granted_by: str = "") -> None:
    """Delete a DRAFT version nobody has submitted nor derived from, and its model file when
    no other version holds the same bytes: what a cancelled training leaves behind (the new
    version it had started). Only those who may add versions to the model discard one."""
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().select_related("sam").get(pk=version_id)
        if not _may_add_version(version.sam, user, granted_by):
            raise DomainError.not_allowed(
                "Only providers of the model's organisation can discard its versions."
            )
        if version.status != VersionStatus.DRAFT or version.transitions.exists():
            raise DomainError.conflict(
                f"Version {version.version} is {version.status} and has a history; only a new "
                "DRAFT can be discarded."
            )
        if version.children.exists():
            raise DomainError.conflict(f"Version {version.version} has versions derived from it.")
        name = version.artifact.name
        version.delete()
        shared = bool(name) and ModelVersion.objects.filter(artifact=name).exists()
    if name and not shared:
        default_storage.delete(name)  # after the commit: slow I/O stays outside the transaction


def sam_register(
    *,
    user: User,
    organisation: Organisation,
    sam_fields: dict,
    tags: Iterable[str] = (),
    version: str,
    version_fields: dict | None = None,
    performance: Iterable[dict] = (),
    artifact: tuple[BinaryIO, str] | None = None,
) -> ModelVersion:
    """Sign in a SAM with its first version and, optionally, its model file in one step
    (ENI SAM clause 5, step 1): all of it is created, or nothing."""
    if not permissions.can_create_model(user, organisation):
        raise DomainError.not_allowed(
            f"You cannot create models for {organisation}: you are not one of its providers."
        )
    checked = (
        artifacts.artifact_check(stream=artifact[0], filename=artifact[1]) if artifact else None
    )
    try:
        with transaction.atomic():
            sam = sam_create(user=user, organisation=organisation, tags=tags, **sam_fields)
            created = _version_row_create(
                sam=sam, user=user, version=version, parent=None, performance=performance,
                fields=version_fields or {},
            )  # fmt: skip
        return _artifact_attach(created.pk, user, checked) if checked else created
    finally:
        if checked:
            checked.discard()


@transaction.atomic
def version_revision_save(
    *,
    version_id: int,
    user: User,
    sam_fields: dict,
    tags: Iterable[str] | None = None,
    version_fields: dict,
    performance: Iterable[dict] | None = None,
) -> ModelVersion:
    """Save a provider's revision of a DRAFT: its model's fields and its own, both or neither."""
    version = ModelVersion.objects.select_related("sam").get(pk=version_id)
    sam_update(sam=version.sam, user=user, tags=tags, **sam_fields)
    return version_update(
        version_id=version_id, user=user, performance=performance, **version_fields
    )


@transaction.atomic
def version_update(
    *, version_id: int, user: User, performance: Iterable[dict] | None = None, **fields
) -> ModelVersion:
    """Edit a DRAFT version (the provider's revision after a rejection happens here)."""
    version = ModelVersion.objects.select_for_update().select_related("sam").get(pk=version_id)
    if not permissions.can_edit_version(version, user):
        raise DomainError.not_allowed("Only providers of the model's organisation can edit it.")
    if version.status != VersionStatus.DRAFT:
        raise DomainError.conflict(
            f"Version {version.version} is {version.status}; only a DRAFT can be edited."
        )
    unknown = set(fields) - set(VERSION_FIELDS)
    if unknown:
        raise DomainError(f"Unknown version fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(version, name, value)
    _validated_save(version)
    if performance is not None:
        _set_performance(version, performance)
    return version


def version_artifact_upload(
    *, version_id: int, user: User, stream: BinaryIO, filename: str
) -> ModelVersion:
    """Validate an uploaded model file and put it into the warehouse (ENI SAM clause 5, step 4).

    The slow part (spooling, checking, storing) runs outside any transaction; a refused file
    leaves nothing behind.
    """
    version = ModelVersion.objects.select_related("sam").get(pk=version_id)
    _check_artifact_upload_allowed(version, user)
    checked = artifacts.artifact_check(stream=stream, filename=filename)
    try:
        return _artifact_attach(version_id, user, checked)
    finally:
        checked.discard()


def _artifact_attach(
    version_id: int, user: User, checked: artifacts.CheckedArtifact, granted_by: str = ""
) -> ModelVersion:
    name = artifacts.artifact_store(checked)
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().select_related("sam").get(pk=version_id)
        _check_artifact_upload_allowed(version, user, granted_by)
        version.artifact.name = name
        version.artifact_filename = checked.filename
        version.artifact_format = checked.format
        version.artifact_sha256 = checked.sha256
        version.artifact_size = checked.size
        version.artifact_uploaded_by = user
        version.artifact_loaded_bytes = checked.loaded_bytes
        version.artifact_peak_memory = checked.peak_memory
        version.signature = checked.signature
        version.save()
    return version


def version_artifact_measure(*, version_id: int) -> ModelVersion:
    """Check a stored model file again in the checker process and record what loading it
    costs. For files stored before SAM Hub measured them (the web process refuses to load an
    unmeasured model); the file itself does not change, so neither does the audit. A file the
    checker now refuses stays unmeasured, and the error says why."""
    version = ModelVersion.objects.get(pk=version_id)
    if not version.artifact_sha256:
        raise DomainError.conflict(f"Version {version.version} has no model file to measure.")
    result = artifacts.artifact_measure_stored(
        name=version.artifact.name, sha256=version.artifact_sha256
    )
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        version.artifact_loaded_bytes = result["loaded_bytes"]
        version.artifact_peak_memory = result["peak_memory"]
        version.save(update_fields=["artifact_loaded_bytes", "artifact_peak_memory"])
    return version


def _check_artifact_upload_allowed(version: ModelVersion, user: User, granted_by: str = "") -> None:
    if not (granted_by.strip() or permissions.can_edit_version(version, user)):
        raise DomainError.not_allowed(
            "Only providers of the model's organisation can upload its files."
        )
    if version.status not in ARTIFACT_UPLOAD_STATES:
        raise DomainError.conflict(
            f"Version {version.version} is {version.status}; its model file is frozen from "
            "submission on, because the audit covers it. Upload a file while a version is a "
            "DRAFT: start a new version for a different file."
        )


def _version_transition(
    *,
    version_id: int,
    user: User,
    name: str,
    allowed: Callable[[ModelVersion, User], bool],
    reason: str = "",
    before: Callable[[ModelVersion], None] | None = None,
    kwargs: dict | None = None,
) -> ModelVersion:
    """Apply one lifecycle transition under a row lock and log it; refuse with a clear message."""
    return transition_apply(
        rows=ModelVersion.objects.select_related("sam"),
        pk=version_id,
        name=name,
        user=user,
        allowed=allowed,
        refusal=lambda version, user: _denial_message(name, version, user),
        label=lambda version: f"version {version.version}",
        log="transitions",
        changed_meanwhile=(
            f"Version {version_id} changed while you were working on it; reload and try again."
        ),
        reason=reason,
        before=before,
        kwargs=kwargs,
        next_step=_next_step_hint,
    )


def _next_step_hint(version: ModelVersion, needed: list[str]) -> str:
    """Who takes the one step from the version's state to a needed one, if there is one."""
    step = next(
        (
            t.name
            for t in version.get_all_status_transitions()
            if t.source == version.status and t.target in needed
        ),
        None,
    )
    if step is None:
        return ""
    who = permissions.who_takes(step, version)
    return f" {who[0].upper()}{who[1:]} must {step} it first."


def _denial_message(name: str, version: ModelVersion, user: User) -> str:
    if name in ("approve", "reject"):
        return permissions.audit_refusal(version, user) or "You cannot audit this version."
    return (
        f"You are not allowed to {name} versions of {version.sam.organisation}'s models: "
        f"{permissions.who_takes(name, version)} can."
    )


def _require_complete(version: ModelVersion) -> None:
    blockers = submission_blockers(version)
    if blockers:
        raise DomainError(
            "Required registration fields are missing or malformed: "
            + ", ".join(item.label for item in blockers)
            + ".",
            code="incomplete_registration",
            details={item.field: [item.message] for item in blockers},
        )


@transaction.atomic
def version_submit(*, version_id: int, user: User, granted_by: str = "") -> ModelVersion:
    """Send a DRAFT to the audit queue (ENI SAM clause 5, step 2). `granted_by`: as for
    version_create; it is logged as the submission's reason."""
    version = _version_transition(
        version_id=version_id,
        user=user,
        name="submit",
        allowed=(lambda v, u: True) if granted_by.strip() else permissions.can_submit,
        reason=granted_by.strip(),
        before=_require_complete,
        kwargs={"by": user},
    )
    notices.submission_waiting(version=version, actor=user)
    return version


@transaction.atomic
def version_approve(*, version_id: int, user: User, reason: str = "") -> ModelVersion:
    """Pass the audit: the registration fields meet the requirements (ENI SAM clause 5, step 2)."""
    version = _version_transition(
        version_id=version_id,
        user=user,
        name="approve",
        allowed=permissions.can_audit,
        reason=reason,
    )
    _record_review(version, user, AuditDecision.APPROVED, reason, [])
    notices.audit_decided(version=version, actor=user, reason=reason, findings=[])
    return version


def _clean_findings(findings: Iterable[dict]) -> list[dict]:
    cleaned = []
    for finding in findings:
        field, message = finding.get("field", ""), (finding.get("message") or "").strip()
        if field not in REGISTRATION_FIELDS:
            raise DomainError(
                f"A finding names an unknown field {field!r}.",
                details={
                    "findings": [
                        f"unknown field {field!r}; use one of {', '.join(REGISTRATION_FIELDS)}"
                    ]
                },
            )
        if not message:
            raise DomainError(
                f"The finding on {REGISTRATION_FIELDS[field]} needs a message.",
                details={"findings": [f"{field}: message is empty"]},
            )
        cleaned.append({"field": field, "message": message})
    return cleaned


def version_reject(
    *, version_id: int, user: User, reason: str, findings: Iterable[dict]
) -> ModelVersion:
    """Send a submission back with a reason and per-field findings for the provider to fix."""
    cleaned = _clean_findings(findings)
    if not reason.strip():
        raise DomainError("Say why the version is rejected.", details={"reason": ["required"]})
    if not cleaned:
        raise DomainError(
            "Name at least one field that fails and why.", details={"findings": ["at least one"]}
        )
    with transaction.atomic():
        version = _version_transition(
            version_id=version_id,
            user=user,
            name="reject",
            allowed=permissions.can_audit,
            reason=reason,
        )
        _record_review(version, user, AuditDecision.REJECTED, reason, cleaned)
        notices.audit_decided(version=version, actor=user, reason=reason, findings=cleaned)
    return version


def _record_review(
    version: ModelVersion, user: User, decision: str, reason: str, findings: list[dict]
) -> AuditReview:
    return AuditReview.objects.create(
        version=version,
        auditor=user,
        decision=decision,
        reason=reason,
        findings=findings,
        checklist=[item.as_dict() for item in version_checklist(version)],
        artifact_sha256=version.artifact_sha256,
    )


def version_revise(*, version_id: int, user: User) -> ModelVersion:
    """Take a REJECTED version back to DRAFT so the provider can fix the findings."""
    return _version_transition(
        version_id=version_id, user=user, name="revise", allowed=permissions.can_edit_version
    )


def _warehouse_copy(version_id: int) -> tuple[str, str | None]:
    """(storage name, sha256 of the bytes the warehouse holds under it now); ("", "") without
    a file and (name, None) when the file is gone. Read outside any transaction: it streams
    the whole file."""
    name = ModelVersion.objects.values_list("artifact", flat=True).get(pk=version_id) or ""
    if not name:
        return "", ""
    if not default_storage.exists(name):
        return name, None
    digest = hashlib.sha256()
    with default_storage.open(name, "rb") as stored:
        while chunk := stored.read(artifacts.CHUNK_SIZE):
            digest.update(chunk)
    return name, digest.hexdigest()


def _require_approved_file(version: ModelVersion, copy: tuple[str, str | None], action: str):
    """Refuse to register or release anything but the file the auditor approved."""
    approved = version.approved_sha256
    if version.artifact_sha256 != approved:
        raise DomainError(
            f"Cannot {action} version {version.version}: its model file (sha256 "
            f"{version.artifact_sha256 or 'none'}) is not the one its audit approved (sha256 "
            f"{approved or 'none'}). Start a new version for a different file.",
            code="artifact_not_approved",
            status=409,
        )
    name, stored = copy
    if version.artifact.name and (name != version.artifact.name or stored != approved):
        raise DomainError(
            f"Cannot {action} version {version.version}: the warehouse's copy of its model file "
            f"{'is missing' if stored is None else 'has sha256 ' + str(stored)}, not the approved "
            f"sha256 {approved}. An operator must restore the file.",
            code="artifact_not_approved",
            status=409,
        )


def version_register(
    *, version_id: int, user: User, access_type: str, endpoint_url: str = ""
) -> ModelVersion:
    """Fix the access type of an APPROVED version and register it (ENI SAM clause 5, steps 3-4).
    The model file, if any, is the one the auditor approved: nothing is uploaded here."""
    if access_type not in AccessType.values:
        raise DomainError(
            f"Choose an access type: {', '.join(AccessType.values)}.",
            details={"access_type": ["invalid"]},
        )
    copy = _warehouse_copy(version_id)

    def set_access(version: ModelVersion) -> None:
        _require_approved_file(version, copy, "register")
        version.access_type = access_type
        version.endpoint_url = endpoint_url if access_type == AccessType.EXTERNAL_ENDPOINT else ""
        if access_type == AccessType.EXTERNAL_ENDPOINT:
            try:
                version.full_clean(
                    exclude=["status", "sam", "created_by", "parent", "submitted_by"]
                )
            except ValidationError as exc:
                raise DomainError(
                    "The endpoint URL is not valid.", details=exc.message_dict
                ) from None
            if not endpoint_url:
                raise DomainError(
                    "An external endpoint needs its URL.", details={"endpoint_url": ["required"]}
                )
        elif not version.artifact_sha256:
            raise DomainError(
                f"Version {version.version} was approved without a model file, so it can only "
                "be registered as an external endpoint. For the warehouse, start a new version "
                "with its file (files are uploaded while a version is a DRAFT, before the audit).",
                code="artifact_missing",
                details={"artifact": ["approved without a file"]},
            )

    return _version_transition(
        version_id=version_id,
        user=user,
        name="register",
        allowed=permissions.can_register,
        before=set_access,
    )


def version_release(*, version_id: int, user: User) -> ModelVersion:
    """Publish a REGISTERED version in the catalog (ENI SAM clause 5, step 5), provided its
    model file is still the one the auditor approved."""
    copy = _warehouse_copy(version_id)  # outside the transaction: it reads the whole file
    with transaction.atomic():
        version = _version_transition(
            version_id=version_id,
            user=user,
            name="release",
            allowed=permissions.can_release,
            before=lambda version: _require_approved_file(version, copy, "release"),
        )
        # What other apps do when a version joins the catalog (registry.extensions), e.g.
        # training tells the consumer whose retraining produced it.
        extensions.version_released(version=version)
    return version


@transaction.atomic
def version_deprecate(*, version_id: int, user: User, reason: str = "") -> ModelVersion:
    version = _version_transition(
        version_id=version_id,
        user=user,
        name="deprecate",
        allowed=permissions.can_retire,
        reason=reason,
    )
    extensions.version_withdrawn(version=version, actor=user, reason=reason)  # tells subscribers
    return version


@transaction.atomic
def version_retire(*, version_id: int, user: User, reason: str = "") -> ModelVersion:
    version = _version_transition(
        version_id=version_id,
        user=user,
        name="retire",
        allowed=permissions.can_retire,
        reason=reason,
    )
    extensions.version_withdrawn(version=version, actor=user, reason=reason)
    return version


def organisation_create(*, name: str, members: Iterable[User] = ()) -> Organisation:
    try:
        with transaction.atomic():
            organisation = Organisation(name=name, slug=slugify(name))
            _validated_save(organisation)
    except IntegrityError:
        raise DomainError(f"An organisation named {name} exists already.") from None
    organisation.members.add(*members)
    return organisation
