"""The extension point of sharing: how an app built on it (training) adds to the page where a
consumer uses a subscription, while sharing never imports it (registry ← sharing ← training).

An app registers from its AppConfig.ready():

- use_page_section_add(method, UsePageSection(template, context)): what the use page of an
  ACTIVE subscription by `method` shows, below its heading. `context(request, subscription,
  version)` returns the template's context, or None to show nothing; the template is rendered
  with the request (CSRF token, user). `version` is the version the subscription works on
  (sharing.selectors.subscription_version). Training adds the retraining section for
  RETRAINING subscriptions: the consumer's datasets, the form that starts a retraining, its
  progress, and the notice of a retrained version released.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string

from registry.models import ModelVersion
from sharing.models import Subscription


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
