"""Portal pages of training. Datasets: the list with each quality score and the upload form,
a dataset's page with its columns and the parts of its score, and deletion. Training (TS 28.105
clause 7): the requests one may see, the request form, a request's page with a live progress
bar per process (static/js/training-progress.js polls `training_process_progress`), the
report with a chart comparing the new version with its parent, and cancel, suspend and resume;
and the retraining section of a RETRAINING subscription's use page (sharing.extensions). A form
checks the input, a service does the work, and a refusal (DomainError) is shown on the form
with what the person typed still in it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError, error_message, error_to_form
from registry.models import VersionStatus
from training import forms, permissions, selectors, services
from training.models import PROCESS_ENDED, MLTrainingProcess, ProcessStatus, RequestStatus

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
                # Back to the page the form was on (a RETRAINING subscription's use page).
                if _safe_next(request):
                    return redirect(request.POST["next"])
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


def _safe_next(request: HttpRequest) -> bool:
    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


# --- training requests, processes and reports ------------------------------------------------

DONE = {"cancel": "cancelled", "suspend": "suspended", "resume": "resumed"}
CONFIRM = {
    "cancel": "Cancel this training? It stops at its next step and what it made is deleted.",
    "suspend": "Suspend this training? It pauses at its next step until it is resumed.",
    "resume": "Resume this training from the step where it paused?",
}


def _uses_training(request: HttpRequest) -> None:
    if not permissions.uses_training(request.user):
        raise PermissionDenied("Training serves providers, consumers, auditors and operators.")


def _visible(lookup, user, pk: int):
    try:
        return lookup(user, pk)
    except DomainError:
        raise Http404("No such training object.") from None


def _actions(obj, kind: str, user) -> list[dict]:
    """The confirm-buttons (components/confirm_form.html) of the actions the user may take."""
    return [
        {
            "url": reverse(f"training:{kind}-{action}", args=[obj.pk]),
            "confirm": CONFIRM[action],
            "label": f"{action.capitalize()} {kind}",
            "id": f"{kind}-{action}-{obj.pk}",
            "style": "danger" if action == "cancel" else "",
        }
        for action in selectors.training_actions_for(obj, user)
    ]


def _process_rows(processes, user) -> list[dict]:
    return [
        {
            "process": p,
            "actions": _actions(p, "process", user),
            "report": getattr(p, "report", None),
        }
        for p in processes
    ]


@login_required
def training_list(request: HttpRequest) -> HttpResponse:
    _uses_training(request)
    requests = selectors.training_requests_visible_to(request.user).prefetch_related(
        "processes", "processes__report"
    )
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "training/requests.html",
        {
            "nav": "training",
            "page": page,
            "requests": page.object_list,
            "can_request": bool(selectors.trainable_versions_for(request.user)),
        },
    )


@login_required
def training_request_create(request: HttpRequest) -> HttpResponse:
    """The training request form: a version, the candidate datasets, the priority and an
    optional performance requirement; the service decides whether the user may train it."""
    _uses_training(request)
    versions = selectors.trainable_versions_for(request.user)
    form = forms.TrainingRequestForm(
        request.POST or None,
        versions=versions,
        datasets=selectors.datasets_usable_by(request.user).select_related("organisation"),
        initial={"ml_entity": request.GET.get("version")},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.training_request_create(
                    user=request.user,
                    ml_entity_id=data["ml_entity"].pk,
                    candidate_training_data_source=[
                        d.pk for d in data["candidate_training_data_source"]
                    ],
                    performance_requirements=form.performance_requirements(),
                    priority=data["priority"],
                )
            except DomainError as exc:
                error_to_form(
                    exc,
                    form,
                    labels={"candidate_training_data_source": "Training data"},
                )
                status = exc.status
            else:
                messages.success(
                    request,
                    f"Training request {created.pk} is queued: {created.ml_entity.sam.name} "
                    f"{created.ml_entity.version} on {len(data['candidate_training_data_source'])}"
                    " dataset(s).",
                )
                return redirect("training:request-detail", pk=created.pk)
        else:
            status = 400
    return render(
        request,
        "training/request_form.html",
        {"nav": "training", "form": form, "has_versions": bool(versions)},
        status=status,
    )


@login_required
def training_request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _uses_training(request)
    training = _visible(selectors.training_request_visible_to, request.user, pk)
    processes = training.processes.select_related("trained_version").prefetch_related("report")
    return render(
        request,
        "training/request_detail.html",
        {
            "nav": "training",
            "training": training,
            "rows": _process_rows(processes.order_by("pk"), request.user),
            "actions": _actions(training, "request", request.user),
            "events": training.events.select_related("actor").order_by("created_at", "pk"),
        },
    )


ACTION_SERVICES = {
    "request": {
        "cancel": services.training_request_cancel,
        "suspend": services.training_request_suspend,
        "resume": services.training_request_resume,
    },
    "process": {
        "cancel": services.training_process_cancel,
        "suspend": services.training_process_suspend,
        "resume": services.training_process_resume,
    },
}


@login_required
@require_POST
def training_action(request: HttpRequest, kind: str, pk: int, action: str) -> HttpResponse:
    """Cancel, suspend or resume a request or a process (after the page's confirmation)."""
    _uses_training(request)
    if kind == "request":
        training = _visible(selectors.training_request_visible_to, request.user, pk)
        call = {"request_id": pk}
    else:
        training = _visible(
            selectors.training_process_visible_to, request.user, pk
        ).training_request
        call = {"process_id": pk}
    what = f"Training {kind} {pk}"
    try:
        ACTION_SERVICES[kind][action](user=request.user, reason="from the portal", **call)
    except DomainError as exc:
        error_message(request, exc, prefix=f"{what} was not {DONE[action]}: ")
    else:
        messages.success(request, f"{what} is {DONE[action]}.")
    return redirect("training:request-detail", pk=training.pk)


def process_progress(process: MLTrainingProcess) -> dict:
    """What the progress bar shows of a process (progressStatus), as the JSON endpoint and the
    first rendering of the page give it."""
    report = getattr(process, "report", None)
    return {
        "id": process.pk,
        "status": process.status,
        "status_label": process.get_status_display(),
        "progress_state_info": process.progress_state_info,
        "progress_state_label": process.get_progress_state_info_display(),
        "progress_percentage": process.progress_percentage,
        "result_state_info": process.result_state_info,
        "ended": process.status in PROCESS_ENDED,
        "request_status": process.training_request.status if process.training_request else "",
        "request_status_label": (
            process.training_request.get_status_display() if process.training_request else ""
        ),
        "report_url": reverse("training:report-detail", args=[report.pk]) if report else "",
    }


def request_progress(training) -> dict:
    """The progress bar of a request a worker has not started yet (no process): queued, or
    ended without one (cancelled before it started); its process's once it has one."""
    process = training.processes.select_related("training_request").order_by("pk").first()
    if process is not None:
        return process_progress(process)
    ended = training.status in (RequestStatus.CANCELLED, RequestStatus.FINISHED)
    return {
        "id": None,
        "status": training.status if ended else ProcessStatus.NOT_STARTED,
        "status_label": training.get_status_display() if ended else "Queued",
        "progress_state_info": "",
        "progress_state_label": "",
        "progress_percentage": 0,
        "result_state_info": "",
        "ended": ended,
        "request_status": training.status,
        "request_status_label": training.get_status_display(),
        "report_url": "",
    }


def _progress_json(progress: dict) -> JsonResponse:
    response = JsonResponse(progress)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def training_request_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """The request's process's progressStatus, or that it waits for a worker (polled)."""
    if not permissions.uses_training(request.user):
        return JsonResponse({"detail": "Not allowed."}, status=403)
    try:
        training = selectors.training_request_visible_to(request.user, pk)
    except DomainError as exc:
        return JsonResponse({"detail": exc.public_message}, status=exc.status)
    return _progress_json(request_progress(training))


@login_required
@require_GET
def training_process_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """progressStatus of a process for the page's progress bar (polled, never cached)."""
    if not permissions.uses_training(request.user):
        return JsonResponse({"detail": "Not allowed."}, status=403)
    try:
        process = selectors.training_process_visible_to(request.user, pk)
    except DomainError as exc:
        return JsonResponse({"detail": exc.public_message}, status=exc.status)
    return _progress_json(process_progress(process))


@login_required
def training_report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An MLTrainingReport: its attributes, the metrics of the new version against its parent
    and on the training rows, and a chart of the two versions (Chart.js, static files)."""
    _uses_training(request)
    report = _visible(selectors.training_report_visible_to, request.user, pk)
    comparison = selectors.report_comparison(report)
    return render(
        request,
        "training/report_detail.html",
        {
            "nav": "training",
            "report": report,
            "comparison": comparison,
            "chart": {
                "labels": [row["metric"] for row in comparison],
                "parent_label": f"{report.ml_entity.version} (parent)",
                "new_label": (
                    f"{report.trained_version.version} (new)" if report.trained_version else "new"
                ),
                "parent": [row["parent"] for row in comparison],
                "new": [row["validation"] for row in comparison],
            },
        },
    )


# --- the retraining section of a RETRAINING subscription's use page (sharing.extensions) ----


def retraining_section(request: HttpRequest, subscription, version) -> dict | None:
    """What a consumer with an active RETRAINING subscription sees on its use page: their
    datasets and the upload form, the form that starts a retraining of the version, each
    retraining with its progress bar, and a notice for each retrained version released."""
    user = request.user
    if subscription.consumer_id != user.pk:
        return None
    trainings = list(selectors.retraining_requests_of(subscription))
    rows = []
    for training in trainings:
        processes = list(training.processes.all())
        trained = next((p.trained_version for p in processes if p.trained_version), None)
        rows.append(
            {
                "training": training,
                "processes": _process_rows(processes, user),
                "trained": trained,
                "released": trained is not None and trained.status == VersionStatus.RELEASED,
            }
        )
    organisations = selectors.upload_organisations_of(user)
    datasets = selectors.datasets_usable_by(user).select_related("organisation")
    can_train = permissions.can_request_training(version, user)
    return {
        "subscription": subscription,
        "version": version,
        "rows": rows,
        "released": [row for row in rows if row["released"]],
        "datasets": datasets,
        "upload_form": forms.DatasetUploadForm(organisations=organisations)
        if organisations.exists()
        else None,
        "request_form": forms.TrainingRequestForm(
            versions=[version], datasets=datasets, initial={"ml_entity": version.pk}
        )
        if can_train and datasets.exists()
        else None,
        "can_train": can_train,
        "use_url": reverse("sharing:subscription-use", args=[subscription.pk]),
    }


# --- training's part of the registry's page comparing versions (registry.extensions) --------


def version_compare_section(request: HttpRequest, versions: list) -> dict | None:
    """For each compared version SAM Hub trained: the report of that training, the version it
    was trained from and the data it used (each dataset linked for those who may open it).
    Nothing when the user can see no such report."""
    user = request.user
    reports = selectors.training_reports_of(user, versions)
    if not reports:
        return None
    used = {d.pk for r in reports.values() for d in r.used_consumer_training_data.all()}
    openable = set(
        selectors.datasets_visible_to(user).filter(pk__in=used).values_list("pk", flat=True)
    )
    return {
        "columns": [
            {
                "version": version,
                "report": reports.get(version.pk),
                "datasets": [
                    (d, d.pk in openable)
                    for d in reports[version.pk].used_consumer_training_data.all()
                ]
                if version.pk in reports
                else [],
            }
            for version in versions
        ]
    }
