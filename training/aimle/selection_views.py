"""Portal pages of AIMLE model selection: the selections one may see, the form, a selection's
page with its ranking table and a chart of the candidates' scores that fill in as candidates
finish (static/js/model-selection.js polls `model_selection_progress`), taking the winner
into the audit flow, and deleting a selection. A form checks the input, a service does the
work, and a refusal (DomainError) is shown on the form with what was typed still in it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError, error_message, error_to_form
from training import permissions, selectors
from training.aimle import selection, selection_forms, selection_selectors
from training.models import SelectionStatus

PAGE_SIZE = 20


def _uses(request: HttpRequest) -> None:
    if not permissions.uses_model_selection(request.user):
        raise PermissionDenied("Model selection serves members of organisations and operators.")


def _visible(request: HttpRequest, pk):
    try:
        return selection_selectors.model_selection_visible_to(request.user, pk)
    except DomainError:
        raise Http404("No such model selection.") from None


def _progress(found, user) -> dict:
    """The job as the page polls it, with whether this user may take its winner now."""
    progress = selection_selectors.selection_progress(found)
    winner = selection_selectors.winner_of(found)
    progress["can_take_winner"] = bool(
        found.status == SelectionStatus.FINISHED
        and winner is not None
        and winner.trained_version_id is None
        and winner.trained_file
        and permissions.can_request_training(winner.version, user)
    )
    return progress


@login_required
def model_selection_list(request: HttpRequest) -> HttpResponse:
    _uses(request)
    found = selection_selectors.model_selections_visible_to(request.user).prefetch_related(
        "candidates__version__sam"
    )
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "training/model_selections.html",
        {
            "nav": "model-selection",
            "page": page,
            "selections": page.object_list,
            "can_select": permissions.can_select_models(request.user),
        },
    )


@login_required
def model_selection_create(request: HttpRequest) -> HttpResponse:
    _uses(request)
    if not permissions.can_select_models(request.user):
        raise PermissionDenied("Members of organisations and operators ask for model selections.")
    form = selection_forms.ModelSelectionForm(
        request.POST or None,
        versions=selection_selectors.candidate_versions_for(request.user),
        datasets=selectors.datasets_usable_by(request.user).select_related("organisation"),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = selection.model_selection_create(
                    user=request.user, **form.service_arguments()
                )
            except DomainError as exc:
                error_to_form(exc, form, labels=selection_forms.LABELS)
                status = exc.status
            else:
                messages.success(
                    request,
                    f"Model selection queued: {created.candidates.count()} candidates, "
                    f"{created.rounds} training rounds each.",
                )
                return redirect("model-selection:detail", pk=created.pk)
        else:
            status = 400
    return render(
        request,
        "training/model_selection_form.html",
        {"nav": "model-selection", "form": form},
        status=status,
    )


@login_required
def model_selection_detail(request: HttpRequest, pk) -> HttpResponse:
    _uses(request)
    found = _visible(request, pk)
    progress = _progress(found, request.user)
    return render(
        request,
        "training/model_selection_detail.html",
        {
            "nav": "model-selection",
            "selection": found,
            "progress": progress,
            "datasets": found.datasets.all(),
            "can_manage": permissions.can_manage_model_selection(found, request.user),
        },
    )


@login_required
@require_GET
def model_selection_progress(request: HttpRequest, pk) -> JsonResponse:
    """The job and its candidates, ranked once it ends (polled, never cached)."""
    if not permissions.uses_model_selection(request.user):
        return JsonResponse({"detail": "Not allowed."}, status=403)
    try:
        found = selection_selectors.model_selection_visible_to(request.user, pk)
    except DomainError as exc:
        return JsonResponse({"detail": exc.public_message}, status=exc.status)
    response = JsonResponse(_progress(found, request.user))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def model_selection_winner_submit(request: HttpRequest, pk) -> HttpResponse:
    _uses(request)
    found = _visible(request, pk)
    try:
        version = selection.model_selection_winner_submit(user=request.user, selection_id=found.pk)
    except DomainError as exc:
        error_message(request, exc, prefix="The winner was not taken: ")
        return redirect("model-selection:detail", pk=found.pk)
    messages.success(
        request,
        f"{version.sam.name} {version.version} is registered from the winner and submitted "
        "for audit.",
    )
    return redirect(reverse("registry:model-detail", args=[version.sam.slug]) + f"#v-{version.pk}")


@login_required
@require_POST
def model_selection_delete(request: HttpRequest, pk) -> HttpResponse:
    _uses(request)
    found = _visible(request, pk)
    try:
        selection.model_selection_delete(user=request.user, selection_id=found.pk)
    except DomainError as exc:
        error_message(request, exc)
        return redirect("model-selection:detail", pk=found.pk)
    messages.success(request, "The model selection is deleted.")
    return redirect("model-selection:list")
