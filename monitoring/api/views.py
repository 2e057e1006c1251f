"""Nnwdaf_MLModelMonitor over HTTP (/nnwdaf-mlmodelmonitor/v1/, TS29520_Nnwdaf_MLModelMonitor
.yaml) and the analytics feedback of the REST API: thin views over monitoring.services, errors
as ProblemDetails. Token authentication as on /api/v1/."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.parsers import JSONParser
from core.api.problem import ProblemDetailsMixin
from monitoring import services
from monitoring.api import serializers as s


class NwdafView(ProblemDetailsMixin, APIView):
    parser_classes = (JSONParser,)
    renderer_classes = (JSONRenderer,)


@extend_schema(exclude=True)  # documented by the 3GPP YAML itself
class RegistrationCollection(NwdafView):
    def post(self, request):
        serializer = s.MLModelMonitorRegSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = services.monitor_registration_create(
            user=request.user, **serializer.service_arguments()
        )
        location = request.build_absolute_uri(
            reverse("nnwdaf-mlmodelmonitor:registration", args=[registration.pk])
        )
        return Response(
            s.registration_representation(registration),
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )


@extend_schema(exclude=True)
class RegistrationDocument(NwdafView):
    def delete(self, request, registration_id: str):
        services.monitor_registration_delete(user=request.user, registration_id=registration_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(exclude=True)
class SubscriptionCollection(NwdafView):
    def post(self, request):
        serializer = s.MLModelMonitorSubSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription, immediate = services.monitor_subscription_create(
            user=request.user, **serializer.service_arguments(services.Reporting)
        )
        location = request.build_absolute_uri(
            reverse("nnwdaf-mlmodelmonitor:subscription", args=[subscription.pk])
        )
        return Response(
            s.subscription_representation(subscription, immediate=immediate),
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )


@extend_schema(exclude=True)
class SubscriptionDocument(NwdafView):
    def put(self, request, subscription_id: str):
        serializer = s.MLModelMonitorSubSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.monitor_subscription_update(
            user=request.user,
            subscription_id=subscription_id,
            **serializer.service_arguments(services.Reporting),
        )
        return Response(s.subscription_representation(subscription))

    def delete(self, request, subscription_id: str):
        services.monitor_subscription_delete(user=request.user, subscription_id=subscription_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    request=s.AnalyticsFeedbackSerializer,
    responses={202: None},
    summary="Send analytics feedback (TS 29.520 AnalyticsFeedback)",
    description=(
        "A consumer of the analytics of these models took an action influenced by them. "
        "SAM Hub forwards it as `anaFeedbacks` to every live ML model monitor subscription "
        "on any of the models. Errors are ProblemDetails, as on the monitor itself."
    ),
    tags=["monitoring"],
)
class AnalyticsFeedbackView(NwdafView):
    def post(self, request):
        serializer = s.AnalyticsFeedbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.analytics_feedback_record(
            user=request.user,
            analytics_ids=data["events"],
            version_ids=data["modelIds"],
            affects_ground_truth=data["groundDataImpactInd"],
            action_at=data.get("timeStamp"),
        )
        return Response(status=status.HTTP_202_ACCEPTED)
