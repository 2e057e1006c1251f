"""Measure stored model files in the checker process (those stored before SAM Hub measured
them, or all of them): the web process loads only measured models."""

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from registry import services
from registry.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Run the artifact checker again on stored model files and record the memory that "
        "loading each takes; by default only the files not measured yet."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="Measure every stored file, measured or not."
        )

    def handle(self, *args, all: bool = False, **options):
        versions = ModelVersion.objects.exclude(artifact_sha256="").select_related("sam")
        if not all:
            versions = versions.filter(artifact_loaded_bytes__isnull=True)
        refused = 0
        for version in versions.order_by("pk"):
            label = f"{version.sam.name} {version.version} (id {version.pk})"
            try:
                measured = services.version_artifact_measure(version_id=version.pk)
            except DomainError as exc:
                refused += 1
                self.stderr.write(f"  {label}: not measured, it stays unloadable: {exc.message}")
                continue
            self.stdout.write(
                f"  {label}: {measured.artifact_loaded_bytes / 1024**2:,.1f} MiB when loaded"
            )
        if refused:
            raise CommandError(f"{refused} model file(s) could not be measured (see above).")
