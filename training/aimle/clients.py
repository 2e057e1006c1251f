"""AIMLE clients (TS 23.482 §5.2.3.2): the registry SAM Hub's AIMLE server keeps of them
(register, change, remove, read), and the choice of clients for an ML model selection request
by AIMLE client set identifiers and/or client selection criteria (TS 23.482 §8.23.3.1,
NOTE 1 and NOTE 2; docs/aimle.md).

Whenever a client's managing server changes (a context transfer, or an operator's correction)
the server it leaves is appended to its previous managing servers: one rule, in
aimle_client_move.
"""

from collections.abc import Callable, Iterable

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet

from core.errors import DomainError
from registry.models import Organisation
from training import permissions
from training.models import AimleClient

# The keys a client selection criteria object may hold, and what each matches:
# service_area: the client's service area, one name or a list of names (any of them);
# capabilities: names the client must all have; managing_server: the AIMLE server managing it.
SELECTION_CRITERIA = ("service_area", "capabilities", "managing_server")
# The fields aimle_client_update changes (client_id and organisation name the record).
UPDATABLE = ("client_set_id", "managing_server", "service_area", "capabilities")


# --- an organisation's AIMLE resources: its clients here, its execution nodes in
# training.aimle.computing, registered, changed and removed the same way ---------------------


def resource_visible(resources: QuerySet, *, what: str, **lookup) -> Model:
    """The one resource of `resources` (those the user sees) matching `lookup`; 404 otherwise,
    so one the user may not see is not told apart from one that does not exist."""
    found = resources.filter(**lookup).first()
    if found is None:
        raise DomainError(
            f"There is no {what} {next(iter(lookup.values()))!r} that you can see.",
            code="not_found",
            status=404,
        )
    return found


def _refuse_unless_manager(user: User, resource: Model, what: str, action: str) -> None:
    if not permissions.can_manage_aimle_resource(resource.organisation_id, user):
        raise DomainError.not_allowed(
            f"Only providers of the {what}'s organisation and operators can {action} it."
        )


def _full_clean(resource: Model, refusal: str) -> None:
    try:
        resource.full_clean(exclude=["organisation"])
    except ValidationError as exc:
        raise DomainError(refusal, details=exc.message_dict) from None


def resource_register(resource: Model, *, user: User, what: str) -> None:
    """Insert a new resource of its organisation, if the user may and its fields are valid."""
    _refuse_unless_manager(user, resource, what, "register")
    _full_clean(resource, f"Some fields are not valid; the {what} was not registered.")
    try:
        with transaction.atomic():
            resource.save(force_insert=True)
    except IntegrityError:  # registered by a concurrent request since full_clean
        raise DomainError.conflict(f"The {what} is registered already.") from None


def resource_change(
    resource: Model,
    *,
    user: User,
    what: str,
    changes: dict,
    updatable: Iterable[str],
    adjust: Callable[[Model], None] | None = None,
) -> Model:
    """Change fields of a resource the user sees (locked meanwhile; `adjust` makes changes of
    its own to the locked row), if the user may and the result is valid."""
    unknown = sorted(set(changes) - set(updatable))
    if unknown:
        raise DomainError(f"These fields cannot be changed: {', '.join(unknown)}.")
    _refuse_unless_manager(user, resource, what, "change")
    locked = type(resource).objects.select_for_update().get(pk=resource.pk)
    for field, value in changes.items():
        setattr(locked, field, list(value) if isinstance(value, tuple) else value)
    if adjust is not None:
        adjust(locked)
    _full_clean(locked, f"Some fields are not valid; the {what} was not changed.")
    locked.save()
    return locked


def resource_remove(resource: Model, *, user: User, what: str) -> None:
    _refuse_unless_manager(user, resource, what, "remove")
    resource.delete()


# --- AIMLE clients ---------------------------------------------------------------------------


def aimle_clients_visible_to(user: User) -> QuerySet[AimleClient]:
    """The clients of the user's organisations; every client for auditors and operators."""
    clients = AimleClient.objects.select_related("organisation")
    if permissions.sees_every_aimle_client(user):
        return clients
    if not user.is_authenticated:
        return clients.none()
    return clients.filter(organisation__members=user)


def aimle_client_visible_to(user: User, client_id: str) -> AimleClient:
    return resource_visible(
        aimle_clients_visible_to(user), what="AIMLE client", client_id=client_id
    )


def aimle_client_register(
    *,
    user: User,
    organisation: Organisation,
    client_id: str,
    managing_server: str,
    service_area: str,
    client_set_id: str = "",
    capabilities: Iterable[str] = (),
) -> AimleClient:
    """Register an AIMLE client of the organisation with the AIMLE server managing it."""
    client = AimleClient(
        organisation=organisation,
        client_id=client_id,
        client_set_id=client_set_id,
        managing_server=managing_server,
        service_area=service_area,
        capabilities=list(capabilities),
    )
    resource_register(client, user=user, what="AIMLE client")
    return client


def aimle_client_move(client: AimleClient, managing_server: str) -> None:
    """Record that another AIMLE server manages the (locked) client now: the server it leaves
    joins its previous managing servers (TS 23.482 table 8.24.3.1-2). Not saved here."""
    if managing_server and managing_server != client.managing_server:
        client.previous_managing_servers = [
            *client.previous_managing_servers,
            client.managing_server,
        ]
        client.managing_server = managing_server


