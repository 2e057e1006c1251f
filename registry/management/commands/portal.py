"""Start the whole portal on one machine: migrate, seed the demo once, run web and worker."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from registry.management.commands.seed_demo import DEMO_ORGANISATION
from registry.models import Organisation


class Command(BaseCommand):
    help = "Migrate, seed the demo on first start, then run gunicorn and a Celery worker."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("SAMHUB_BIND", "127.0.0.1:8000"))
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--worker-concurrency", type=int, default=2)
        parser.add_argument("--no-seed", action="store_true", help="Do not seed the demo.")
        parser.add_argument("--demo-password", help="Password of the demo users (default: random).")

    def handle(
        self, *args, bind, web_workers, worker_concurrency, no_seed, demo_password, **options
    ):
        if settings.SECRET_KEY == settings.EMBEDDED_SECRET_KEY and _reachable_by_others(bind):
            self.stderr.write(
                self.style.WARNING(
                    "WARNING: the embedded development SECRET_KEY is in use while SAM Hub is "
                    "reachable beyond this machine (--bind or DJANGO_ALLOWED_HOSTS): anyone who "
                    "reads the source can forge sessions and password-reset links. Set "
                    "DJANGO_SECRET_KEY to a long random value."
                )
            )
        call_command("migrate", interactive=False, verbosity=0)
        if not no_seed and not Organisation.objects.filter(name=DEMO_ORGANISATION).exists():
            self.stdout.write("First start: training and releasing the demo models...")
            call_command("seed_demo", password=demo_password, stdout=self.stdout)
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker",
                 "--loglevel=INFO", f"--concurrency={worker_concurrency}"],
                cwd=settings.BASE_DIR,
            ),
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", bind,
                 "--workers", str(web_workers), "--timeout", "600", "--access-logfile", "-"],
                cwd=settings.BASE_DIR,
            ),
        ]  # fmt: skip
        self.stdout.write(
            self.style.SUCCESS(
                f"SAM Hub is up at http://{bind}/ (API docs at /api/docs/, admin at /admin/); "
                f"broker {settings.CELERY_BROKER_URL.split('@')[-1]}. Ctrl+C stops it."
            )
        )
        self._wait(children)

    def _wait(self, children: list[subprocess.Popen]) -> None:
        def stop(*_):
            for child in children:
                if child.poll() is None:
                    child.terminate()

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        stop()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
        if failed:
            sys.exit(1)


LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def _reachable_by_others(bind: str) -> bool:
    """Outside the demo: the demo listens on loopback and answers loopback host names only;
    binding another address or allowing another host name means other machines reach it."""
    host = bind.rsplit(":", 1)[0] if not bind.startswith("unix:") else "localhost"
    if host not in LOOPBACK_HOSTS and not host.startswith("127."):
        return True
    return any(h not in LOOPBACK_HOSTS for h in settings.ALLOWED_HOSTS)
