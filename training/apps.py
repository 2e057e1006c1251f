from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """3GPP TS 28.105 ML training and AIMLE model selection; so far its datasets."""

    name = "training"

    def ready(self) -> None:
        from django.conf import settings

        from core.navigation import NavLink, nav_link_add
        from registry import extensions
        from training import notifications, permissions

        nav_link_add(
            NavLink("Datasets", "training:dataset-list", 60, permissions.uses_datasets, "datasets")
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
