"""Portal form of a dataset upload; the checks of the file itself are the service's."""

from django import forms

from registry.models import ModelVersion, Organisation
from training.models import Dataset


class DatasetUploadForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none())
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    target_column = forms.CharField(
        max_length=255,
        help_text="The numeric column a model learns to predict; every other column is a feature.",
    )
    file = forms.FileField(
        help_text="CSV (UTF-8, with a header line) or Parquet.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.parquet,.pq"}),
    )

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        only = list(organisations[:2])
        if len(only) == 1:
            self.fields["organisation"].initial = only[0].pk


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, version) -> str:
        return f"{version.sam.name} {version.version} ({version.get_status_display()})"


class DatasetChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, dataset) -> str:
        return (
            f"{dataset.name} — {dataset.row_count:,} rows, target {dataset.target_column}, "
            f"quality {dataset.quality_score:g}"
        )


METRIC_CHOICES = [
    ("", "No requirement"),
    ("ACCURACY", "Accuracy (classifiers)"),
    ("F1", "F1 (classifiers)"),
    ("MAE", "Mean absolute error (regressors)"),
    ("MSE", "Mean squared error (regressors)"),
    ("R2", "R² (regressors)"),
]


class TrainingRequestForm(forms.Form):
    """A training request (TS 28.105 §7.3.2): the ML entity (a version), the candidate
    training data (datasets) and the priority; optionally one performance requirement."""

    ml_entity = VersionChoiceField(
        label="Version to train",
        queryset=ModelVersion.objects.none(),
        help_text="A version with a scikit-learn model file; training makes a new version of it.",
    )
    candidate_training_data_source = DatasetChoiceField(
        label="Training data",
        queryset=Dataset.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=(
            "Your organisations' datasets; those whose columns fit the model are used, with "
            "the data the version was trained on before."
        ),
    )
    priority = forms.IntegerField(
        min_value=0,
        max_value=65535,
        initial=0,
        help_text="0..65535; lower runs first.",
    )
    performance_metric = forms.ChoiceField(
        label="Performance requirement", choices=METRIC_CHOICES, required=False
    )
    performance_score = forms.FloatField(
        label="Target score",
        required=False,
        help_text="Scores on the registry's scale (accuracy 0.93, not 93).",
    )

    def __init__(self, *args, versions, datasets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ml_entity"].queryset = ModelVersion.objects.filter(
            pk__in=[v.pk for v in versions]
        ).select_related("sam")
        self.fields["candidate_training_data_source"].queryset = datasets

    def clean(self):
        data = super().clean()
        if data.get("performance_metric") and data.get("performance_score") is None:
            self.add_error("performance_score", "Give the score the metric should reach.")
        return data

    def performance_requirements(self) -> list[dict]:
        metric = self.cleaned_data.get("performance_metric")
        if not metric:
            return []
        return [
            {
                "performance_metric": metric,
                "performance_score": self.cleaned_data["performance_score"],
            }
        ]
