"""Portal forms of sharing: they check the shape of what people type; the services decide."""

from django import forms

from core import json_input
from sharing.models import SharingMethod


class SubscribeForm(forms.Form):
    """A consumer's subscription request: one of the methods the model offers, and why."""

    method = forms.ChoiceField(
        label="Sharing method",
        error_messages={
            "invalid_choice": "The model does not offer %(value)s; choose one of the listed methods."
        },
    )
    purpose = forms.CharField(
        label="Purpose",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
        help_text="What you will use the model for; the provider reads it when deciding.",
    )

    def __init__(self, *args, methods: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(m, SharingMethod(m).label) for m in methods]


class TryInferenceForm(forms.Form):
    """A reasoning call from the portal: the `inputs` object of the API, as JSON, keyed by the
    version's own input names (its signature), which its help and errors show."""

    inputs = forms.CharField(
        label="Inputs (JSON)",
        widget=forms.Textarea(attrs={"rows": 8, "class": "mono", "spellcheck": "false"}),
        max_length=1_000_000,
    )

    def __init__(self, *args, input_names: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        # Without a signature (an external endpoint may have none) the names are unknown.
        names = input_names or ["<input name>"]
        self.shape = "{" + ", ".join(f'"{name}": [[...]]' for name in names) + "}"
        help_text = f"One nested list per input, one row per instance: {self.shape}."
        self.fields["inputs"].help_text = help_text

    def clean_inputs(self):
        try:
            inputs = json_input.loads(self.cleaned_data["inputs"], what="This")
        except json_input.InvalidJSON as exc:
            raise forms.ValidationError(exc.message) from None
        if not isinstance(inputs, dict):
            raise forms.ValidationError(f"Give an object: {self.shape}.")
        return inputs
