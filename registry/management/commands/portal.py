"""Start the whole portal on one machine: migrate, seed the demo once, run web, worker and Celery
beat, and keep them running until Ctrl+C or SIGTERM."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from registry.management.commands.seed_demo import DEMO_ORGANISATION
from registry.models import Organisation

POLL_SECONDS = 0.5
STOP_SECONDS = 30  # how long a child may take to shut down warmly before it is killed
# A child that keeps dying soon after starting is started again after the pauses of
# settings.SAMHUB_PORTAL_RESTART_DELAYS; after the last one the portal gives up.
STAYED_UP_SECONDS = 30  # a child that ran this long before dying starts the count afresh


@dataclass
class _Child:
    """A process the portal runs and restarts (the Celery worker, Celery beat or gunicorn)."""

    name: str
    command: list[str]
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_deaths: int = 0
    restart_at: float | None = None
    pids: list[int] = field(default_factory=list)

    def start(self) -> None:
        # Its own process group, so that stopping it (or clearing up after it died) reaches its
        # pool processes too; Ctrl+C reaches the portal only, which stops the children in order.
        self.process = subprocess.Popen(self.command, cwd=settings.BASE_DIR, start_new_session=True)
        self.started_at = time.monotonic()
        self.restart_at = None
        self.pids.append(self.process.pid)

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.process.pid, signum)


def _exit_text(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


class Command(BaseCommand):
    help = (
        "Migrate, seed the demo on first start, then run gunicorn, a Celery worker and Celery "
        "beat, restarting any that dies, until Ctrl+C or SIGTERM."
    )

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
            _Child("Celery worker", [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--loglevel=INFO", f"--concurrency={worker_concurrency}",
            ]),
            # Periodic work (the ML model monitor's reporting cycle, CELERY_BEAT_SCHEDULE): its
            # own process, so that a restarted worker does not restart the schedule, as in
            # production where one beat serves many workers.
            _Child("Celery beat", [
                sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
                "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ]),
            _Child("gunicorn", [
                sys.executable, "-m", "gunicorn", "config.wsgi", "--config",
                "python:config.gunicorn", "--bind", bind,
                "--workers", str(web_workers), "--timeout", "600", "--access-logfile", "-",
            ]),
        ]  # fmt: skip
        self._stopping = False
        # The children have their own sessions, so a closed terminal (SIGHUP) reaches only the
        # portal: it stops them as for SIGTERM.
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGHUP, self._request_stop)
        for child in children:
            child.start()
            self._say(f"Started {child.name} (pid {child.process.pid}).")
        self.stdout.write(
            self.style.SUCCESS(
                f"SAM Hub is up at http://{bind}/ (API docs at /api/docs/, admin at /admin/); "
                f"broker {settings.CELERY_BROKER_URL.split('@')[-1]}. Ctrl+C stops it."
            )
        )
        self.stdout.flush()
        try:
            self._supervise(children)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop(children)
        self._say("SAM Hub stopped.")

    def _request_stop(self, *_) -> None:
        self._stopping = True

    def _say(self, text: str, style=None) -> None:
        self.stdout.write(style(text) if style else text)
        self.stdout.flush()

    def _supervise(self, children: list[_Child]) -> None:
        """Restart a child that dies, whatever killed it; only a stop request ends the loop."""
        delays = settings.SAMHUB_PORTAL_RESTART_DELAYS
        while not self._stopping:
            now = time.monotonic()
            for child in children:
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        child.start()
                        self._say(f"Restarted {child.name} (pid {child.process.pid}).")
                    continue
                returncode = child.process.poll()
                if returncode is None:
                    continue
                # Whatever it left behind (pool processes, web workers holding the port) has
                # no parent to collect its work any more.
                child.signal_group(signal.SIGKILL)
                if now - child.started_at >= STAYED_UP_SECONDS:
                    child.quick_deaths = 0
                if child.quick_deaths >= len(delays):
                    raise CommandError(
                        f"{child.name} (pid {child.process.pid}) {_exit_text(returncode)}; it "
                        f"died {child.quick_deaths + 1} times in a row within "
                        f"{STAYED_UP_SECONDS} s of starting, so SAM Hub stops. Its output is "
                        "above."
                    )
                delay = delays[child.quick_deaths]
                child.quick_deaths += 1
                child.restart_at = now + delay
                self._say(
                    f"{child.name} (pid {child.process.pid}) {_exit_text(returncode)}; "
                    f"restarting it in {delay:g} s. The other parts keep running.",
                    self.style.WARNING,
                )
            time.sleep(POLL_SECONDS)

    def _stop(self, children: list[_Child]) -> None:
        """SIGTERM each child's process group (a warm shutdown: the worker finishes its task,
        gunicorn its requests), then SIGKILL what is left after STOP_SECONDS."""
        # Stopping is bounded (STOP_SECONDS); a second Ctrl+C must not leave children behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        running = [c for c in children if c.process and c.process.poll() is None]
        if running:
            self._say("Stopping " + " and ".join(c.name for c in running) + "...")
        for child in running:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for child in running:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say(f"{child.name} did not stop in {STOP_SECONDS} s; killing it.")
        for child in children:
            if child.process:
                child.signal_group(signal.SIGKILL)  # stragglers of the group
                child.process.wait()


LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def _reachable_by_others(bind: str) -> bool:
    """Outside the demo: the demo listens on loopback and answers loopback host names only;
    binding another address or allowing another host name means other machines reach it."""
    host = bind.rsplit(":", 1)[0] if not bind.startswith("unix:") else "localhost"
    if host not in LOOPBACK_HOSTS and not host.startswith("127."):
        return True
    return any(h not in LOOPBACK_HOSTS for h in settings.ALLOWED_HOSTS)
