"""Hierarchical computing assistance (TS 23.482 §8.25, tables 8.25.3.1-1 and 8.25.3.2-1) and
the registry of execution nodes it draws on.

A VAL server (e.g. a CAS or an EAS) taking part in a hierarchical computing process as ROOT,
SUB_ROOT or LEAF asks SAM Hub's AIMLE server for candidate execution nodes, for the computing
preparation status at execution nodes, or both. The answer is success with at least one of
them (NOTE 2), or failure with one cause (NOTE 1), each a DomainError whose code is the cause:

- NO_CHILD_NODES_FOR_LEAF (400): a LEAF asks for candidate execution nodes; leaves have no
  children in the hierarchy (§8.25.1), so there is nothing to choose for them;
- EXECUTION_NODES_MISSING (400): preparation status asked for without naming the execution
  node(s) it is wanted at;
- UNKNOWN_EXECUTION_NODE (404): a named execution node is not registered;
- COMPUTING_TASK_NOT_SUPPORTED (400): preparation status asked at a node that does not take
  the computing task type;
- NO_CANDIDATE_NODES (409): no execution node meets the candidate rule now.

The candidate rule (candidate_nodes, docs/aimle.md): from the named execution nodes, or every
registered one when none is named, keep the nodes that take the computing task type, have
free capacity (current load below capacity), are in the service area asked for (the
request's, else the requesting node's when the requestor or original requestor is itself a
registered execution node, else any), and are not the requestor itself; best first by lowest
load ratio (current load / capacity), then most free capacity, then node ID.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet

from core.errors import DomainError
from registry.models import Organisation
from training import permissions
from training.aimle.clients import (
    resource_change,
    resource_register,
    resource_remove,
    resource_visible,
)
from training.models import (
    AssistanceInfoType,
    ComputingTaskType,
    ExecutionNode,
    HierarchyRole,
    PreparationStatus,
)

# The fields execution_node_update changes (node_id and organisation name the record).
UPDATABLE = ("service_area", "capacity", "current_load", "task_types", "preparation_status")


# --- the execution node registry -------------------------------------------------------------


def execution_nodes_visible_to(user: User) -> QuerySet[ExecutionNode]:
    """Every node, for AIMLE consumers (they are offered any of them as candidates), auditors
    and operators; none for others."""
    if permissions.uses_aimle(user) or permissions.sees_every_aimle_client(user):
        return ExecutionNode.objects.select_related("organisation")
    return ExecutionNode.objects.none()


def execution_node_visible_to(user: User, node_id: str) -> ExecutionNode:
    return resource_visible(
        execution_nodes_visible_to(user), what="execution node", node_id=node_id
    )


def execution_node_register(
    *,
    user: User,
    organisation: Organisation,
    node_id: str,
    service_area: str,
    capacity: int,
    task_types: Iterable[str],
    current_load: int = 0,
    preparation_status: str = PreparationStatus.NOT_PREPARED,
) -> ExecutionNode:
    """Offer an execution node of the organisation to hierarchical computing."""
    node = ExecutionNode(
        organisation=organisation,
        node_id=node_id,
        service_area=service_area,
        capacity=capacity,
        current_load=current_load,
        task_types=list(task_types),
        preparation_status=preparation_status,
    )
    resource_register(node, user=user, what="execution node")
    return node


@transaction.atomic
def execution_node_update(*, user: User, node_id: str, **changes) -> ExecutionNode:
    """Change what a node reports: service area, capacity, current load, task types,
    preparation status."""
    return resource_change(
        execution_node_visible_to(user, node_id),
        user=user,
        what="execution node",
        changes=changes,
        updatable=UPDATABLE,
    )


@transaction.atomic
def execution_node_remove(*, user: User, node_id: str) -> None:
    resource_remove(execution_node_visible_to(user, node_id), user=user, what="execution node")


# --- assistance ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assistance:
    """The assistance information of a success response: candidate execution nodes (best
    first) and/or the nodes whose preparation status was asked for; at least one is given."""

    candidate_nodes: list[ExecutionNode] | None
    preparation_status: list[ExecutionNode] | None


def candidate_nodes(
    pool: Iterable[ExecutionNode], *, task_type: str, service_area: str, exclude: Iterable[str]
) -> list[ExecutionNode]:
    """The candidate rule (the module's docstring): nodes of the pool that take the task type,
    have free capacity, are in the service area ('' for any) and are not excluded; best
    first."""
    excluded = set(exclude)
    kept = [
        node
        for node in pool
        if task_type in node.task_types
        and node.free_capacity > 0
        and (not service_area or node.service_area == service_area)
        and node.node_id not in excluded
    ]
    return sorted(kept, key=lambda n: (n.current_load / n.capacity, -n.free_capacity, n.node_id))


def _refuse_unknown_choice(value, choices: type, field: str) -> None:
    if value not in choices.values:
        raise DomainError(
            f"{value!r} is not one of {', '.join(choices.values)}.",
            code="MANDATORY_IE_INCORRECT",
            details={field: [f"One of {', '.join(choices.values)}."]},
        )


def _named_nodes(node_ids: list[str]) -> list[ExecutionNode]:
    found = {n.node_id: n for n in ExecutionNode.objects.filter(node_id__in=node_ids)}
    unknown = [node_id for node_id in node_ids if node_id not in found]
    if unknown:
        raise DomainError(
            f"Execution node(s) not registered with this AIMLE server: {', '.join(unknown)}.",
            code="UNKNOWN_EXECUTION_NODE",
            status=404,
            details={"execution_node_ids": [f"Unknown execution node: {u}." for u in unknown]},
        )
    return [found[node_id] for node_id in dict.fromkeys(node_ids)]


def hierarchical_computing_assist(
    *,
    user: User,
    requestor_id: str,
    role: str,
    task_type: str,
    info_types: list[str],
    original_requestor_id: str = "",
    execution_node_ids: list[str] | None = None,
    service_area: str = "",
) -> Assistance:
    """Answer a hierarchical computing assistance request: candidate execution nodes by the
    rule of candidate_nodes and/or the preparation status at the named nodes; a refusal with
    a cause of the module's list otherwise. Nothing is stored."""
    if not permissions.uses_aimle(user):
        raise DomainError.not_allowed("Only AIMLE consumers and operators ask for assistance.")
    _refuse_unknown_choice(role, HierarchyRole, "role")
    _refuse_unknown_choice(task_type, ComputingTaskType, "task_type")
    if not info_types:
        raise DomainError(
            "Say which assistance information is needed.",
            code="MANDATORY_IE_MISSING",
            details={"info_types": ["At least one assistance information type."]},
        )
    for info_type in info_types:
        _refuse_unknown_choice(info_type, AssistanceInfoType, "info_types")
    wants_candidates = AssistanceInfoType.CANDIDATE_NODES in info_types
    wants_status = AssistanceInfoType.PREPARATION_STATUS in info_types
    if wants_candidates and role == HierarchyRole.LEAF:
        raise DomainError(
            "A leaf node has no children in the hierarchy, so there are no execution nodes "
            "to choose for it; ask as the root or a sub-root.",
            code="NO_CHILD_NODES_FOR_LEAF",
            details={"role": ["Candidate execution nodes are chosen for ROOT and SUB_ROOT."]},
        )
    if wants_status and not execution_node_ids:
        raise DomainError(
            "Name the execution node(s) whose computing preparation status is wanted.",
            code="EXECUTION_NODES_MISSING",
            details={"execution_node_ids": ["Required for PREPARATION_STATUS."]},
        )
    named = _named_nodes(execution_node_ids) if execution_node_ids else None
    status = None
    if wants_status:
        unsupported = [n.node_id for n in named if task_type not in n.task_types]
        if unsupported:
            raise DomainError(
                f"Execution node(s) {', '.join(unsupported)} do not take {task_type} tasks, so "
                "they have no preparation status for one.",
                code="COMPUTING_TASK_NOT_SUPPORTED",
                details={"execution_node_ids": [f"No {task_type}: {u}." for u in unsupported]},
            )
        status = named
    candidates = None
    if wants_candidates:
        requesters = [r for r in (requestor_id, original_requestor_id) if r]
        if not service_area:  # the requesting node's, the requestor's before the original's
            areas = dict(
                ExecutionNode.objects.filter(node_id__in=requesters).values_list(
                    "node_id", "service_area"
                )
            )
            service_area = next((areas[r] for r in requesters if r in areas), "")
        pool = named if named is not None else ExecutionNode.objects.all()
        candidates = candidate_nodes(
            pool, task_type=task_type, service_area=service_area, exclude=requesters
        )
        if not candidates:
            raise DomainError(
                f"No execution node can take a {task_type} task now"
                + (f" in service area {service_area!r}" if service_area else "")
                + " (every one is full, elsewhere, or does not take the task type).",
                code="NO_CANDIDATE_NODES",
                status=409,
            )
    return Assistance(candidate_nodes=candidates, preparation_status=status)
