"""Small pictures and form rows shared by the portal templates."""

import json
import math

from django import template
from django.utils.safestring import mark_safe

from core.markdown import markdown_to_html
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
# Scores read as "lower is better" (errors, without an upper bound): drawn on their own
# scale, in another colour, so nobody mistakes them for a share of 1.
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


def _bar_width(score: float) -> str:
    if not math.isfinite(score):
        return "0"
    return f"{100 * min(abs(score), 1):.1f}"


def _on_own_scale(metric: str, score: float) -> bool:
    """An error (MAE, RMSE: lower is better, unbounded) or any score outside [0, 1]: a bar
    filled on 0..1 would say nothing (2.6 a full bar, 0.9 of an MAE nearly full)."""
    return metric.upper() in ERROR_METRICS or not 0 <= score <= 1


def _scale(score: float, low: float, high: float) -> dict:
    """Where the score sits between the lowest and the highest score of its metric."""
    if not math.isfinite(score) or high <= low:
        return {"position": "0", "marker_x": "0"}
    position = 100 * (score - low) / (high - low)
    # The marker is 3 units wide in the 100-unit track; keep it inside.
    return {"position": f"{position:.0f}", "marker_x": f"{min(max(position - 1.5, 0), 97):.1f}"}


@register.inclusion_tag("components/metric_bars.html")
def metric_bars(rows, compact: bool = False, ranges: dict | None = None) -> dict:
    """Performance scores as bars. A score in [0, 1] of a metric where higher is better
    (accuracy, F1) fills its bar on 0..1. An error metric, or a score outside [0, 1], is drawn
    on its own scale: a marker between the lowest and the highest score of that metric among
    released versions (`ranges`, registry.selectors.metric_ranges; the rows' own scores
    widen it), lower to the left."""
    rows = list(rows)
    ranges = ranges or {}
    bars = []
    for r in rows:
        metric, score = r.performance_metric, r.performance_score
        bar = {
            "output": r.inference_output_name,
            "metric": metric,
            "score": score,
            "score_text": f"{score:.4g}",
            "lower_is_better": metric.upper() in ERROR_METRICS,
            "confidence": r.decision_confidence_score,
            "confidence_width": _bar_width(r.decision_confidence_score)
            if r.decision_confidence_score is not None
            else None,
        }
        if _on_own_scale(metric, score):
            same = [
                o.performance_score
                for o in rows
                if o.performance_metric.upper() == metric.upper()
                and math.isfinite(o.performance_score)
            ]
            low, high = ranges.get(metric.upper(), (min(same, default=0), max(same, default=0)))
            low, high = min([low, *same]), max([high, *same])
            bar.update(
                own_scale=True,
                low_text=f"{low:.4g}",
                high_text=f"{high:.4g}",
                alone=high <= low,
                **_scale(score, low, high),
            )
        else:
            bar["width"] = _bar_width(score)
        bars.append(bar)
    return {"bars": bars, "compact": compact}


@register.inclusion_tag("components/field.html")
def field_row(field, findings=None) -> dict:
    """A labelled input with its help, its errors and the auditor's findings on it."""
    return {"field": field, "findings": (findings or {}).get(field.name, [])}


@register.filter
def page_numbers(page) -> list:
    """The page numbers to link: the first and last, two either side of the current one, and
    the paginator's ELLIPSIS where some are left out."""
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))


@register.filter
def markdown(text: str, heading_level: int = 3) -> str:
    """User-written Markdown as sanitised HTML (core.markdown), its headings from h3 on (it is
    shown inside a section of the page)."""
    return mark_safe(markdown_to_html(text, heading_level=heading_level))  # nh3 sanitised it


@register.filter
def thousands(number) -> str:
    """12105 as "12,105"."""
    return f"{number:,}" if isinstance(number, int) else str(number)


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
