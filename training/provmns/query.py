"""What a ProvMnS GET asks for: the base object named by the URI's DN, the scope (TS 28.532
`scope`, a Scope object sent as form parameters with explode: `scopeType=BASE_SUBTREE&
scopeLevel=1`) and the attributes to return (`attributes=requestStatus,priority`), and the
hierarchical answer built from them (TS 32.158: children listed by class name under their
parent)."""

from dataclasses import dataclass

from training import notifications, selectors
from training.models import MLTrainingFunction, ScopeType
from training.provmns import resources
from training.provmns.errors import QueryError

NOT_SUPPORTED = ("filter", "fields", "dataNodeSelector")


@dataclass(frozen=True)
class Target:
    """The object a URI names: its class and id (the function's id is "1")."""

    object_class: str
    moi_id: str


def target_of(dn_path: str) -> Target | None:
    """`SubNetwork=1/MLTrainingFunction=1[/MLTrainingRequest=5]` or
    `SubNetwork=1/NtfSubscriptionControl=x`; None for anything else."""
    parts = [p.partition("=") for p in dn_path.strip("/").split("/")]
    if any(not sep or not value for _, sep, value in parts):
        return None
    rdns = [(name, value) for name, _, value in parts]
    if rdns[:1] != [("SubNetwork", "1")]:
        return None
    if len(rdns) == 2 and rdns[1][0] == "NtfSubscriptionControl":
        return Target("NtfSubscriptionControl", rdns[1][1])
    if len(rdns) < 2 or rdns[1] != ("MLTrainingFunction", resources.FUNCTION_ID):
        return None
    if len(rdns) == 2:
        return Target("MLTrainingFunction", resources.FUNCTION_ID)
    if len(rdns) == 3 and rdns[2][0] in resources.CHILD_CLASSES:
        return Target(*rdns[2])
    return None


@dataclass(frozen=True)
class Query:
    levels: tuple[int, int | None]  # (first, last) level below the base; None: no end
    attributes: set[str] | None

    def includes(self, level: int) -> bool:
        first, last = self.levels
        return level >= first and (last is None or level <= last)


def query_of(params, target: Target) -> Query:
    """Parse and check the query parameters; refusals name the parameters (400)."""
    unsupported = [p for p in params if p in NOT_SUPPORTED]
    if unsupported:
        raise QueryError(
            f"SAM Hub does not support {', '.join(unsupported)}; use scopeType, scopeLevel "
            "and attributes.",
            unsupported,
        )
    unknown = sorted(set(params) - {"scopeType", "scopeLevel", "attributes"})
    if unknown:
        raise QueryError(
            f"Unknown query parameter {', '.join(unknown)}: SAM Hub takes scopeType, "
            "scopeLevel and attributes.",
            unknown,
        )
    scope_type = params.get("scopeType", ScopeType.BASE_ONLY)
    if scope_type not in ScopeType.values:
        raise QueryError(f"scopeType is one of {', '.join(ScopeType.values)}.", ["scopeType"])
    level = params.get("scopeLevel")
    if level is not None:
        if not (level.isascii() and level.isdigit()):
            raise QueryError("scopeLevel is a whole number from 0.", ["scopeLevel"])
        level = int(level)
    if scope_type == ScopeType.BASE_NTH_LEVEL and level is None:
        raise QueryError("scopeType BASE_NTH_LEVEL needs scopeLevel.", ["scopeLevel"])
    levels = {
        ScopeType.BASE_ONLY: (0, 0),
        ScopeType.BASE_NTH_LEVEL: (level, level),
        ScopeType.BASE_SUBTREE: (0, level),
        ScopeType.BASE_ALL: (0, None),
    }[scope_type]
    query = Query(levels, _attributes_of(params, target, levels))
    return query


def _attributes_of(params, target: Target, levels) -> set[str] | None:
    raw = params.getlist("attributes") if hasattr(params, "getlist") else []
    names = {name.strip() for value in raw for name in value.split(",") if name.strip()}
    if not raw:
        return None
    classes = {target.object_class}
    if target.object_class == "MLTrainingFunction" and (levels[1] is None or levels[1] >= 1):
        classes.update(resources.CHILD_CLASSES)
    known = {a for c in classes for a in resources.ATTRIBUTES[c]}
    unknown = sorted(names - known)
    if unknown or not names:
        raise QueryError(
            f"attributes: {', '.join(unknown) or 'none named'} — not an attribute of "
            f"{' or '.join(sorted(classes))}.",
            ["attributes"],
        )
    return names


def base_of(target: Target, user):
    """The object the URI names, as the user may see it (404 otherwise)."""
    from core.errors import DomainError

    if target.object_class == "NtfSubscriptionControl":
        return notifications.ntf_subscription_visible_to(user, target.moi_id)
    if target.object_class == "MLTrainingFunction":
        return MLTrainingFunction.objects.get_or_create(pk=1)[0]
    queryset = {
        "MLTrainingRequest": selectors.training_requests_visible_to,
        "MLTrainingProcess": selectors.training_processes_visible_to,
        "MLTrainingReport": selectors.training_reports_visible_to,
    }[target.object_class](user)
    if target.moi_id.isascii() and target.moi_id.isdigit():
        found = queryset.filter(pk=int(target.moi_id)).first()
        if found is not None:
            return found
    raise DomainError(
        f"There is no {target.object_class}={target.moi_id} that you can see.",
        code="not_found",
        status=404,
    )


def tree(target: Target, user, query: Query) -> dict:
    """The base object (its attributes when level 0 is in scope) with, for the training
    function, the requests, processes and reports the user may see at level 1."""
    base = base_of(target, user)
    answer = resources.resource(base, user, query.attributes)
    if not query.includes(0):
        del answer["attributes"]
    if target.object_class == "MLTrainingFunction" and query.includes(1):
        children = {
            "MLTrainingRequest": selectors.training_requests_visible_to(user),
            "MLTrainingProcess": selectors.training_processes_visible_to(user),
            "MLTrainingReport": selectors.training_reports_visible_to(user),
        }
        for name, queryset in children.items():
            found = [resources.resource(o, user, query.attributes) for o in queryset.order_by("pk")]
            if found:
                answer[name] = found
    return answer
