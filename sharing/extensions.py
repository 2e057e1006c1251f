"""The extension point of sharing: how the apps built on it (training, monitoring) add to its
pages — where a consumer uses a subscription, and a version's usage — while sharing never
imports them (registry ← sharing ← training, monitoring).

An app registers from its AppConfig.ready():

- use_page_section_add(method, UsePageSection(template, context)): what the use page of an
  ACTIVE subscription by `method` shows, below its heading. `context(request, subscription,
  version)` returns the template's context, or None to show nothing; the template is rendered
  with the request (CSRF token, user). `version` is the version the subscription works on
  (sharing.selectors.subscription_version). Training adds the retraining section for
  RETRAINING subscriptions: the consumer's datasets, the form that starts a retraining, its
  progress, and the notice of a retrained version released.
- usage_page_section_add(UsagePageSection(template, context)): a section of a released
  version's usage page (sharing.views.version_usage), below the usage charts.
  `context(request, version, window)` returns the template's context, or None to show
  nothing; `window` (sharing.usage.UsageWindow) holds the periods the page shows, so that a
  section draws the same ones. Monitoring adds the accuracy measured against ground truth.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string

from registry.models import ModelVersion
from sharing.models import Subscription
from sharing.usage import UsageWindow


@dataclass(frozen=True)
class UsePageSection:
    template: str
    context: Callable[[HttpRequest, Subscription, ModelVersion], dict | None]


use_page_sections: dict[str, list[UsePageSection]] = {}


def use_page_section_add(method: str, section: UsePageSection) -> None:
    use_page_sections.setdefault(method, []).append(section)


def use_page_sections_for(
    request: HttpRequest, subscription: Subscription, version: ModelVersion
) -> list[str]:
    """The rendered sections shown for the subscription's method."""
    return [
        render_to_string(section.template, context, request)
        for section in use_page_sections.get(subscription.method, [])
        if (context := section.context(request, subscription, version)) is not None
    ]


@dataclass(frozen=True)
class UsagePageSection:
    template: str
    context: Callable[[HttpRequest, ModelVersion, UsageWindow], dict | None]


usage_page_sections: list[UsagePageSection] = []


def usage_page_section_add(section: UsagePageSection) -> None:
    usage_page_sections.append(section)


def usage_page_sections_for(
    request: HttpRequest, version: ModelVersion, window: UsageWindow
) -> list[str]:
    """The rendered sections of the version's usage page."""
    return [
        render_to_string(section.template, context, request)
        for section in usage_page_sections
        if (context := section.context(request, version, window)) is not None
    ]
