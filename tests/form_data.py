"""What a browser posts back from SAM Hub's forms, for tests that post them with the test client."""

from tests import factories


def registration_data(organisation, **overrides) -> dict:
    """The portal's "Register a model" form filled in for a model of the organisation."""
    data = {
        "organisation": organisation.pk,
        "name": "Cell load forecast",
        **factories.SAM_FIELDS,
        "tags": "load, forecast",
        "version": "1.0.0",
        "release_notes": "First cut.",
        "training_context": '{"dataset": "synthetic hourly KPIs"}',
        "perf-TOTAL_FORMS": "3",
        "perf-INITIAL_FORMS": "0",
        "perf-MIN_NUM_FORMS": "0",
        "perf-MAX_NUM_FORMS": "1000",
        "perf-0-inference_output_name": "variable",
        "perf-0-performance_metric": "MAE",
        "perf-0-performance_score": "2.5",
        "perf-1-inference_output_name": "variable",
        "perf-1-performance_metric": "R2",
        "perf-1-performance_score": "0.93",
        "perf-1-decision_confidence_score": "0.8",
    }
    data.update(overrides)
    return data


def change_form_data(page) -> dict:
    """What a browser posts back from an admin change page when nothing is edited."""
    forms = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    data = {}
    for form in forms:
        for field in form:
            if field.value() is not None:
                data[field.html_name] = field.value()
    return data
