"""Badges of the sharing methods (ENI SAM clause 6.1) for the portal templates."""

from django import template

from registry.models import ModelVersion
from sharing import selectors
from sharing.models import SharingMethod

register = template.Library()


@register.filter
def version_methods(version: ModelVersion) -> list[str]:
    """The sharing methods a released version offers."""
    return selectors.version_sharing_methods(version)


@register.inclusion_tag("sharing/_method_badges.html")
def method_badges(methods) -> dict:
    return {"methods": [SharingMethod(m) for m in methods]}
