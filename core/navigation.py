"""The portal's main navigation, which each app fills with its own links.

An app adds its links from its AppConfig.ready() with nav_link_add(); `shown` is the same
function that guards the page the link leads to (a link is never offered to someone its page
refuses, nor hidden from someone it serves). core.context_processors.portal gives base.html
the links the signed-in user may follow, in `position` order.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User


@dataclass(frozen=True)
class NavLink:
    label: str
    url_name: str
    position: int  # place in the bar, smallest first
    shown: Callable[[User | AnonymousUser], bool] = lambda user: True
    nav: str = ""  # the `nav` value of the pages under the link: marks it as the current one


_LINKS: list[NavLink] = []


def nav_link_add(link: NavLink) -> None:
    """Add a link to the navigation (from an AppConfig.ready(); once per link)."""
    _LINKS.append(link)
    _LINKS.sort(key=lambda entry: entry.position)


def nav_links_for(user: User | AnonymousUser) -> list[NavLink]:
    if not user.is_authenticated:
        return []
    return [link for link in _LINKS if link.shown(user)]
