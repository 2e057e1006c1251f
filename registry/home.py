"""The registry's sections of the portal's home (core.home): a provider's models with their
versions by state and the audit findings waiting to be fixed; an auditor's queue with the age
of each submission, and the decisions they made."""

from django.http import HttpRequest
from django.utils import timezone

from registry import selectors
from registry.models import VersionStatus

HOME_ROWS = 10  # rows of each list; the full list is a link away


def provider_models(request: HttpRequest) -> dict:
    user = request.user
    counts = selectors.organisation_version_counts(user)
    totals: dict[str, int] = {}
    for by_state in counts.values():
        for status, count in by_state.items():
            totals[status] = totals.get(status, 0) + count
    to_fix = selectors.versions_with_findings(user)
    sams = selectors.organisation_models(user)
    return {
        "has_organisation": user.organisations.exists(),
        # In lifecycle order, only the states some version is in.
        "totals": [(s.value, s.label, totals[s]) for s in VersionStatus if totals.get(s)],
        "models": [
            {
                "sam": sam,
                "states": [
                    (s.value, s.label, counts[sam.pk][s])
                    for s in VersionStatus
                    if counts.get(sam.pk, {}).get(s)
                ],
            }
            for sam in sams[:HOME_ROWS]
        ],
        "models_count": sams.count(),
        "to_fix": [
            {"version": version, "rejection": version.rejections[0]}
            for version in to_fix[:HOME_ROWS]
        ],
        "to_fix_count": to_fix.count(),
    }


def auditor_audits(request: HttpRequest) -> dict:
    queue = selectors.audit_queue(request.user)
    return {
        "now": timezone.now(),
        "queue": list(queue[:HOME_ROWS]),
        "queue_count": queue.count(),
        "decisions": list(selectors.audits_by(request.user)[:HOME_ROWS]),
    }
