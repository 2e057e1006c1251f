"""Portal pages. A form checks the input, a service does the work, and a refusal (DomainError)
is shown on the form with what the person typed still in it."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from core import roles
from core.errors import DomainError, error_message, error_to_form
from core.forms import ReasonForm
from registry import extensions, forms, permissions, selectors, services
from registry.artifacts import artifact_file_response
from registry.checklist import REGISTRATION_FIELDS, version_checklist
from registry.models import (
    AuditDecision,
    AuditReview,
    ModelVersion,
    Organisation,
    SmallAIModel,
    VersionStatus,
    VersionTransition,
)

CATALOG_PAGE_SIZE = 12
AUDITS_PAGE_SIZE = 20
# Lifecycle steps a button on the model page takes, and the service behind each.
TRANSITIONS = {
    "submit": services.version_submit,
    "revise": services.version_revise,
    "release": services.version_release,
    "deprecate": services.version_deprecate,
    "retire": services.version_retire,
}
TRANSITIONS_WITH_REASON = ("deprecate", "retire")


# --- helpers -------------------------------------------------------------------------------


def _version_url(version: ModelVersion) -> str:
    return reverse("registry:model-detail", args=[version.sam.slug]) + f"#v-{version.pk}"


def _ask_for_file_again(upload_form: Form) -> None:
    if upload_form.cleaned_data.get("artifact"):
        upload_form.add_error(
            "artifact", "Choose the file again: a browser does not keep it when a form comes back."
        )


def _visible_version(request: HttpRequest, pk: int) -> ModelVersion:
    return get_object_or_404(selectors.versions_visible_to(request.user), pk=pk)


def _all_valid(*forms_) -> bool:
    # Validate every form (no short-circuit) so all errors show at once.
    return all([f.is_valid() for f in forms_])


def _findings_by_field(review: AuditReview | None) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in review.findings if review else []:
        found.setdefault(finding.get("field", ""), []).append(finding.get("message", ""))
    return found


def _latest_rejection(version: ModelVersion) -> AuditReview | None:
    return version.reviews.filter(decision=AuditDecision.REJECTED).select_related("auditor").first()


def _organisations_for_new_models(user) -> QuerySet[Organisation]:
    """The user's organisations they may register new models for."""
    return Organisation.objects.filter(
        pk__in=[o.pk for o in user.organisations.all() if permissions.can_create_model(user, o)]
    )


# --- catalog -------------------------------------------------------------------------------


# Facets of the catalog: selectors.catalog_facets key -> (heading, query-string parameter).
FACETS = {
    "inference_type": ("Inference type", "inference_type"),
    "domain": ("Domain", "domain"),
    "region": ("Region", "region"),
    "scenario": ("Scenario", "scenario"),
    "tags": ("Tags", "tag"),
    "metric": ("Metric", "metric"),
}
# Values shown at once per facet; the rest (up to selectors.FACET_LIMIT) behind "more".
FACET_SHOWN = 5


def _facet_links(query: QueryDict, facets: dict, filters: dict) -> list[dict]:
    """Each facet's values as links that choose the value (or, when chosen, drop it) and keep
    the rest of the query string, back on the first page. A chosen value the data no longer
    has is kept, with 0, so it can be dropped."""
    links = []
    for name, (label, param) in FACETS.items():
        chosen = filters.get(name) or ()
        chosen = list(chosen) if name == "tags" else [chosen] if chosen else []
        chosen_keys = {c.lower() for c in chosen}
        values = list(facets[name])
        known = {v.value.lower() for v in values}
        values += [selectors.FacetValue(c, c, 0) for c in chosen if c.lower() not in known]
        entries = []
        for value in values:
            is_chosen = value.value.lower() in chosen_keys
            q = query.copy()
            q.pop("page", None)
            if name == "tags":
                tags = [t for t in q.getlist(param) if t.lower() != value.value.lower()]
                q.setlist(param, tags if is_chosen else [*tags, value.value])
            elif is_chosen:
                q.pop(param, None)
            else:
                q[param] = value.value
            entries.append(
                {
                    "label": value.label,
                    "count": value.count,
                    "chosen": is_chosen,
                    "href": f"?{q.urlencode()}",
                }
            )
        links.append(
            {
                "name": name,
                "label": label,
                "values": entries[:FACET_SHOWN],
                "more": entries[FACET_SHOWN:],
            }
        )
    return links


