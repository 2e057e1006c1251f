from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """3GPP TS 28.105 ML training and AIMLE model selection. Its models arrive with the
    training issue."""

    name = "training"
