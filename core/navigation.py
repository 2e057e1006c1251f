"""The portal's main navigation, which each app fills with its own links.

An app adds its links from its AppConfig.ready() with nav_link_add(); `shown` is the same
function that guards the page the link leads to (a link is never offered to someone its page
refuses, nor hidden from someone it serves). A link may carry a badge: `badge(user)` is the
queryset of what waits for the user there (unread notices, the audit queue), counted next to
the link. core.context_processors.portal gives base.html the links the signed-in user may
follow, in `position` order, with their counts, all counted in one statement.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import IntegerField, QuerySet, Subquery


@dataclass(frozen=True)
class NavLink:
    label: str
    url_name: str
    position: int  # place in the bar, smallest first
    shown: Callable[[User | AnonymousUser], bool] = lambda user: True
    nav: str = ""  # the `nav` value of the pages under the link: marks it as the current one
    badge: Callable[[User], QuerySet] | None = None  # what the count next to the link counts
    badge_label: str = "waiting"  # what the count means, for screen readers ("3 waiting")


_LINKS: list[NavLink] = []


def nav_link_add(link: NavLink) -> None:
    """Add a link to the navigation (from an AppConfig.ready(); once per link)."""
    _LINKS.append(link)
    _LINKS.sort(key=lambda entry: entry.position)


class _Count(Subquery):
    """COUNT(*) of a queryset as a scalar subquery (right for DISTINCT querysets too)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


def nav_links_for(user: User | AnonymousUser) -> list[tuple[NavLink, int]]:
    """The links the user may follow and the count of each one's badge (0 without one). The
    badges cost one statement together, whatever their number, and none without badges."""
    if not user.is_authenticated:
        return []
    links = [link for link in _LINKS if link.shown(user)]
    counted = {
        f"badge_{i}": _Count(link.badge(user).order_by().values("pk"))
        for i, link in enumerate(links)
        if link.badge is not None
    }
    counts = get_user_model().objects.filter(pk=user.pk).values(**counted).get() if counted else {}
    return [(link, counts.get(f"badge_{i}", 0)) for i, link in enumerate(links)]