@login_required
def catalog(request: HttpRequest) -> HttpResponse:
    form = forms.CatalogFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()  # invalid fields are reported and left out of the search
    filters = form.search_filters()
    page = selectors.catalog_page(
        number=request.GET.get("page"),
        per_page=CATALOG_PAGE_SIZE,
        sort=form.search_sort(),
        **filters,
    )
    metrics = {p.performance_metric for v in page.object_list for p in v.performance.all()}
    context = {
        "form": form,
        "page": page,
        "facets": _facet_links(request.GET, selectors.catalog_facets(**filters), filters),
        # An empty result says why: the filters, or nothing released at all.
        "filtered": any(value not in ("", [], None) for value in filters.values()),
        # Scores without natural bounds (errors such as MAE) are drawn on the catalog's range.
        "metric_ranges": selectors.metric_ranges(metrics),
        "card_templates": extensions.catalog_card_templates,
        "nav": "catalog",
    }
    return render(request, "registry/catalog.html", context)


# --- provider pages ------------------------------------------------------------------------


@login_required
def my_models(request: HttpRequest) -> HttpResponse:
    if not roles.is_provider(request.user):
        raise PermissionDenied("Only providers have models of their own.")
    sams = (
        selectors.models_visible_to(request.user)
        .filter(organisation__in=request.user.organisations.all())
        .prefetch_related(
            Prefetch("versions", queryset=ModelVersion.objects.order_by("-created_at"))
        )
    )
    context = {
        "sams": sams,
        "can_create_model": _organisations_for_new_models(request.user).exists(),
        "nav": "mine",
    }
    return render(request, "registry/my_models.html", context)


@login_required
def model_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    organisations = _organisations_for_new_models(user)
    if not organisations:
        raise PermissionDenied("Only providers of an organisation can create models.")
    data, files = (request.POST, request.FILES) if request.method == "POST" else (None, None)
    sam_form = forms.SamCreateForm(data, organisations=organisations)
    version_form = forms.VersionForm(data)
    performance = forms.PerformanceFormSet(data, prefix="perf")
    upload_form = forms.OptionalArtifactForm(data, files)
    status = 200
    if data is not None and _all_valid(sam_form, version_form, performance, upload_form):
        try:
            upload = upload_form.cleaned_data["artifact"]
            version_fields = dict(version_form.cleaned_data)
            version = services.sam_register(
                user=user,
                organisation=sam_form.cleaned_data["organisation"],
                tags=sam_form.cleaned_data["tags"],
                sam_fields=sam_form.sam_fields(),
                version=version_fields.pop("version"),
                version_fields=version_fields,
                performance=performance.entries(),
                artifact=(upload, upload.name) if upload else None,
            )
        except DomainError as exc:
            error_to_form(exc, sam_form, version_form, upload_form, labels=REGISTRATION_FIELDS)
            _ask_for_file_again(upload_form)
            status = exc.status
        else:
            messages.success(
                request,
                f"{version.sam.name} {version.version} is created as a DRAFT. "
                "Submit it for audit when it is complete.",
            )
            return redirect(_version_url(version))
    context = {
        "sam_form": sam_form,
        "version_form": version_form,
        "performance": performance,
        "upload_form": upload_form,
        "nav": "mine",
    }
    return render(request, "registry/model_form.html", context, status=status)


