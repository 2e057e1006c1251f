"""The portal's home page, `/`: what is waiting or going on for the signed-in user — their
unread notices (core.notices) first, then one part per role they hold (a user with several
roles sees each part), filled by the apps.

An app adds its sections from its AppConfig.ready() with home_section_add(HomeSection(...)):
`role` is the part of the page the section belongs to, `shown(user)` whether the user gets it
(the role's check from core.roles, the same that guards the pages it links to), and
`context(request)` the template's context, or None to show nothing. A part's sections come in
`position` order; a part without sections is left out. core never imports the apps, as for
the navigation (core.navigation): registry adds the provider's models and the auditor's
audits, sharing the provider's usage and the consumer's subscriptions and calls, and the admin
site (config.admin) the operators' health of the platform.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from core import selectors
from core.roles import Role

HOME_NOTICES = 5  # unread notices shown; the inbox holds them all
# The parts of the page, in their order, with their headings.
PARTS = {
    Role.PROVIDER: "Your models",
    Role.AUDITOR: "Your audits",
    Role.CONSUMER: "Your subscriptions and calls",
    Role.OPERATOR: "Operations",
}


@dataclass(frozen=True)
class HomeSection:
    role: Role
    template: str
    position: int  # place in its part, smallest first
    context: Callable[[HttpRequest], dict | None]
    shown: Callable[[User | AnonymousUser], bool]


_SECTIONS: list[HomeSection] = []


def home_section_add(section: HomeSection) -> None:
    """Add a section to the home page (from an AppConfig.ready(); once per section)."""
    _SECTIONS.append(section)
    _SECTIONS.sort(key=lambda entry: entry.position)


def home_parts_for(request: HttpRequest) -> list[dict]:
    """The parts of the page the user gets, each {"role", "title", "sections"} with its
    sections rendered (with the request: CSRF token, user)."""
    parts = []
    for role, title in PARTS.items():
        sections = [
            render_to_string(section.template, context, request)
            for section in _SECTIONS
            if section.role == role
            and section.shown(request.user)
            and (context := section.context(request)) is not None
        ]
        if sections:
            parts.append({"role": role.value, "title": title, "sections": sections})
    return parts


@login_required
def home(request: HttpRequest) -> HttpResponse:
    unread = selectors.unread_notices_of(request.user)
    context = {
        "notices": list(unread[:HOME_NOTICES]),
        "unread_count": unread.count(),
        "parts": home_parts_for(request),
        "nav": "home",
    }
    return render(request, "core/home.html", context)
