"""Portal pages of training. Datasets: the list with each quality score and the upload form,
a dataset's page with its columns and the parts of its score, and deletion. A form checks the
input, a service does the work, and a refusal (DomainError) is shown on the form with what the
person typed still in it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError, error_message, error_to_form
from training import forms, permissions, selectors, services

PAGE_SIZE = 20


@login_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    if not permissions.uses_datasets(request.user):
        raise PermissionDenied("Datasets belong to organisations; you are not in one.")
    organisations = selectors.upload_organisations_of(request.user)
    form = None
    if organisations.exists():
        form = forms.DatasetUploadForm(
            request.POST or None, request.FILES or None, organisations=organisations
        )
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("You cannot upload datasets.")
        if form.is_valid():
            data = form.cleaned_data
            try:
                dataset = services.dataset_upload(
                    user=request.user,
                    organisation=data["organisation"],
                    name=data["name"],
                    description=data["description"],
                    target_column=data["target_column"],
                    stream=data["file"],
                    filename=data["file"].name,
                )
            except DomainError as exc:
                error_to_form(exc, form)
            else:
                messages.success(
                    request,
                    f"{dataset.name} is stored: {dataset.row_count:,} rows, quality "
                    f"{dataset.quality_score:g}/100.",
                )
                return redirect("training:dataset-detail", pk=dataset.pk)
    page = Paginator(selectors.datasets_visible_to(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    status = 400 if form is not None and form.errors else 200
    return render(
        request,
        "training/datasets.html",
        {"nav": "datasets", "page": page, "datasets": page.object_list, "form": form},
        status=status,
    )


@login_required
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        dataset = selectors.dataset_visible_to(request.user, pk)
    except DomainError:
        raise Http404("No such dataset.") from None
    return render(
        request,
        "training/dataset_detail.html",
        {
            "nav": "datasets",
            "dataset": dataset,
            "can_delete": permissions.can_delete_dataset(dataset, request.user),
            "missing_pct": 100 * dataset.missing_ratio,
            "duplicate_pct": 100 * dataset.duplicate_ratio,
            "constant_pct": 100 * len(dataset.constant_columns) / len(dataset.columns),
        },
    )


@login_required
@require_POST
def dataset_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        dataset = selectors.dataset_visible_to(request.user, pk)
    except DomainError:
        raise Http404("No such dataset.") from None
    try:
        services.dataset_delete(user=request.user, dataset_id=dataset.pk)
    except DomainError as exc:
        error_message(request, exc)
        return redirect("training:dataset-detail", pk=pk)
    messages.success(request, f"{dataset.name} is deleted.")
    return redirect("training:dataset-list")
