"""Portal forms: they check the shape of what people type; the services decide the rest."""

import json

from django import forms
from django.utils.text import slugify

from core import json_input
from registry import extensions
from registry.checklist import REGISTRATION_FIELDS
from registry.models import AccessType, InferenceType, ModelVersion, Organisation
from registry.selectors import COMPARE_MAX_VERSIONS
from registry.services import AUDITED_SAM_FIELDS
from registry.templatetags.samhub import ERROR_METRICS

_BLANK = [("", "Any")]


class TagsField(forms.Field):
    """Tags repeated in the query string (?tag=a&tag=b), as slugs, each once."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        tags = [slugify(v) for v in (value or []) if isinstance(v, str)]
        return list(dict.fromkeys(t for t in tags if t))


class CatalogFilterForm(forms.Form):
    """The catalog's query string: a search, the facets chosen (links on the page, hidden
    inputs in the form so that Apply keeps them), a minimum score and the sort."""

    q = forms.CharField(label="Search", required=False)
    inference_type = forms.ChoiceField(
        label="Inference type",
        choices=_BLANK + InferenceType.choices,
        required=False,
        widget=forms.HiddenInput,
    )
    domain = forms.CharField(label="Domain", required=False, widget=forms.HiddenInput)
    region = forms.CharField(label="Region", required=False, widget=forms.HiddenInput)
    scenario = forms.CharField(label="Scenario", required=False, widget=forms.HiddenInput)
    tag = TagsField(label="Tags", required=False)
    metric = forms.CharField(label="Metric", required=False, widget=forms.HiddenInput)
    min_score = forms.FloatField(
        label="Min. score", required=False, help_text="Of the metric chosen under Metric."
    )
    sort = forms.ChoiceField(label="Sort by", required=False)

    # Sorts of the page: form value -> (label, selectors.catalog_search sort).
    SORTS = {
        "": ("Newest release first", "-released_at"),
        "oldest": ("Oldest release first", "released_at"),
        "name": ("Name (A to Z)", "name"),
        "best": ("Best score of the metric", None),  # -score, or score for an error metric
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sorts = {
            **self.SORTS,
            # Popularity, from the counts other apps keep (registry.extensions).
            **{c.name: (c.label, f"-{c.name}") for c in extensions.catalog_counts},
        }
        self.fields["sort"].choices = [(key, label) for key, (label, _) in self.sorts.items()]
        notes = dict.fromkeys(c.note for c in extensions.catalog_counts if c.note)
        self.fields["sort"].help_text = " ".join(notes)

    def clean(self):
        data = super().clean()
        if data.get("sort") == "best" and not data.get("metric"):
            self.add_error("sort", "Choose a metric under Metric to sort by its best score.")
        return data

    def search_filters(self) -> dict:
        """Keyword arguments for selectors.catalog_search from the fields that are valid."""
        data = getattr(self, "cleaned_data", {})
        filters = {
            key: data.get(key) or ""
            for key in ("q", "inference_type", "domain", "region", "scenario", "metric")
        }
        filters["tags"] = data.get("tag") or []
        filters["min_score"] = data.get("min_score")
        return filters

    def search_sort(self) -> str:
        """The selectors.catalog_search sort of the valid choice (newest release first)."""
        data = getattr(self, "cleaned_data", {})
        sort, metric = data.get("sort") or "", data.get("metric") or ""
        if sort == "best":
            if not metric:
                return "-released_at"
            # The best of an error metric (MAE, MSE...) is its lowest score.
            return "score" if metric.upper() in ERROR_METRICS else "-score"
        return self.sorts.get(sort, self.SORTS[""])[1]


class SamForm(forms.Form):
    """The model's own registration fields (shared by all its versions)."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text="Markdown: headings, lists, links, code, tables. HTML is shown as text.",
    )
    inference_type = forms.ChoiceField(choices=InferenceType.choices)
    inference_name = forms.CharField(
        label="Analytics ID / MDA type / vendor name", max_length=128, required=False
    )
    domain = forms.CharField(label="Domain / specialty", max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False)
    scenario = forms.CharField(max_length=200, required=False)
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. load, forecast, energy")
    licence = forms.CharField(max_length=100, required=False)
    intended_use = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    limitations = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    approval_required = forms.BooleanField(
        label="Subscriptions need approval",
        required=False,
        help_text="Your organisation or an operator grants or denies each subscription request.",
    )

    def __init__(self, *args, frozen: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if frozen:
            # Disabled fields keep their initial values whatever is posted
            # (selectors.sam_audit_freeze says why they are frozen).
            for name in (*AUDITED_SAM_FIELDS, "tags"):
                self.fields[name].disabled = True

    def clean_tags(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]

    def sam_fields(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("tags", "organisation")}

    @staticmethod
    def initial_for(sam) -> dict:
        initial = {name: getattr(sam, name) for name in SamForm.base_fields if name != "tags"}
        initial["tags"] = ", ".join(tag.name for tag in sam.tags.all())
        return initial


class SamCreateForm(SamForm):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())

    field_order = ["organisation"]

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        if len(organisations) == 1:
            self.fields["organisation"].initial = organisations[0]


class VersionForm(forms.Form):
    version = forms.CharField(max_length=64, help_text="Semantic version, e.g. 1.0.0")
    release_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    training_context = forms.CharField(
        label="Training context (JSON)",
        widget=forms.Textarea(attrs={"rows": 4, "class": "mono"}),
        required=False,
        help_text='A JSON object, e.g. {"dataset": "hourly cell KPIs 2024", "period": "Q1"}',
    )

    def clean_training_context(self) -> dict:
        text = self.cleaned_data["training_context"].strip()
        if not text:
            return {}
        try:
            value = json_input.loads(text, what="This")
        except json_input.InvalidJSON as exc:
            raise forms.ValidationError(exc.message) from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Give a JSON object such as {"dataset": "..."}.')
        return value

    @staticmethod
    def initial_for(version: ModelVersion) -> dict:
        context = version.training_context
        return {
            "version": version.version,
            "release_notes": version.release_notes,
            "training_context": json.dumps(context, indent=2) if context else "",
        }


