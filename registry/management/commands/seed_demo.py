"""Seed a demo: one user per role and real models carried through the whole lifecycle."""

import io
import secrets

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction

from core.roles import Role
from registry import demo, services
from registry.models import AccessType, Organisation, SmallAIModel

DEMO_ORGANISATION = "Demo Operator"


class Command(BaseCommand):
    help = "Create one demo user per role and train, audit, register and release demo models."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            help="Password for every demo user (default: a random one, printed).",
        )

    def handle(self, *args, password: str | None = None, **options):
        # An explicit password is (re)set on every demo user; a random one only on new users.
        reset = password is not None
        password = password or secrets.token_urlsafe(9)
        with transaction.atomic():
            organisation = Organisation.objects.filter(name=DEMO_ORGANISATION).first()
            if organisation is None:
                organisation = services.organisation_create(name=DEMO_ORGANISATION)
            users = {
                role: self._user(role, password, organisation, reset=reset) for role in Role.values
            }
        self.stdout.write("Demo users (username / password):")
        for role, (user, created) in users.items():
            shown = password if created or reset else "(unchanged; set one with --password)"
            self.stdout.write(f"  {role:<9} {user.username} / {shown}")
        provider, auditor = users[Role.PROVIDER][0], users[Role.AUDITOR][0]
        for build in demo.DEMO_MODELS:
            self._release_demo_model(build, provider, auditor, organisation)

    def _user(
        self, role: str, password: str, organisation: Organisation, *, reset: bool
    ) -> tuple[User, bool]:
        user, created = User.objects.get_or_create(
            username=f"demo-{role}", defaults={"is_staff": role == Role.OPERATOR}
        )
        if created or reset:
            user.set_password(password)
            user.save()
        user.groups.add(Group.objects.get(name=role))
        if role == Role.PROVIDER:
            organisation.members.add(user)
        return user, created

    def _release_demo_model(self, build, provider: User, auditor: User, organisation) -> None:
        trained = build()
        name = trained.fields["name"]
        if SmallAIModel.objects.filter(organisation=organisation, name=name).exists():
            self.stdout.write(f"  {name}: already seeded")
            return
        sam = services.sam_create(
            user=provider, organisation=organisation, tags=trained.tags, **trained.fields
        )
        version = services.version_create(
            sam=sam,
            user=provider,
            version="1.0.0",
            release_notes="First release, trained by the demo seed.",
            training_context=trained.training_context,
            performance=trained.performance,
        )
        services.version_artifact_upload(
            version_id=version.pk,
            user=provider,
            stream=io.BytesIO(trained.content),
            filename=trained.filename,
        )
        services.version_submit(version_id=version.pk, user=provider)
        services.version_approve(version_id=version.pk, user=auditor, reason="Demo seed audit.")
        services.version_register(
            version_id=version.pk, user=provider, access_type=AccessType.MODEL_FILE
        )
        services.version_release(version_id=version.pk, user=provider)
        scores = ", ".join(
            f"{p['performance_metric']}={p['performance_score']}" for p in trained.performance
        )
        self.stdout.write(f"  {name} 1.0.0 ({trained.filename}): released, {scores}")