@transaction.atomic
def aimle_client_update(*, user: User, client_id: str, **changes) -> AimleClient:
    """Change a client's set, service area, capabilities or managing server (a move, as
    aimle_client_move records it)."""
    server = changes.pop("managing_server", "")
    return resource_change(
        aimle_client_visible_to(user, client_id),
        user=user,
        what="AIMLE client",
        changes=changes,
        updatable=UPDATABLE,
        adjust=lambda client: aimle_client_move(client, server),
    )


@transaction.atomic
def aimle_client_remove(*, user: User, client_id: str) -> None:
    """Remove a client from the registry, with the contexts transferred for it."""
    resource_remove(aimle_client_visible_to(user, client_id), user=user, what="AIMLE client")


# --- selection for ML model selection (TS 23.482 §8.23.3.1) ------------------------------------


def _names(value, what: str, details: dict) -> list[str]:
    """One name or a non-empty list of names, as a list; `details` places the refusal."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise DomainError(
            f"{what} is a name or a non-empty list of names.",
            code="MANDATORY_IE_INCORRECT",
            details=details,
        )
    return value


def _criterion(criteria: dict, key: str) -> list[str]:
    return _names(
        criteria[key],
        f"The client selection criterion {key}",
        {"criteria": {key: ["A name or a non-empty list of names."]}},
    )


def aimle_clients_select(
    *,
    client_set_ids: list[str] | None,
    criteria: dict | None,
    number: int | None,
) -> list[AimleClient]:
    """The AIMLE clients for training an ML model: those in any of the client sets, matching
    every criterion given (both narrow the choice when both are given), ordered by client ID.

    NOTE 1: client set ids, criteria or both are given. NOTE 2: `number`, the minimal number of
    clients required, is given when criteria are. Fewer matching clients than `number`, or a
    client set nobody belongs to, refuse the selection with a DomainError (400) saying which.
    Every matching client is returned: `number` is a minimum, not a cap."""
    client_set_ids = client_set_ids or None
    criteria = criteria or None
    if client_set_ids is None and criteria is None:
        raise DomainError(
            "Give AIMLE client set identifiers, AIMLE client selection criteria, or both "
            "(TS 23.482 §8.23.3.1, NOTE 1).",
            code="MANDATORY_IE_MISSING",
            details={"client_set_ids": ["Give client set identifiers or selection criteria."]},
        )
    if criteria is not None and number is None:
        raise DomainError(
            "The number of required AIMLE clients is mandatory when client selection criteria "
            "are given (TS 23.482 §8.23.3.1, NOTE 2).",
            code="MANDATORY_IE_MISSING",
            details={"number": ["Required with client selection criteria."]},
        )
    if number is not None and (
        isinstance(number, bool) or not isinstance(number, int) or number < 1
    ):
        raise DomainError(
            "The number of required AIMLE clients is a whole number from 1.",
            code="MANDATORY_IE_INCORRECT",
            details={"number": ["A whole number from 1."]},
        )
    clients = AimleClient.objects.select_related("organisation")
    if client_set_ids is not None:
        set_ids = _names(
            client_set_ids,
            "AIMLE client set identifiers",
            {"client_set_ids": ["A name or a non-empty list of names."]},
        )
        clients = clients.filter(client_set_id__in=set_ids)
        unknown = sorted(set(set_ids) - set(clients.values_list("client_set_id", flat=True)))
        if unknown:
            raise DomainError(
                f"No AIMLE client belongs to the client set(s) {', '.join(unknown)}.",
                code="UNKNOWN_AIMLE_CLIENT_SET",
                details={"client_set_ids": [f"Unknown client set: {u}." for u in unknown]},
            )
    required: set[str] = set()
    if criteria is not None:
        if not isinstance(criteria, dict):
            raise DomainError(
                "AIMLE client selection criteria are a JSON object.",
                code="MANDATORY_IE_INCORRECT",
                details={"criteria": ["A JSON object."]},
            )
        unknown = sorted(set(criteria) - set(SELECTION_CRITERIA))
        if unknown:
            raise DomainError(
                f"Unknown AIMLE client selection criteria: {', '.join(unknown)}; SAM Hub "
                f"matches {', '.join(SELECTION_CRITERIA)}.",
                code="MANDATORY_IE_INCORRECT",
                details={"criteria": {key: ["Not a selection criterion."] for key in unknown}},
            )
        if "service_area" in criteria:
            clients = clients.filter(service_area__in=_criterion(criteria, "service_area"))
        if "managing_server" in criteria:
            clients = clients.filter(managing_server__in=_criterion(criteria, "managing_server"))
        if "capabilities" in criteria:
            required = set(_criterion(criteria, "capabilities"))
    # Capabilities are matched here: JSON containment is not a lookup every database has.
    chosen = [c for c in clients.order_by("client_id") if required <= set(c.capabilities)]
    if number is not None and len(chosen) < number:
        raise DomainError(
            f"{number} AIMLE client(s) are required, but only {len(chosen)} match the client "
            "sets and selection criteria.",
            code="INSUFFICIENT_AIMLE_CLIENTS",
            details={"number": [f"Only {len(chosen)} matching AIMLE client(s)."]},
        )
    return chosen
