"""Portal form of a new API token."""

from django import forms

# Lifetimes the page offers (days; "" for none). The API takes any number of days.
LIFETIME_CHOICES = [
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "1 year"),
    ("", "No expiry"),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What uses it, e.g. “NWDAF staging” or “nightly report script”.",
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires after",
        choices=LIFETIME_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
        initial="90",
        help_text="A token that expires limits the harm of a key that leaks unnoticed.",
    )
