"""Portal form of a dataset upload; the checks of the file itself are the service's."""

from django import forms

from registry.models import Organisation


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
