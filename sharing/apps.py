from django.apps import AppConfig


class SharingConfig(AppConfig):
    """ETSI ENI SAM sharing (retrieval, subscription, the four sharing methods) and NWDAF
    ML model monitoring. Its models arrive with the sharing issue."""

    name = "sharing"
