"""The model runtime and what ships with it (ENI SAM clause 6.1). samhub_runtime.py validates
inputs and predicts for the web process (sharing.inference), and is copied unchanged into
every SDK wheel (beside sdk_init.py) and every mirror bundle (beside serve.py and the
Dockerfile), so that all three answer alike; sharing.packaging builds them from this folder."""

from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parent
