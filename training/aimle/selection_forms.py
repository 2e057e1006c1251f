"""The portal's model selection form: what AssistMLMdlSelSubsc carries, as fields. Its field
names are the service's argument names, so that a refusal lands next to its field."""

import json

from django import forms
from django.conf import settings

from registry.models import InferenceType, ModelVersion
from training.aimle import selection as services
from training.forms import DatasetChoiceField
from training.models import AimleNotificationMethod, AimlePerformanceMetric, Dataset

# Where the portal shows refusals about what it asks with several fields.
LABELS = {
    "training_requirements": "Training requirements",
    "model_requirements": "Further candidates",
    "reporting": "Notifications",
    "criteria": "AIMLE client selection criteria",
    "number": "Number of AIMLE clients",
}


class CandidateChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, version) -> str:
        return f"{version.sam.name} {version.version} ({version.sam.organisation})"


class ModelSelectionForm(forms.Form):
    """AIMLE ML model selection (TS 23.482 §8.23.2): candidates, datasets, training
    requirements, AIMLE clients (NOTE 1, NOTE 2) and notifications."""

    candidates = CandidateChoiceField(
        label="Candidate models",
        queryset=ModelVersion.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Released versions with a scikit-learn model file; each is trained and scored.",
    )
    datasets = DatasetChoiceField(
        label="Datasets",
        queryset=Dataset.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Your organisations' datasets, joined in this order; they must fit every candidate.",
    )
    metric = forms.ChoiceField(
        label="Performance metric", choices=AimlePerformanceMetric.choices, initial="ACCURACY"
    )
    target = forms.FloatField(
        label="Performance target",
        required=False,
        help_text="Optional: a candidate reaching it stops the job early (accuracy 0.9, not 90).",
    )
    rounds = forms.IntegerField(label="Training rounds", min_value=1, initial=3)
    samples = forms.IntegerField(
        label="Minimum data samples", min_value=1, initial=100, help_text="Rows the datasets hold."
    )
    client_set_ids = forms.CharField(
        label="AIMLE client set identifiers",
        required=False,
        help_text="Comma-separated. Give these, selection criteria, or both.",
    )
    client_criteria = forms.CharField(
        label="AIMLE client selection criteria",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="A JSON object of service_area, capabilities, managing_server, e.g. "
        '{"service_area": "area-north", "capabilities": ["HFL_TRAINING"]}.',
    )
    client_number = forms.IntegerField(
        label="Number of AIMLE clients",
        min_value=1,
        required=False,
        help_text="Required with selection criteria.",
    )
    inference_type = forms.ChoiceField(
        label="Further candidates: inference type",
        choices=[("", "—"), *InferenceType.choices],
        required=False,
    )
    domain = forms.CharField(label="Further candidates: domain", required=False, max_length=100)
    catalog_metric = forms.CharField(
        label="Further candidates: metric they record", required=False, max_length=64
    )
    notification_uri = forms.CharField(
        label="Notification URI", required=False, max_length=2000, help_text="Where SAM Hub POSTs."
    )
    notification_method = forms.ChoiceField(
        label="Notify", choices=AimleNotificationMethod.choices, initial="ON_JOB_COMPLETION"
    )
    job_percentage = forms.IntegerField(
        label="Every … % of the job", min_value=1, max_value=100, required=False
    )
    period_seconds = forms.IntegerField(label="Every … seconds", min_value=1, required=False)

    def __init__(self, *args, versions, datasets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["candidates"].queryset = versions
        self.fields["datasets"].queryset = datasets
        self.fields["rounds"].max_value = settings.SAMHUB_MODEL_SELECTION_MAX_ROUNDS

    def clean_client_criteria(self):
        text = self.cleaned_data["client_criteria"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError("Not JSON.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("A JSON object.")
        return value

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        requirements = {
            key: data[name]
            for key, name in (
                ("inferenceType", "inference_type"),
                ("domain", "domain"),
                ("perfMetric", "catalog_metric"),
            )
            if data[name]
        }
        return {
            "candidates": [services.Candidate(v.pk) for v in data["candidates"]],
            "dataset_ids": [d.pk for d in data["datasets"]],
            "training_requirements": [
                services.TrainingRequirement(
                    performance=(services.PerformanceRequirement(data["metric"], data["target"]),),
                    rounds=data["rounds"],
                    samples=data["samples"],
                )
            ],
            "model_requirements": requirements or None,
            "client_set_ids": [i.strip() for i in data["client_set_ids"].split(",") if i.strip()],
            "client_criteria": data["client_criteria"],
            "client_number": data["client_number"],
            "notification_uri": data["notification_uri"],
            "reporting": services.Reporting(
                method=data["notification_method"],
                job_percentage=data["job_percentage"],
                period_seconds=data["period_seconds"],
            )
            if data["notification_uri"]
            else None,
        }
