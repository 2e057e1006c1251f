"""The TS 28.532 provisioning facade of training: GET, PUT, PATCH (JSON merge-patch) and
DELETE of the MOIs under `/ProvMnS/v1/SubNetwork=1/MLTrainingFunction=1/`, and of
NtfSubscriptionControl under `/ProvMnS/v1/SubNetwork=1/`. Thin: bodies are checked for their
shape here, every write is a service (training.services, training.notifications), errors are
rendered by training.provmns.errors. Authentication as on /api/v1/ (token or session)."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, renderers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.parsers import JSONParser
from core.errors import DomainError
from training import notifications, services
from training.api.serializers import TrainingRequestCreateSerializer
from training.provmns import errors, query, resources

MERGE_PATCH = ("application/merge-patch+json", "application/3gpp-merge-patch+json")
REQUEST_CREATE_ATTRIBUTES = set(TrainingRequestCreateSerializer().fields)
WRITABLE = {
    "MLTrainingRequest": {"cancelRequest", "suspendRequest"},
    "MLTrainingProcess": {"cancelProcess", "suspendProcess"},
}
PRODUCER_MADE = (
    "{cls} objects are made by SAM Hub's training (a request instantiates its process, a "
    "finished process writes its report)"
)


class MergePatchParser(JSONParser):
    media_type = "application/merge-patch+json"


class ThreeGppMergePatchParser(JSONParser):
    media_type = "application/3gpp-merge-patch+json"


def _not_allowed(method: str, cls: str, why: str) -> DomainError:
    return DomainError(f"{method} is not supported on {cls}: {why}.", code="method_not_allowed",
                       status=405)  # fmt: skip


@extend_schema(exclude=True)  # a 3GPP surface, described by TS28532_ProvMnS.yaml, not /api/
class ProvMnSView(APIView):
    parser_classes = (JSONParser, MergePatchParser, ThreeGppMergePatchParser)
    renderer_classes = (renderers.JSONRenderer,)

    def get_exception_handler(self):
        return errors.exception_handler

    def _target(self, dn: str) -> query.Target:
        target = query.target_of(dn)
        if target is None:
            raise DomainError(
                f"There is no resource at SubNetwork path {dn!r}: SAM Hub serves "
                "SubNetwork=1/MLTrainingFunction=1 with its MLTrainingRequest, "
                "MLTrainingProcess and MLTrainingReport objects, and "
                "SubNetwork=1/NtfSubscriptionControl=<id>.",
                code="not_found",
                status=404,
            )
        return target

    def _resource(self, target: query.Target, code=status.HTTP_200_OK) -> Response:
        base = query.base_of(target, self.request.user)
        answer = resources.resource(base, self.request.user)
        headers = {"Location": resources.href(base.dn)} if code == status.HTTP_201_CREATED else {}
        return Response(answer, status=code, headers=headers)

    def get(self, request, dn: str):
        target = self._target(dn)
        return Response(
            query.tree(target, request.user, query.query_of(request.query_params, target))
        )

    def put(self, request, dn: str):
        target = self._target(dn)
        attributes = _resource_body(request.data, target, require_id=True)
        if target.object_class == "NtfSubscriptionControl":
            _, created = notifications.ntf_subscription_put(
                user=request.user, moi_id=target.moi_id, attributes=attributes
            )
            return self._resource(target, status.HTTP_201_CREATED if created else 200)
        if target.object_class != "MLTrainingRequest":
            raise _not_allowed(
                "PUT", target.object_class, PRODUCER_MADE.format(cls=target.object_class)
            )
        unknown = sorted(set(attributes) - REQUEST_CREATE_ATTRIBUTES)
        if unknown:
            raise DomainError(
                "A new MLTrainingRequest takes " + ", ".join(sorted(REQUEST_CREATE_ATTRIBUTES))
                + f"; {', '.join(unknown)} cannot be set (SAM Hub sets them, or they are not "
                "attributes of MLTrainingRequest). Nothing was stored.",
                details={name: ["not settable on creation"] for name in unknown},
            )  # fmt: skip
        body = TrainingRequestCreateSerializer(data=attributes)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.training_request_put(
            user=request.user,
            moi_id=target.moi_id,
            ml_entity_id=data["mLEntityId"],
            candidate_training_data_source=data["candidateTraingDataSource"],
            performance_requirements=data["performanceRequirements"],
            training_request_source=data["trainingRequestSource"],
            expected_runtime_context=data["expectedRuntimeContext"],
            priority=data["priority"],
        )
        return self._resource(target, status.HTTP_201_CREATED)

    def patch(self, request, dn: str):
        target = self._target(dn)
        if request.content_type.split(";")[0].strip() not in MERGE_PATCH:
            raise exceptions.UnsupportedMediaType(
                request.content_type,
                detail="PATCH takes a JSON merge patch (RFC 7396): Content-Type "
                "application/merge-patch+json or application/3gpp-merge-patch+json.",
            )
        patch = _resource_body(request.data, target, require_id=False)
        if target.object_class == "NtfSubscriptionControl":
            subscription = query.base_of(target, request.user)
            merged = _merge(resources.attributes_of(subscription), patch)
            notifications.ntf_subscription_put(
                user=request.user, moi_id=target.moi_id, attributes=merged
            )
            return self._resource(target)
        writable = WRITABLE.get(target.object_class)
        if writable is None:
            raise _not_allowed("PATCH", target.object_class, "none of its attributes is writable")
        query.base_of(target, request.user)  # 404 before anything else for what they cannot see
        refused = sorted(set(patch) - writable)
        if refused:
            raise DomainError(
                f"Only {' and '.join(sorted(writable))} of a {target.object_class} can be "
                f"changed (TS 28.105 §7.5), not {', '.join(refused)}; nothing was changed.",
                details={name: ["not writable"] for name in refused},
            )
        if target.object_class == "MLTrainingRequest":
            services.training_request_attributes_set(
                request_id=int(target.moi_id),
                user=request.user,
                cancel_request=patch.get("cancelRequest"),
                suspend_request=patch.get("suspendRequest"),
            )
        else:
            services.training_process_attributes_set(
                process_id=int(target.moi_id),
                user=request.user,
                cancel_process=patch.get("cancelProcess"),
                suspend_process=patch.get("suspendProcess"),
            )
        return self._resource(target)

    def delete(self, request, dn: str):
        target = self._target(dn)
        if target.object_class == "NtfSubscriptionControl":
            notifications.ntf_subscription_delete(user=request.user, moi_id=target.moi_id)
        elif target.object_class == "MLTrainingRequest":
            base = query.base_of(target, request.user)
            services.training_request_delete(user=request.user, request_id=base.pk)
        else:
            raise _not_allowed(
                "DELETE",
                target.object_class,
                "SAM Hub deletes a process with its request, and keeps reports and the "
                "training function",
            )
        return Response(status=status.HTTP_200_OK)


def _resource_body(data, target: query.Target, *, require_id: bool) -> dict:
    """The `attributes` of a Resource body (`{"id", "objectClass"?, "objectInstance"?,
    "attributes"}`), checked against the URI."""
    if not isinstance(data, dict):
        raise DomainError(
            'The body is a resource: {"id": ..., "attributes": {...}}; nothing was changed.',
            details={"body": ["a JSON object"]},
        )
    unknown = sorted(set(data) - {"id", "objectClass", "objectInstance", "attributes"})
    if unknown:
        raise DomainError(
            f"{', '.join(unknown)}: a {target.object_class} body holds id, objectClass, "
            "objectInstance and attributes only (no contained objects); nothing was changed.",
            details={name: ["unknown member"] for name in unknown},
        )
    if require_id and "id" not in data:
        raise DomainError(
            f'The body names the object: "id": "{target.moi_id}"; nothing was stored.',
            details={"id": ["required"]},
        )
    if "id" in data and str(data["id"]) != target.moi_id:
        raise DomainError(
            f"The body's id {data['id']!r} is not the URI's {target.moi_id!r}; nothing was changed.",
            details={"id": ["not the URI's"]},
        )
    if data.get("objectClass", target.object_class) != target.object_class:
        raise DomainError(
            f"objectClass {data['objectClass']!r} is not the URI's {target.object_class}.",
            details={"objectClass": ["not the URI's"]},
        )
    attributes = data.get("attributes", {})
    if not isinstance(attributes, dict):
        raise DomainError(
            "attributes is an object; nothing was changed.", details={"attributes": ["an object"]}
        )
    return attributes


def _merge(current: dict, patch: dict) -> dict:
    """RFC 7396: members of the patch replace, null removes, objects merge."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
