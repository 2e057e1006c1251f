"""Files shipped inside generated packages: the model runtime (samhub_runtime.py), shared by
SDK wheels and mirror bundles, the bundle's serve script and Dockerfile, the SDK's module."""

from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent
