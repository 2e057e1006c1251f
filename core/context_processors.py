"""What every portal template knows about the signed-in user: the navigation links they may
follow with their badges (core.navigation: unread notices, the audit queue, subscription
requests, counted in one statement) and their roles (core.roles). Both are worked out only
when a template reads them, so pages that show neither (the admin, the API docs) pay nothing."""

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from core import roles
from core.navigation import nav_links_for


def portal(request: HttpRequest) -> dict:
    # No user on a page answered before AuthenticationMiddleware ran (e.g. a 400 from it).
    user = getattr(request, "user", AnonymousUser())
    return {
        "nav_links": SimpleLazyObject(lambda: nav_links_for(user)),
        "roles": SimpleLazyObject(
            lambda: {
                "provider": roles.is_provider(user),
                "auditor": roles.is_auditor(user),
                "operator": roles.is_operator(user),
                "subscriber": roles.is_subscriber(user),
                "staff": user.is_authenticated and user.is_staff,
            }
        ),
    }
