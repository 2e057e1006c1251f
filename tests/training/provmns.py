"""Helpers for the ProvMnS tests: the facade's URIs and validators of its bodies against the
3GPP YAML (tests.contract: `$ref`s resolved across the files in tests/specs/3gpp). The loopback
notification recipient is the `receiver` fixture (tests/callbacks.py)."""

from tests.contract import OpenApiContract

FUNCTION = "/ProvMnS/v1/SubNetwork=1/MLTrainingFunction=1"
MERGE_PATCH = "application/merge-patch+json"

# ComDefs' NotificationType is oneOf the notification types of five MnS; two of their files
# (TS 28.532 PerfMnS and FileDataReportingMnS) are not among the specs we have. They name
# performance and file-reporting notifications, none of which a CM notification may be, so
# they stand in here as schemas that match nothing: oneOf then holds only when the type is one
# of CmNotificationTypes (or a heartbeat), as the full set of files would decide.
ABSENT = {
    "TS28532_PerfMnS.yaml": "PerfNotificationTypes",
    "TS28532_FileDataReportingMnS.yaml": "FileNotificationTypes",
}


def provmns_contract() -> OpenApiContract:
    return OpenApiContract(
        "TS28532_ProvMnS.yaml",
        stand_ins={name: {schema: False} for name, schema in ABSENT.items()},
    )


NOTIFICATION_SCHEMAS = {
    "notifyMOICreation": "NotifyMoiCreation",
    "notifyMOIDeletion": "NotifyMoiDeletion",
    "notifyMOIAttributeValueChanges": "NotifyMoiAttributeValueChanges",
    "notifyEvent": "NotifyEvent",
}


def notification_validate(body: dict) -> None:
    """Validate a notification against the TS 28.532 schema of its notificationType."""
    provmns_contract().schema(NOTIFICATION_SCHEMAS[body["notificationType"]]).validate(body)


def error_validate(body: dict, schema: str = "ErrorResponseDefault") -> None:
    OpenApiContract("TS28623_ComDefs.yaml").schema(schema).validate(body)
