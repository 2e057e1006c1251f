"""Warehouse extraction (ENI SAM clause 5 sharing, step 6): taking a version out of the
warehouse as its model file, an SDK wheel or a mirror bundle (clause 6.1), for those with an
active subscription by that method, and a log of every delivery.

SDK wheels and bundles are built once per version by a Celery task (sharing.tasks) and cached
in the warehouse; package_build() is what the task runs.
"""

import logging
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from core.errors import DomainError
from core.heartbeat import LOST_AFTER_BEATS, heartbeat_kept
from registry.models import AccessType, ModelVersion, VersionStatus
from sharing import notices, packaging, permissions
from sharing.models import (
    Delivery,
    DeliveryKind,
    PackageKind,
    PackageStatus,
    SharingMethod,
    Subscription,
    VersionPackage,
)
from sharing.services import sharing_access_check

logger = logging.getLogger(__name__)

# The subscription a delivery needs: the model file is the mirror download without its runtime.
DELIVERY_METHOD = {
    DeliveryKind.ARTIFACT: SharingMethod.BUNDLE,
    DeliveryKind.SDK: SharingMethod.SDK,
    DeliveryKind.BUNDLE: SharingMethod.BUNDLE,
}
PACKAGE_NAMES = {PackageKind.SDK: "SDK wheel", PackageKind.BUNDLE: "mirror bundle"}
# From REGISTERED on a version's model file can no longer change, so a package built from it
# stays valid; consumers only ever use RELEASED versions, and DEPRECATED ones that still serve
# their subscription (sharing_access_check) until they are retired.
PACKAGEABLE_STATES = (
    VersionStatus.REGISTERED,
    VersionStatus.RELEASED,
    VersionStatus.DEPRECATED,
    VersionStatus.RETIRED,
)
CONSUMABLE_STATES = (VersionStatus.RELEASED, VersionStatus.DEPRECATED)


def delivery_authorise(*, user: User, version: ModelVersion, kind: str) -> Subscription | None:
    """Let the user take the version out as `kind` and log the delivery; 403 without an active
    subscription by the matching method (providers, auditors and operators need none)."""
    subscription = sharing_access_check(user=user, version=version, method=DELIVERY_METHOD[kind])
    Delivery.objects.create(user=user, version=version, kind=kind, subscription=subscription)
    return subscription


def package_open(*, user: User, package: VersionPackage) -> File:
    """The READY package's file opened for reading, its delivery authorised and logged."""
    handle = default_storage.open(package.file.name, "rb")
    delivery_authorise(user=user, version=package.version, kind=DeliveryKind(package.kind))
    return handle


def _require_model_file(version: ModelVersion, kind: str) -> None:
    if version.access_type == AccessType.EXTERNAL_ENDPOINT or not version.artifact_sha256:
        raise DomainError.conflict(
            f"{version} has no model file in the warehouse (it is served by an external "
            f"endpoint), so there is no {PACKAGE_NAMES[kind]}; call it through the "
            "inference API."
        )


def _require_packageable_state(version: ModelVersion, user: User, kind: str) -> None:
    exempt = permissions.shares_without_subscription(version, user)
    allowed = PACKAGEABLE_STATES if exempt else CONSUMABLE_STATES
    if version.status not in allowed:
        raise DomainError.conflict(
            f"Version {version.version} is {version.status}; a {PACKAGE_NAMES[kind]} is "
            "built for released versions (its providers may build one from REGISTERED on, "
            "when the model file is final)."
        )


def package_request(
    *, user: User, version_id: int, kind: str, retry: bool = False
) -> VersionPackage:
    """The version's SDK wheel or bundle, queued for building if it does not exist yet or if
    its build was lost (no heartbeat); with `retry`, a failed build is queued again (and a
    queued one nudged)."""
    if kind not in PackageKind.values:
        raise DomainError(f"Choose a package kind: {', '.join(PackageKind.values)}.")
    version = ModelVersion.objects.select_related("sam", "sam__organisation").get(pk=version_id)
    _require_model_file(version, kind)  # nobody can subscribe to what does not exist
    sharing_access_check(user=user, version=version, method=DELIVERY_METHOD[kind])
    _require_packageable_state(version, user, kind)
    with transaction.atomic():
        package, created = VersionPackage.objects.get_or_create(
            version=version, kind=kind, defaults={"requested_by": user}
        )
        package = VersionPackage.objects.select_for_update().get(pk=package.pk)
        enqueue = created
        if retry and package.status == PackageStatus.FAILED:
            package.retry()
            package.requested_by = user
            package.save()
            enqueue = True
        elif retry and package.status == PackageStatus.PENDING:
            enqueue = True  # the queue may have lost the first message; building is idempotent
        elif package.build_lost():
            # Its process died and no message will bring it back (the folder broker loses a
            # dead worker's messages; Redis hands them back only after its visibility timeout).
            logger.warning(
                "Package %s: no heartbeat since %s, its build was lost; queueing it again",
                package,
                package.heartbeat_at,
            )
            package.fail()
            package.retry()
            package.save()
            enqueue = True
        if enqueue:
            _enqueue_build(package.pk)
    return package