@login_required
def version_create(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user
    sam = get_object_or_404(selectors.models_visible_to(user), slug=slug)
    if not permissions.can_add_version(sam, user):
        raise PermissionDenied("Only providers of the model's organisation can add versions.")
    parents = selectors.versions_visible_to(user).filter(sam=sam).order_by("-created_at")
    latest = parents.first()
    data, files = (request.POST, request.FILES) if request.method == "POST" else (None, None)
    version_form = forms.NewVersionForm(data, parents=parents, initial={"parent": latest})
    performance = forms.PerformanceFormSet(
        data,
        prefix="perf",
        initial=forms.performance_initial(latest) if latest and data is None else None,
    )
    upload_form = forms.OptionalArtifactForm(data, files)
    status = 200
    if data is not None and _all_valid(version_form, performance, upload_form):
        try:
            upload = upload_form.cleaned_data["artifact"]
            version = services.version_create(
                sam=sam,
                user=user,
                performance=performance.entries(),
                artifact=(upload, upload.name) if upload else None,
                **version_form.cleaned_data,
            )
        except DomainError as exc:
            error_to_form(exc, version_form, upload_form, labels=REGISTRATION_FIELDS)
            _ask_for_file_again(upload_form)
            status = exc.status
        else:
            messages.success(request, f"Version {version.version} is created as a DRAFT.")
            return redirect(_version_url(version))
    context = {
        "sam": sam,
        "version_form": version_form,
        "performance": performance,
        "upload_form": upload_form,
        "nav": "mine",
    }
    return render(request, "registry/version_form.html", context, status=status)


@login_required
def version_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    version = _visible_version(request, pk)
    if not permissions.can_edit_version(version, user):
        raise PermissionDenied("Only providers of the model's organisation can edit it.")
    if version.status != VersionStatus.DRAFT:
        hint = " Revise it first." if version.status == VersionStatus.REJECTED else ""
        messages.error(
            request,
            f"Version {version.version} is {version.status}; only a DRAFT can be edited.{hint}",
        )
        return redirect(_version_url(version))
    sam = version.sam
    frozen = selectors.sam_audit_freeze(sam)
    sam_initial = forms.SamForm.initial_for(sam)
    if request.method == "POST":
        sam_form = forms.SamForm(request.POST, initial=sam_initial, frozen=bool(frozen))
        version_form = forms.VersionForm(request.POST)
        performance = forms.PerformanceFormSet(request.POST, prefix="perf")
    else:
        sam_form = forms.SamForm(initial=sam_initial, frozen=bool(frozen))
        version_form = forms.VersionForm(initial=forms.VersionForm.initial_for(version))
        performance = forms.PerformanceFormSet(
            initial=forms.performance_initial(version), prefix="perf"
        )
    status = 200
    if request.method == "POST" and _all_valid(sam_form, version_form, performance):
        try:
            services.version_revision_save(
                version_id=version.pk,
                user=user,
                sam_fields=sam_form.sam_fields(),
                tags=sam_form.cleaned_data["tags"],
                version_fields=version_form.cleaned_data,
                performance=performance.entries(),
            )
        except DomainError as exc:
            error_to_form(exc, sam_form, version_form, labels=REGISTRATION_FIELDS)
            status = exc.status
        else:
            messages.success(request, f"{sam.name} {version.version} is saved.")
            return redirect(_version_url(version))
    rejection = _latest_rejection(version)
    context = {
        "version": version,
        "sam": sam,
        "sam_form": sam_form,
        "version_form": version_form,
        "performance": performance,
        "rejection": rejection,
        "findings": _findings_by_field(rejection),
        "frozen": frozen,
        "nav": "mine",
    }
    return render(request, "registry/version_edit.html", context, status=status)


# --- model page and its actions ------------------------------------------------------------


def _available_actions(version: ModelVersion, user) -> set[str]:
    """The buttons this user may press on this version now (the model's own guards decide)."""
    actions = set(selectors.version_available_actions(version, user))
    if version.status == VersionStatus.DRAFT and permissions.can_edit_version(version, user):
        actions |= {"edit", "upload"}
    if actions & {"approve", "reject"}:
        actions.add("audit")
    return actions


def _render_model_page(
    request: HttpRequest, sam: SmallAIModel, *, bound: dict | None = None, status: int = 200
) -> HttpResponse:
    user = request.user
    versions = list(
        selectors.versions_visible_to(user)
        .filter(sam=sam)
        .select_related("artifact_uploaded_by")
        .prefetch_related(
            "performance",
            "children",
            Prefetch("transitions", queryset=VersionTransition.objects.select_related("actor")),
            Prefetch("reviews", queryset=AuditReview.objects.select_related("auditor")),
        )
        .order_by("-created_at")
    )
    by_pk = {v.pk: v for v in versions}
    bound = bound or {}
    panels = []
    for version in versions:
        pk = version.pk
        forms_for = bound.get(pk, {})
        panels.append(
            {
                "version": version,
                "actions": _available_actions(version, user),
                "lineage": list(reversed(selectors.version_lineage(version, user))),
                "children": [c for c in version.children.all() if c.pk in by_pk],
                "upload_form": forms_for.get("upload_form")
                or forms.ArtifactForm(auto_id=f"id_%s_{pk}"),
                "register_form": forms_for.get("register_form")
                or forms.RegisterForm(auto_id=f"id_%s_{pk}"),
                "reason_form": ReasonForm(auto_id=f"id_%s_{pk}"),
                # Pages of other apps about this version (registry.extensions).
                "links": [
                    (link.label, reverse(link.url_name, args=[pk]))
                    for link in extensions.version_links
                    if link.visible(user, version)
                ],
                "training_context": json.dumps(version.training_context, indent=2)
                if version.training_context
                else "",
                # A call's body to start from, with the model's real input names.
                "example_body": json.dumps({"inputs": version.example_inputs()})
                if version.signature.get("inputs")
                else "",
                "can_download": bool(version.artifact)
                and permissions.can_download_artifact(version, user),
            }
        )
    # What other apps add to the page (registry.extensions), e.g. sharing's subscribe section.
    sections = [
        render_to_string(section.template, section_context, request)
        for section in extensions.model_page_sections
        if (section_context := section.context(request, sam)) is not None
    ]
    metrics = {p.performance_metric for v in versions for p in v.performance.all()}
    context = {
        "sam": sam,
        "panels": panels,
        "sections": sections,
        "metric_ranges": selectors.metric_ranges(metrics),
        # Released versions are visible to everyone: this is the model's latest release.
        "has_release": any(v.status == VersionStatus.RELEASED for v in versions),
        "can_add_version": permissions.can_add_version(sam, user),
        "nav": "mine" if roles.is_member(user, sam.organisation_id) else "catalog",
    }
    return render(request, "registry/model_detail.html", context, status=status)


@login_required
def model_detail(request: HttpRequest, slug: str) -> HttpResponse:
    sam = get_object_or_404(selectors.models_visible_to(request.user), slug=slug)
    return _render_model_page(request, sam)


@login_required
def version_artifact(request: HttpRequest, pk: int) -> HttpResponse:
    """The version's model file, streamed from the warehouse, for the model's providers,
    auditors and operators (registry.permissions.can_download_artifact); the checks other apps
    add (registry.extensions) log the delivery."""
    version = _visible_version(request, pk)
    if not permissions.can_download_artifact(version, request.user):
        raise PermissionDenied(
            "Only the model's providers, auditors and operators download its model file here; "
            "a consumer takes a released model out through a subscription."
        )
    if not version.artifact:
        raise Http404("This version has no model file in the warehouse.")
    try:
        extensions.artifact_download_check(user=request.user, version=version)
    except DomainError as exc:
        raise PermissionDenied(exc.message) from exc
    return artifact_file_response(version)


@login_required
@require_POST
def version_transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    version = _visible_version(request, pk)
    kwargs = {}
    if action in TRANSITIONS_WITH_REASON:
        reason_form = ReasonForm(request.POST)
        reason_form.is_valid()
        kwargs["reason"] = reason_form.cleaned_data.get("reason", "")
    try:
        version = TRANSITIONS[action](version_id=version.pk, user=request.user, **kwargs)
    except DomainError as exc:
        error_message(request, exc, labels=REGISTRATION_FIELDS)
    else:
        messages.success(
            request, f"{version.sam.name} {version.version} is now {version.get_status_display()}."
        )
    return redirect(_version_url(version))


@login_required
@require_POST
def version_upload(request: HttpRequest, pk: int) -> HttpResponse:
    version = _visible_version(request, pk)
    form = forms.ArtifactForm(request.POST, request.FILES, auto_id=f"id_%s_{pk}")
    status = 200
    if form.is_valid():
        upload = form.cleaned_data["artifact"]
        try:
            version = services.version_artifact_upload(
                version_id=pk, user=request.user, stream=upload, filename=upload.name
            )
        except DomainError as exc:
            error_to_form(exc, form, labels=REGISTRATION_FIELDS)
            status = exc.status
        else:
            messages.success(
                request,
                f"{upload.name} is checked and stored ({version.get_artifact_format_display()}, "
                f"sha256 {version.artifact_sha256[:12]}…).",
            )
            return redirect(_version_url(version))
    messages.error(request, "The file was not stored; see the upload form below.")
    return _render_model_page(
        request, version.sam, bound={pk: {"upload_form": form}}, status=status
    )


@login_required
@require_POST
def version_register(request: HttpRequest, pk: int) -> HttpResponse:
    version = _visible_version(request, pk)
    # No upload here: the file was audited with the DRAFT and is frozen since submission.
    form = forms.RegisterForm(request.POST, auto_id=f"id_%s_{pk}")
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        try:
            version = services.version_register(
                version_id=pk,
                user=request.user,
                access_type=data["access_type"],
                endpoint_url=data["endpoint_url"],
            )
        except DomainError as exc:
            error_to_form(exc, form, labels=REGISTRATION_FIELDS)
            status = exc.status
        else:
            messages.success(
                request,
                f"{version.sam.name} {version.version} is registered "
                f"({version.get_access_type_display()}).",
            )
            return redirect(_version_url(version))
    messages.error(request, "The version was not registered; see the register form below.")
    return _render_model_page(
        request, version.sam, bound={pk: {"register_form": form}}, status=status
    )


# --- comparing versions --------------------------------------------------------------------


@login_required
def version_compare(request: HttpRequest, slug: str) -> HttpResponse:
    """Versions of a model side by side (?v=<id>&v=<id>...): metrics, signature changes,
    training context and what other apps add (training's reports and datasets), with the
    model's lineage drawn as a graph. A version the user cannot see is a 404."""
    user = request.user
    sam = get_object_or_404(selectors.models_visible_to(user), slug=slug)
    family = list(selectors.versions_visible_to(user).filter(sam=sam).order_by("-created_at"))
    form = forms.VersionCompareForm(request.GET or None, versions=family)
    versions, status = [], 200
    if form.is_bound:
        if form.is_valid():
            try:
                versions = selectors.versions_to_compare(
                    user=user, sam=sam, version_ids=form.cleaned_data["v"]
                )
            except DomainError as exc:
                if exc.status == 404:
                    raise Http404(exc.message) from exc
                error_to_form(exc, form)
                status = exc.status
        else:
            status = 400
    context = {
        "sam": sam,
        "form": form,
        "versions": versions,
        "max_versions": selectors.COMPARE_MAX_VERSIONS,
        "graph": selectors.lineage_graph(
            sam=sam, visible=family, highlighted=[v.pk for v in versions]
        ),
        "nav": "mine" if roles.is_member(user, sam.organisation_id) else "catalog",
    }
    if versions:
        metrics = selectors.metric_comparison(versions)
        shown = {v.pk for v in family}
        context |= {
            # A parent the user cannot see is not named.
            "parents": [v.parent if v.parent_id in shown else None for v in versions],
            "metrics": metrics,
            "charts": {
                axis: selectors.metric_chart(versions, rows) for axis, rows in metrics.items()
            },
            "signature_diffs": selectors.signature_diffs(versions),
            "training_context": selectors.training_context_comparison(versions),
            # What other apps add (registry.extensions), e.g. training's reports and datasets.
            "sections": [
                render_to_string(section.template, section_context, request)
                for section in extensions.version_compare_sections
                if (section_context := section.context(request, versions)) is not None
            ],
        }
    return render(request, "registry/version_compare.html", context, status=status)


# --- audit ---------------------------------------------------------------------------------


def _require_auditor(user) -> None:
    if not roles.is_auditor(user):
        raise PermissionDenied("Only auditors can open the audit queue.")


@login_required
def audit_queue(request: HttpRequest) -> HttpResponse:
    """The queue, then the auditor's own past decisions, newest first."""
    _require_auditor(request.user)
    context = {
        "versions": selectors.audit_queue(request.user),
        "page": Paginator(selectors.audits_by(request.user), AUDITS_PAGE_SIZE).get_page(
            request.GET.get("page")
        ),
        "nav": "audit",
    }
    return render(request, "registry/audit_queue.html", context)


def _registration_rows(version: ModelVersion) -> list[dict]:
    """Every field an auditor may name in a finding, with its current value as text."""
    sam = version.sam
    values = {
        **{name: getattr(sam, name) for name in services.SAM_FIELDS},
        "inference_type": sam.get_inference_type_display(),
        "tags": ", ".join(t.name for t in sam.tags.all()),
        "version": version.version,
        "release_notes": version.release_notes,
        "training_context": json.dumps(version.training_context, indent=2)
        if version.training_context
        else "",
        "artifact": (
            f"{version.artifact_filename} · {version.get_artifact_format_display()} · "
            f"{version.artifact_size} bytes · sha256 {version.artifact_sha256}"
            if version.artifact_sha256
            else ""
        ),
        "endpoint_url": version.endpoint_url,
    }
    return [
        {"field": field, "label": label, "value": values.get(field, "")}
        for field, label in REGISTRATION_FIELDS.items()
    ]


@login_required
def audit_version(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    _require_auditor(user)
    version = get_object_or_404(
        selectors.versions_visible_to(user).prefetch_related(
            "performance",
            "sam__tags",
            Prefetch("reviews", queryset=AuditReview.objects.select_related("auditor")),
        ),
        pk=pk,
    )
    approve_form = forms.ApproveForm()
    reject_form = forms.RejectForm()
    findings = forms.FindingFormSet(prefix="findings")
    status = 200
    if request.method == "POST":
        decision = request.POST.get("decision")
        try:
            if decision == "approve":
                approve_form = forms.ApproveForm(request.POST)
                if approve_form.is_valid():
                    services.version_approve(
                        version_id=pk, user=user, reason=approve_form.cleaned_data["note"]
                    )
                    messages.success(request, f"{version} is approved.")
                    return redirect("registry:audit-queue")
            elif decision == "reject":
                reject_form = forms.RejectForm(request.POST)
                findings = forms.FindingFormSet(request.POST, prefix="findings")
                if _all_valid(reject_form, findings):
                    services.version_reject(
                        version_id=pk,
                        user=user,
                        reason=reject_form.cleaned_data["reason"],
                        findings=findings.findings(),
                    )
                    messages.success(request, f"{version} is rejected; the provider is told why.")
                    return redirect("registry:audit-queue")
            else:
                messages.error(request, "Choose approve or reject.")
                status = 400
        except DomainError as exc:
            error_to_form(
                exc,
                approve_form if decision == "approve" else reject_form,
                labels=REGISTRATION_FIELDS,
            )
            status = exc.status
    context = {
        "version": version,
        "rows": _registration_rows(version),
        "checklist": version_checklist(version),
        "metric_ranges": selectors.metric_ranges(
            p.performance_metric for p in version.performance.all()
        ),
        "can_download": bool(version.artifact) and permissions.can_download_artifact(version, user),
        "can_decide": version.status == VersionStatus.SUBMITTED
        and permissions.can_audit(version, user),
        "audit_refusal": permissions.audit_refusal(version, user),
        "approve_form": approve_form,
        "reject_form": reject_form,
        "findings": findings,
        "nav": "audit",
    }
    return render(request, "registry/audit_version.html", context, status=status)
