"""Training reads: the datasets each user may see, and where they may upload."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from core.errors import DomainError
from registry.models import Organisation
from registry.selectors import organisations_visible_to
from training import permissions
from training.models import Dataset


def datasets_visible_to(user: User | AnonymousUser) -> QuerySet[Dataset]:
    datasets = Dataset.objects.select_related("organisation", "uploaded_by")
    if not user.is_authenticated:
        return datasets.none()
    if permissions.sees_every_dataset(user):
        return datasets
    return datasets.filter(organisation__members=user)


def dataset_visible_to(user: User | AnonymousUser, dataset_id: int) -> Dataset:
    """One dataset the user may see; another answers like an unknown id (404)."""
    try:
        return datasets_visible_to(user).get(pk=dataset_id)
    except Dataset.DoesNotExist:
        raise DomainError(
            f"There is no dataset {dataset_id} that you can see.", code="not_found", status=404
        ) from None


def upload_organisations_of(user: User | AnonymousUser) -> QuerySet[Organisation]:
    """The organisations the user may upload a dataset for."""
    return Organisation.objects.filter(
        pk__in=[
            o.pk for o in organisations_visible_to(user) if permissions.can_upload_dataset(user, o)
        ]
    )
