"""gunicorn settings of `manage.py portal` (`--config python:config.gunicorn`), which the
reasoning call's benchmark runs too (bench/inference_vs_mlflow.py)."""

import gc


def post_worker_init(worker) -> None:
    """Each web worker starts its fork server for upload checks (core.forked) as soon as it
    has loaded Django, so that the first upload does not wait for scikit-learn's imports."""
    from core.forked import forkserver_warm

    forkserver_warm()
    # Django, the apps and their libraries are loaded and stay for the worker's life: out of
    # the garbage collector's sight, a full collection no longer walks their ~140,000 objects
    # (70 ms, about every 3,000 reasoning calls; docs/benchmarks.md).
    gc.freeze()
