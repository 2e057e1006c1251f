"""The extension point of the registry: how apps built on it (sharing, training) add to its
pages, its API answers and its downloads while the registry never imports them
(registry ← sharing ← training).

An app registers its additions from its AppConfig.ready(); the registry reads these lists when
it renders a page or an answer, or calls them when a version is released, deprecated or
retired. Nine kinds:

- model_page_section_add(ModelPageSection(template, context)): a section of the model page,
  under "About the model". `context(request, sam)` returns the template's context, or None to
  show nothing; the template is rendered with the request (CSRF token, user).
- catalog_card_template_add(template): a template included in each catalog card, with the
  card's released version as `v`.
- api_field_add(shape, name, field): a read-only field of the registry's API answers. `shape`
  is "model" (a model's detail), "version" or "catalog" (a catalog entry); `field()` makes a DRF
  field whose representation is computed from the whole object (source="*"), annotated for
  the schema (drf_spectacular's extend_schema_field).
- artifact_download_check_add(check): called as `check(user=..., version=...)` before the
  registry hands out a version's model file to someone who can see the version; it refuses
  with DomainError (e.g. 403 without a subscription) and may log the delivery.
- upload_route_add(UploadRoute(url_name, max_bytes, what)): a route that takes a file larger
  than DATA_UPLOAD_MAX_MEMORY_SIZE from a signed-in user; registry.middleware lets its body
  through up to `max_bytes()` (read when a request comes, so tests may change the setting)
  plus multipart overhead, as it does for model files. Training's dataset uploads use it.
- version_link_add(VersionLink(label, url_name, visible)): a link in each version's panel of
  the model page to a page of another app about that version (`reverse(url_name, args=[pk])`),
  shown when `visible(user, version)`. Monitoring's page uses it.
- version_action_add(VersionAction(label, url, visible)): an action on a version that another
  app offers (`url(version)`, shown when `visible(user, version)`), for the pages of sibling
  apps about the version, which may not import each other: training adds "Start retraining"
  and monitoring's page shows it.

- version_released_add(callback): called as `callback(version=...)` when a version is
  released (registry.services.version_release), after the release is saved and inside its
  transaction: queue slow work with transaction.on_commit. Training
  uses it to tell a consumer that the version their retraining produced is released.
- version_withdrawn_add(callback): called as `callback(version=..., actor=..., reason=...)`
  when a RELEASED version is deprecated or a DEPRECATED one retired (registry.services;
  `version.status` says which), inside the service's transaction. Sharing uses it to tell the
  model's subscribers (sharing.notices).

Sharing uses the first four (sharing.apps): the subscribe section and the sharing methods on the
model page, method badges on catalog cards, `sharing_methods` in the API, and the BUNDLE
subscription a download of the model file needs.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework import serializers

from registry.models import ModelVersion, SmallAIModel

ApiShape = Literal["model", "version", "catalog"]


@dataclass(frozen=True)
class ModelPageSection:
    template: str
    context: Callable[[HttpRequest, SmallAIModel], dict | None]


model_page_sections: list[ModelPageSection] = []
catalog_card_templates: list[str] = []
api_fields: dict[str, list[tuple[str, Callable[[], serializers.Field]]]] = {
    "model": [],
    "version": [],
    "catalog": [],
}
artifact_download_checks: list[Callable[..., object]] = []


def model_page_section_add(section: ModelPageSection) -> None:
    model_page_sections.append(section)


def catalog_card_template_add(template: str) -> None:
    catalog_card_templates.append(template)


def api_field_add(shape: ApiShape, name: str, field: Callable[[], serializers.Field]) -> None:
    api_fields[shape].append((name, field))


def artifact_download_check_add(check: Callable[..., object]) -> None:
    """`check(user=..., version=...)`, raising DomainError to refuse."""
    artifact_download_checks.append(check)


@dataclass(frozen=True)
class UploadRoute:
    url_name: str  # with its namespace, e.g. "api:dataset-list"
    max_bytes: Callable[[], int]
    what: str  # how the refusal names the file, e.g. "for a dataset"


upload_routes: dict[str, UploadRoute] = {}


def upload_route_add(route: UploadRoute) -> None:
    upload_routes[route.url_name] = route


@dataclass(frozen=True)
class VersionLink:
    label: str
    url_name: str  # with its namespace, taking the version's id
    visible: Callable[[User, ModelVersion], bool]


version_links: list[VersionLink] = []


def version_link_add(link: VersionLink) -> None:
    version_links.append(link)


@dataclass(frozen=True)
class VersionAction:
    label: str
    url: Callable[[ModelVersion], str]
    visible: Callable[[User, ModelVersion], bool]


version_actions: list[VersionAction] = []


def version_action_add(action: VersionAction) -> None:
    version_actions.append(action)


def version_actions_for(user: User, version: ModelVersion) -> list[dict]:
    """The actions on the version the user may take, as {"label", "url"}."""
    return [
        {"label": a.label, "url": a.url(version)}
        for a in version_actions
        if a.visible(user, version)
    ]


def artifact_download_check(*, user: User, version: ModelVersion) -> None:
    for check in artifact_download_checks:
        check(user=user, version=version)


version_released_callbacks: list[Callable[..., object]] = []


def version_released_add(callback: Callable[..., object]) -> None:
    """`callback(version=...)` after a version is released."""
    version_released_callbacks.append(callback)


def version_released(*, version: ModelVersion) -> None:
    for callback in version_released_callbacks:
        callback(version=version)


version_withdrawn_callbacks: list[Callable[..., object]] = []


def version_withdrawn_add(callback: Callable[..., object]) -> None:
    """`callback(version=..., actor=..., reason=...)` after a version is deprecated or retired."""
    version_withdrawn_callbacks.append(callback)


def version_withdrawn(*, version: ModelVersion, actor: User, reason: str) -> None:
    for callback in version_withdrawn_callbacks:
        callback(version=version, actor=actor, reason=reason)
