"""The automatic audit checklist of a version's registration fields (ENI SAM clause 5, step 2).

Shown to the auditor next to the version, stored with each audit decision, and used to refuse
a submission whose required fields are missing.
"""

import math
import re
from dataclasses import asdict, dataclass

from registry.models import SEMVER, ArtifactFormat, InferenceType, ModelVersion

# Fields an auditor can name in a finding, with the label people see.
REGISTRATION_FIELDS: dict[str, str] = {
    "name": "Name",
    "description": "Description",
    "inference_type": "Inference type",
    "inference_name": "Analytics ID / MDA type / vendor name",
    "domain": "Domain / specialty",
    "region": "Region",
    "scenario": "Scenario",
    "tags": "Tags",
    "licence": "Licence",
    "intended_use": "Intended use",
    "limitations": "Limitations",
    "version": "Version",
    "release_notes": "Release notes",
    "training_context": "Training context",
    "performance": "Performance",
    "artifact": "Artifact",
    "signature": "Input/output signature",
    "endpoint_url": "External endpoint",
}

MIN_DESCRIPTION_LENGTH = 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ChecklistItem:
    field: str
    label: str
    ok: bool
    required: bool
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def _item(field: str, ok: bool, message: str, *, required: bool = True) -> ChecklistItem:
    return ChecklistItem(field, REGISTRATION_FIELDS[field], ok, required, "" if ok else message)


def _present(value: str) -> bool:
    return bool(value and value.strip())


def _artifact_item(version: ModelVersion) -> ChecklistItem:
    if not version.artifact_sha256:
        return _item("artifact", True, "", required=False)
    problems = []
    if not _SHA256.match(version.artifact_sha256):
        problems.append("sha256 is not a 64-digit hex digest")
    if not version.artifact_size:
        problems.append("size is missing")
    if version.artifact_format not in ArtifactFormat.values:
        problems.append("format is not ONNX or skops")
    signature = version.signature or {}
    if not signature.get("inputs") or not signature.get("outputs"):
        problems.append("the input/output signature could not be read")
    return _item("artifact", not problems, "; ".join(problems))


def version_checklist(version: ModelVersion) -> list[ChecklistItem]:
    sam = version.sam
    performance = list(version.performance.all())
    performance_ok = bool(performance) and all(
        _present(p.inference_output_name)
        and _present(p.performance_metric)
        and math.isfinite(p.performance_score)
        for p in performance
    )
    needs_inference_name = sam.inference_type in (InferenceType.NWDAF_ANALYTICS, InferenceType.MDA)
    try:
        SEMVER(version.version)
        semver_ok = True
    except Exception:
        semver_ok = False
    return [
        _item("name", _present(sam.name), "Name is missing."),
        _item(
            "description",
            len(sam.description.strip()) >= MIN_DESCRIPTION_LENGTH,
            f"Describe the model in at least {MIN_DESCRIPTION_LENGTH} characters.",
        ),
        _item(
            "inference_type",
            sam.inference_type in InferenceType.values,
            "Choose NWDAF Analytics ID, MDA type or vendor-specific.",
        ),
        _item(
            "inference_name",
            _present(sam.inference_name) or not needs_inference_name,
            "Name the Analytics ID or MDA type the model serves.",
        ),
        _item("domain", _present(sam.domain), "Domain / specialty is missing."),
        _item("region", _present(sam.region), "Region is missing.", required=False),
        _item("scenario", _present(sam.scenario), "Scenario is missing.", required=False),
        _item("licence", _present(sam.licence), "Licence is missing."),
        _item("intended_use", _present(sam.intended_use), "Intended use is missing."),
        _item("limitations", _present(sam.limitations), "Limitations are missing."),
        _item("version", semver_ok, "Version is not a semantic version."),
        _item(
            "training_context",
            bool(version.training_context),
            "Say what data the version was trained on.",
            required=False,
        ),
        _item(
            "performance",
            performance_ok,
            "Give at least one performance score (output name, metric, finite score).",
        ),
        _artifact_item(version),
    ]


def submission_blockers(version: ModelVersion) -> list[ChecklistItem]:
    return [item for item in version_checklist(version) if item.required and not item.ok]