def package_builds_resume() -> list[int]:
    """Queue a build task for every package still PENDING or BUILDING: run when a worker
    starts, because a worker that died may have taken their messages with it. A package whose
    build is alive elsewhere is left to it (package_build waits for its heartbeat)."""
    ids = list(
        VersionPackage.objects.filter(
            status__in=(PackageStatus.PENDING, PackageStatus.BUILDING)
        ).values_list("pk", flat=True)
    )
    for package_id in ids:
        _enqueue_build(package_id)
    return ids


def _enqueue_build(package_id: int) -> None:
    from sharing.tasks import package_build_task

    transaction.on_commit(lambda: package_build_task.delay(package_id))


def _locked(package_id: int) -> VersionPackage:
    return (
        VersionPackage.objects.select_for_update()
        .select_related("version", "version__sam", "version__sam__organisation")
        .get(pk=package_id)
    )


def package_build(*, package_id: int) -> VersionPackage:
    """Build and store a queued package. Idempotent: a READY or FAILED package is left alone,
    and so is one another live run is building; a BUILDING one whose run died (no heartbeat for
    LOST_AFTER_BEATS beats) is built again from the beginning."""
    claimed, package = _package_claim(package_id)
    if not claimed:
        return package
    # The slow part (copying the model, pip, compressing, storing) holds no lock or transaction.
    try:
        with (
            heartbeat_kept(
                VersionPackage.objects.filter(pk=package_id, status=PackageStatus.BUILDING),
                seconds=settings.SAMHUB_PACKAGE_HEARTBEAT_SECONDS,
                name=f"package-{package_id}",
            ),
            tempfile.TemporaryDirectory(prefix="samhub-package-") as tmp,
        ):
            built = packaging.package_build_file(package.version, package.kind, workdir=Path(tmp))
            name = packaging.package_store(built)
    except packaging.PackagingError as exc:
        return _package_fail(package_id, str(exc))
    except Exception as exc:
        logger.exception("Building package %s failed", package_id)
        return _package_fail(package_id, f"{type(exc).__name__}: {exc}")
    with transaction.atomic():
        package = _locked(package_id)
        if package.status != PackageStatus.BUILDING:  # another run finished it meanwhile
            return package
        package.finish()
        package.file.name = name
        package.filename = built.filename
        package.sha256 = built.sha256
        package.size = built.size
        package.save()
        notices.package_build_ended(package=package)
    logger.info("Built %s: %s (%s bytes)", package, name, built.size)
    return package


def _package_claim(package_id: int) -> tuple[bool, VersionPackage]:
    """(True, package) when this run is now the one building it: it was PENDING, or BUILDING
    by a run whose heartbeat stopped. A build that keeps beating belongs to a live run (a
    duplicate delivery, a Redis redelivery after the visibility timeout): wait a few beats for
    it, since a message handed back after its pool process was killed arrives before the dead
    run's heartbeat has gone stale, then leave it to that run."""
    beat = settings.SAMHUB_PACKAGE_HEARTBEAT_SECONDS
    deadline = time.monotonic() + (LOST_AFTER_BEATS + 1) * beat
    while True:
        with transaction.atomic():
            package = _locked(package_id)
            if package.status == PackageStatus.PENDING:
                package.start()
                package.save()
                return True, package
            if package.status != PackageStatus.BUILDING:
                return False, package
            if package.build_lost():
                logger.warning(
                    "Package %s: no heartbeat since %s, its build was lost; building it again",
                    package,
                    package.heartbeat_at,
                )
                package.restart()
                package.save()
                return True, package
        if time.monotonic() > deadline:
            logger.info("Package %s is being built by another live run", package)
            return False, package
        time.sleep(min(beat, 1))


def _package_fail(package_id: int, error: str) -> VersionPackage:
    with transaction.atomic():
        package = _locked(package_id)
        if package.status == PackageStatus.BUILDING:
            package.fail()
            package.error = error
            package.save()
            notices.package_build_ended(package=package)
    logger.warning("Package %s failed: %s", package_id, error)
    return package
