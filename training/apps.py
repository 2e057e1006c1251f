from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """3GPP TS 28.105 ML training and AIMLE model selection; retraining-sharing (ENI SAM
    clause 5, sharing steps 3-5) on subscriptions with method RETRAINING."""

    name = "training"

    def ready(self) -> None:
        from django.conf import settings
        from django.urls import reverse

        from core.navigation import NavLink, nav_link_add
        from registry import extensions
        from sharing import extensions as sharing_extensions
        from sharing.models import SharingMethod
        from training import notifications, permissions, selectors, services, views

        nav_link_add(
            NavLink("Datasets", "training:dataset-list", 60, permissions.uses_datasets, "datasets")
        )
        nav_link_add(
            NavLink("Training", "training:request-list", 65, permissions.uses_training, "training")
        )
        # Dataset files are larger than the general body limit (registry.middleware).
        for route in ("api:dataset-list", "training:dataset-list"):
            extensions.upload_route_add(
                extensions.UploadRoute(
                    route, lambda: settings.SAMHUB_DATASET_MAX_BYTES, "for a dataset"
                )
            )
        # ProvMnS notifications listen where training records its changes (the event tables).
        notifications.connect()
        # Retraining-sharing: the use page of a RETRAINING subscription (sharing.extensions),
        # and telling the consumer when the version their retraining produced is released.
        sharing_extensions.use_page_section_add(
            SharingMethod.RETRAINING,
            sharing_extensions.UsePageSection(
                "training/_retraining.html", views.retraining_section
            ),
        )
        extensions.version_released_add(services.retrained_version_released)
        # The reports and datasets of retrained versions on the page comparing versions.
        extensions.version_compare_section_add(
            extensions.VersionCompareSection(
                "training/_version_compare.html", views.version_compare_section
            )
        )
        # "Start retraining" on pages about a version (monitoring's page): the training request
        # form with the version chosen, for those who may request its training.
        extensions.version_action_add(
            extensions.VersionAction(
                "Start retraining",
                lambda version: f"{reverse('training:request-create')}?version={version.pk}",
                selectors.version_trainable_by,
            )
        )
