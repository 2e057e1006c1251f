"""Sharing's fields in the registry's API answers (added through registry.extensions)."""

from collections.abc import Callable

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from registry.models import ModelVersion, VersionStatus
from sharing import selectors
from sharing.models import SharingMethod


@extend_schema_field(
    serializers.ListField(child=serializers.ChoiceField(choices=SharingMethod.choices))
)
class SharingMethodsField(serializers.Field):
    """The sharing methods (ENI SAM clause 6.1) of the answer's object, as `methods(obj)`
    works them out."""

    def __init__(self, methods: Callable[[object], list[str]], **kwargs):
        self.methods = methods
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> list[str]:
        return self.methods(value)


def _released_version_methods(version: ModelVersion) -> list[str]:
    if version.status != VersionStatus.RELEASED:
        return []
    return selectors.version_sharing_methods(version)


def model_sharing_methods_field() -> SharingMethodsField:
    return SharingMethodsField(
        selectors.model_sharing_methods,
        help_text="What a subscription to the model can choose: the methods its latest release "
        "offers (none until a version is released).",
    )


def version_sharing_methods_field() -> SharingMethodsField:
    return SharingMethodsField(
        _released_version_methods,
        help_text="How the version is shared while it is RELEASED (empty otherwise).",
    )


def catalog_sharing_methods_field() -> SharingMethodsField:
    return SharingMethodsField(
        selectors.version_sharing_methods,
        help_text="How the version can be shared: INFERENCE, SDK, BUNDLE, RETRAINING.",
    )


def catalog_subscribers_field() -> serializers.IntegerField:
    # The catalog's versions carry the count (registry.extensions.catalog_count_add).
    return serializers.IntegerField(
        read_only=True, help_text="People with an active subscription to the model."
    )


def catalog_calls_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        read_only=True, help_text="Metered reasoning calls of the version, whatever their outcome."
    )
