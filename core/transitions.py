"""The one engine of SAM Hub's lifecycles (django-fsm-2 `@transition`s on a `status` field):
a transition is checked, applied under a row lock, saved and logged as a StateChange
(core.models), with the same refusals for every lifecycle.

A service of an app calls transition_apply() with what is its own: the rows to lock, the guard
and its refusal, how the object is named in messages, and the related name of its log. The
model's `@transition` carries the same guard as `permission`, so selectors can list the actions
a user may take (`has_perm`) by the rule the service enforces.
"""

from collections.abc import Callable
from typing import TypeVar

from django.contrib.auth.models import User
from django.db import models, transaction
from django_fsm import ConcurrentTransition

from core.errors import DomainError

M = TypeVar("M", bound=models.Model)


def transition_apply(
    *,
    rows: models.QuerySet[M],
    pk: int,
    name: str,
    user: User,
    allowed: Callable[[M, User], bool],
    refusal: Callable[[M, User], str],
    label: Callable[[M], str],
    log: str,
    changed_meanwhile: str,
    reason: str = "",
    before: Callable[[M], None] | None = None,
    kwargs: dict | None = None,
    next_step: Callable[[M, list[str]], str] | None = None,
) -> M:
    """Apply the transition `name` to the row `pk` of `rows` for `user` and log it.

    409 when the state does not allow it (the message names the states that do); 403 with
    `refusal(obj, user)` when `allowed(obj, user)` is false; `before(obj)` may refuse too, or
    set what the transition needs, under the same lock; `kwargs` go to the transition method.
    The change is logged on the related manager `log` of the object (a StateChange): who, when,
    from, to, why. A concurrent change of the row (ConcurrentTransitionMixin) answers 409 with
    `changed_meanwhile`. `next_step(obj, sources)` may add to the 409 who takes the step that
    leads to one of those states.
    """
    try:
        with transaction.atomic():
            obj = rows.select_for_update().get(pk=pk)
            sources = sorted(
                str(t.source) for t in obj.get_all_status_transitions() if t.name == name
            )
            if obj.status not in sources:
                raise DomainError.conflict(
                    f"Cannot {name} {label(obj)}: it is {obj.status}, "
                    f"and {name} needs {' or '.join(sources)}."
                    + (next_step(obj, sources) if next_step is not None else "")
                )
            if not allowed(obj, user):
                raise DomainError.not_allowed(refusal(obj, user))
            if before is not None:
                before(obj)
            source = obj.status
            getattr(obj, name)(**(kwargs or {}))
            obj.save()
            getattr(obj, log).create(
                name=name, source=source, target=obj.status, actor=user, reason=reason
            )
            return obj
    except ConcurrentTransition:
        raise DomainError.conflict(changed_meanwhile) from None
