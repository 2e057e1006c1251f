"""gunicorn settings of `manage.py portal` (`--config python:config.gunicorn`)."""


def post_worker_init(worker) -> None:
    """Each web worker starts its fork server for upload checks (core.forked) as soon as it
    has loaded Django, so that the first upload does not wait for scikit-learn's imports."""
    from core.forked import forkserver_warm

    forkserver_warm()
