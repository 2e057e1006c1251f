"""Forms more than one app uses (the reason of a lifecycle step), the API token form and the
notice preference.

The portal and the admin both use these: a form is declared once."""

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


class ReasonForm(forms.Form):
    """Why a lifecycle step is taken (deprecate a version, grant or cancel a subscription...):
    the step's log keeps it, and the other party reads it there."""

    reason = forms.CharField(label="Reason (optional)", required=False, max_length=2000)


class RequiredReasonForm(ReasonForm):
    """A decision on someone else's access (deny, suspend, revoke) must say why."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        reason = self.fields["reason"]
        reason.required = True
        reason.label = "Reason"
        reason.error_messages["required"] = "Say why; the consumer sees it."


class NoticePreferenceForm(forms.Form):
    email = forms.BooleanField(
        label="Also e-mail me my notices",
        required=False,
        help_text="The inbox keeps every notice either way.",
    )
