"""Settings of the benchmark's SAM Hub server (bench/inference_vs_mlflow.py selects them with
DJANGO_SETTINGS_MODULE): the product's, with a URLconf that adds the ceiling's bare view."""

from config.settings import *  # noqa: F403 (all of the product's settings, unchanged)

ROOT_URLCONF = "bench.ceiling_urls"
