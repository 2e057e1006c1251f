"""Training writes. Datasets (issue 9, item 1): upload, checked and scored, and delete."""

from typing import BinaryIO

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction

from core.errors import DomainError
from registry.models import Organisation
from training import datasets, permissions, selectors
from training.models import Dataset


def dataset_upload(
    *,
    user: User,
    organisation: Organisation,
    name: str,
    stream: BinaryIO,
    filename: str,
    target_column: str,
    description: str = "",
) -> Dataset:
    """Check an uploaded CSV or Parquet file, score its quality and store it (TS 28.105
    `candidateTraingDataSource`). Spooling, parsing and storing run outside any transaction;
    only a file that passes every check reaches the warehouse, so a refusal stores nothing."""
    if not permissions.can_upload_dataset(user, organisation):
        raise DomainError.not_allowed(
            f"You cannot upload datasets for {organisation}: only its members (providers and "
            "consumers) and operators can."
        )
    name, target_column = name.strip(), target_column.strip()
    if not name:
        raise DomainError("Name the dataset.", details={"name": ["required"]})
    if not target_column:
        raise DomainError(
            "Name the target column (the value a model learns to predict).",
            details={"target_column": ["required"]},
        )
    format = datasets.dataset_format_of(filename)
    received = datasets.dataset_receive(stream=stream, filename=filename)
    try:
        found = datasets.dataset_inspect(received, format=format, target_column=target_column)
        dataset = Dataset(
            organisation=organisation,
            name=name,
            description=description,
            file=datasets.dataset_storage_name(sha256=received.sha256, format=format),
            filename=received.filename[:255],
            format=format,
            size=received.size,
            sha256=received.sha256,
            target_column=target_column,
            uploaded_by=user,
            **found,
        )
        try:
            dataset.full_clean()
        except ValidationError as exc:
            raise DomainError(
                "Some fields are not valid; nothing was stored.",
                code="invalid",
                details=exc.message_dict,
            ) from None
        datasets.dataset_store(received, format=format)
        with transaction.atomic():
            dataset.save()
        # A deletion of another dataset with the same bytes may have removed the file between
        # the store and the save (it saw no other row); storing again is a no-op otherwise.
        datasets.dataset_store(received, format=format)
    finally:
        received.discard()
    return dataset


def dataset_delete(*, user: User, dataset_id: int) -> None:
    """Delete a dataset and, when no other dataset holds the same bytes, its file."""
    dataset = selectors.dataset_visible_to(user, dataset_id)
    if not permissions.can_delete_dataset(dataset, user):
        raise DomainError.not_allowed(
            f"Only members of {dataset.organisation} and operators can delete this dataset."
        )
    name = dataset.file.name
    with transaction.atomic():
        Dataset.objects.filter(pk=dataset.pk).delete()
        shared = Dataset.objects.filter(file=name).exists()
    if not shared:
        default_storage.delete(name)  # after the commit: slow I/O stays outside the transaction
