"""Small pictures and form rows shared by the portal templates."""

import json
import math

from django import template

from registry.checklist import REGISTRATION_FIELDS
from registry.models import VersionStatus

register = template.Library()

LIFECYCLE_PATH = [
    VersionStatus.DRAFT,
    VersionStatus.SUBMITTED,
    VersionStatus.APPROVED,
    VersionStatus.REGISTERED,
    VersionStatus.RELEASED,
    VersionStatus.DEPRECATED,
    VersionStatus.RETIRED,
]
# Scores read as "lower is better"; their bars get another colour so nobody mistakes them.
ERROR_METRICS = {"MAE", "MSE", "RMSE", "MEAN_ABSOLUTE_ERROR", "MEAN_SQUARED_ERROR", "LOSS"}


@register.inclusion_tag("components/lifecycle.html")
def lifecycle(status: str) -> dict:
    """The ENI SAM lifecycle as a stepper, with REJECTED as the branch off SUBMITTED."""
    rejected = status == VersionStatus.REJECTED
    reached = LIFECYCLE_PATH.index(VersionStatus.SUBMITTED if rejected else status)
    steps = []
    for i, state in enumerate(LIFECYCLE_PATH):
        if i < reached or (rejected and i == reached):
            where = "done"
        elif i == reached:
            where = "current"
        else:
            where = "todo"
        steps.append({"value": state.value, "label": state.value.title(), "where": where})
    return {"steps": steps, "rejected": rejected, "status": status}


def _bar_width(score: float, scale: float) -> str:
    if not math.isfinite(score):
        return "0"
    fraction = abs(score) if abs(score) <= 1 else abs(score) / scale
    return f"{100 * min(fraction, 1):.1f}"


@register.inclusion_tag("components/metric_bars.html")
def metric_bars(rows, compact: bool = False) -> dict:
    """Performance scores as horizontal bars: scores in [0, 1] on their own scale, larger ones
    relative to the largest score of the set."""
    rows = list(rows)
    large = [abs(r.performance_score) for r in rows if math.isfinite(r.performance_score)]
    scale = max([s for s in large if s > 1], default=1.0)
    bars = [
        {
            "output": r.inference_output_name,
            "metric": r.performance_metric,
            "score": r.performance_score,
            "score_text": f"{r.performance_score:.4g}",
            "width": _bar_width(r.performance_score, scale),
            "lower_is_better": r.performance_metric.upper() in ERROR_METRICS,
            "confidence": r.decision_confidence_score,
            "confidence_width": _bar_width(r.decision_confidence_score, 1.0)
            if r.decision_confidence_score is not None
            else None,
        }
        for r in rows
    ]
    return {"bars": bars, "compact": compact}


@register.inclusion_tag("components/field.html")
def field_row(field, findings=None) -> dict:
    """A labelled input with its help, its errors and the auditor's findings on it."""
    return {"field": field, "findings": (findings or {}).get(field.name, [])}


@register.filter
def pretty_json(value) -> str:
    return json.dumps(value, indent=2)


@register.filter
def shape(dims) -> str:
    if dims is None:
        return "unknown"
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


@register.filter
def field_label(field: str) -> str:
    return REGISTRATION_FIELDS.get(field, field)
