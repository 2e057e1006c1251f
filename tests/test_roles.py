"""The role groups survive what empties the database's tables (a flush, as a transactional
test's teardown does): core.roles.role_groups_sync restores them on post_migrate."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from core.roles import ROLE_PERMISSIONS


def _granted(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


@pytest.mark.django_db(transaction=True)
def test_the_role_groups_hold_their_permissions_after_migrate_and_after_a_flush():
    for role, perms in ROLE_PERMISSIONS.items():
        assert _granted(role) == set(perms), role
    call_command("flush", interactive=False, verbosity=0)
    for role, perms in ROLE_PERMISSIONS.items():
        assert _granted(role) == set(perms), role