class NewVersionForm(VersionForm):
    parent = forms.ModelChoiceField(
        label="Derived from (parent version)",
        queryset=ModelVersion.objects.none(),
        required=False,
        empty_label="None (not derived from an earlier version)",
    )

    def __init__(self, *args, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents
        self.fields["parent"].label_from_instance = lambda v: f"{v.version} ({v.status})"


class PerformanceForm(forms.Form):
    """One TS 28.105 ModelPerformance row."""

    inference_output_name = forms.CharField(label="inferenceOutputName", max_length=128)
    performance_metric = forms.CharField(label="performanceMetric", max_length=64)
    performance_score = forms.FloatField(label="performanceScore")
    decision_confidence_score = forms.FloatField(label="decisionConfidenceScore", required=False)

    def as_entry(self) -> dict:
        """The row as the services take it (snake_case keys)."""
        return dict(self.cleaned_data)


class _PerformanceFormSet(forms.BaseFormSet):
    def _construct_form(self, i, **kwargs):
        # A blank row is ignored wherever it sits, so a provider deletes a row by clearing it.
        kwargs["empty_permitted"] = True
        return super()._construct_form(i, **kwargs)

    def clean(self):
        if any(self.errors):
            return
        if not self.entries():
            raise forms.ValidationError(
                "Give at least one performance row (output name, metric and score)."
            )

    def entries(self) -> list[dict]:
        return [f.as_entry() for f in self.forms if f.has_changed() and f.cleaned_data]


PerformanceFormSet = forms.formset_factory(PerformanceForm, formset=_PerformanceFormSet, extra=3)


def performance_initial(version: ModelVersion) -> list[dict]:
    return [
        {
            "inference_output_name": p.inference_output_name,
            "performance_metric": p.performance_metric,
            "performance_score": p.performance_score,
            "decision_confidence_score": p.decision_confidence_score,
        }
        for p in version.performance.all()
    ]


class ArtifactForm(forms.Form):
    artifact = forms.FileField(
        label="Model file",
        help_text="ONNX (.onnx) or scikit-learn saved with skops (.skops). Pickle is refused.",
    )


class OptionalArtifactForm(ArtifactForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["artifact"].required = False
        self.fields["artifact"].label = "Model file (optional)"


class RegisterForm(forms.Form):
    access_type = forms.ChoiceField(label="Access type", choices=AccessType.choices)
    endpoint_url = forms.URLField(
        label="Endpoint URL",
        assume_scheme="https",
        required=False,
        help_text="Only for an external inference endpoint.",
    )


class ApproveForm(forms.Form):
    note = forms.CharField(
        label="Note (optional)", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class RejectForm(forms.Form):
    reason = forms.CharField(label="Reason", widget=forms.Textarea(attrs={"rows": 2}))


class FindingForm(forms.Form):
    field = forms.ChoiceField(
        label="Field", choices=[("", "Choose a field")] + list(REGISTRATION_FIELDS.items())
    )
    message = forms.CharField(label="Finding", max_length=1000)


class _FindingFormSet(forms.BaseFormSet):
    def findings(self) -> list[dict]:
        return [
            {"field": f.cleaned_data["field"], "message": f.cleaned_data["message"]}
            for f in self.forms
            if f.has_changed() and f.cleaned_data
        ]


FindingFormSet = forms.formset_factory(FindingForm, formset=_FindingFormSet, extra=3)


class VersionIdsField(forms.MultipleChoiceField):
    """Version ids from the query string (?v=1&v=2), each once, in order. Only their shape is
    checked here; whether the user may see each one is the selector's to say (404)."""

    widget = forms.CheckboxSelectMultiple
    MAX_ID = 2**63 - 1  # a BigAutoField

    def _as_id(self, item: str) -> int | None:
        digits = item.lstrip("0") if item.isascii() and item.isdecimal() else ""
        # Bounded before int(): no giant numbers, and none the database cannot hold.
        if not digits or len(digits) > len(str(self.MAX_ID)) or int(digits) > self.MAX_ID:
            return None
        return int(digits)

    def to_python(self, value) -> list[int]:
        ids = []
        for item in super().to_python(value):
            if not item:
                continue  # an empty ?v=
            pk = self._as_id(item)
            if pk is None:
                shown = item if len(item) <= 20 else item[:20] + "…"
                raise forms.ValidationError(f"“{shown}” is not a version id.", code="invalid")
            ids.append(pk)
        return list(dict.fromkeys(ids))

    def validate(self, value) -> None:
        pass  # the choices are only what the page offers; the form counts the ids


class VersionCompareForm(forms.Form):
    """The versions of a model to compare, checked on the compare page."""

    v = VersionIdsField(label="Versions to compare", required=False)

    def __init__(self, *args, versions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["v"].choices = [
            (str(v.pk), f"{v.version} ({v.get_status_display()})") for v in versions
        ]

    def clean_v(self) -> list[int]:
        ids = self.cleaned_data["v"]
        if len(ids) < 2:
            raise forms.ValidationError("Choose at least two versions to compare.")
        if len(ids) > COMPARE_MAX_VERSIONS:
            raise forms.ValidationError(
                f"Choose at most {COMPARE_MAX_VERSIONS} versions to compare at once."
            )
        return ids
