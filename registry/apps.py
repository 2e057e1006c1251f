from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """ETSI ENI SAM centralised management: sign-in, audit, registration, release."""

    name = "registry"
    verbose_name = "Model registry"
