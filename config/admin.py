"""SAM Hub's admin site: the portal's name and colours, links to the portal and the API docs,
the operators' dashboard, and the operators' part of the portal's home (core.home), which
shows the dashboard's health figures.

It sits in config because the dashboard reads every app (registry's lifecycle, sharing's
subscriptions and builds, Celery's workers) and no app may depend on all the others.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from config.celery import workers_answering
from registry import permissions
from registry import selectors as registry_selectors
from registry.models import VersionStatus
from sharing import selectors as sharing_selectors

# How long the dashboard waits for workers to answer a ping: long enough for a worker busy with
# a build (its control thread answers beside the task), short enough for a page.
WORKER_PING_TIMEOUT_SECONDS = 1.0
# Rows of waiting subscriptions and unfinished builds the dashboard lists.
DASHBOARD_ROWS = 10
# The operators' part of the portal's home: fewer rows, and its ping stops at the first worker
# that answers (when none does, the page waits the whole timeout, as the dashboard does).
HOME_ROWS = 5
HOME_PING_TIMEOUT_SECONDS = WORKER_PING_TIMEOUT_SECONDS


def operations_health(*, rows: int, ping_timeout: float, first_worker: bool = False) -> dict:
    """What the dashboard shows, and the operators' part of the portal's home: versions per
    state, subscriptions waiting for a grant and unfinished package builds (their counts and
    the `rows` oldest), and the workers answering a ping (`first_worker`: stop at the first,
    enough to tell that one is there)."""
    waiting = sharing_selectors.subscriptions_waiting_for_grant()
    builds = sharing_selectors.package_builds_unfinished()
    return {
        "now": timezone.now(),
        "states": registry_selectors.version_states_summary(),
        "waiting_count": waiting.count(),
        "waiting": waiting[:rows],
        "builds_count": builds.count(),
        "builds": builds[:rows],
        "workers": workers_answering(ping_timeout, limit=1 if first_worker else None),
        "ping_timeout": ping_timeout,
    }


def home_operations(request) -> dict:
    """The operators' part of the portal's home (core.home): the platform's health at a
    glance, and the way to the dashboard."""
    health = operations_health(
        rows=HOME_ROWS, ping_timeout=HOME_PING_TIMEOUT_SECONDS, first_worker=True
    )
    by_state = {state["status"]: state for state in health["states"]}
    return {**health, "submitted": by_state[VersionStatus.SUBMITTED]}


class SamHubAdminSite(admin.AdminSite):
    site_header = "SAM Hub administration"
    site_title = "SAM Hub admin"
    index_title = "Operations"
    site_url = "/"

    def get_urls(self):
        dashboard = path("dashboard/", self.admin_view(self.dashboard_view), name="dashboard")
        return [dashboard, *super().get_urls()]

    def dashboard_view(self, request):
        """Where the work waits: versions per state, subscription requests, package builds,
        and whether a worker is there to build."""
        if not permissions.is_operator(request.user):
            raise PermissionDenied("The dashboard is for operators.")
        context = {
            **self.each_context(request),
            "title": "Dashboard",
            "subtitle": None,
            **operations_health(rows=DASHBOARD_ROWS, ping_timeout=WORKER_PING_TIMEOUT_SECONDS),
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/dashboard.html", context)

    def each_context(self, request):
        context = super().each_context(request)
        context["shows_dashboard"] = permissions.is_operator(request.user)
        return context
