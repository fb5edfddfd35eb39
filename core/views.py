"""Project-level pages: the audit log, the login guard's locks and a health check."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core import audit_export as audit_export_service
from core import audit_pages, throttle, view_helpers
from core.audit import EVENTS, Origin, events_visible_to, scope_parts
from core.forms import AuditFilterForm

AUDIT_EVENTS_PER_PAGE = 50


@permission_required("core.view_auditevent", raise_exception=True)
@require_GET
def audit_log(request):
    """The reader's events, newest first, a page at a time by seeking (core.audit_pages): no OFFSET, no count."""
    form, events = _filtered_events(request)
    try:
        position = audit_pages.Position.from_query(request.GET)
    except ValidationError as refused:
        return HttpResponseBadRequest(refused.messages[0])
    paging = view_helpers.paging(request, default_size=AUDIT_EVENTS_PER_PAGE)
    page = audit_pages.seek_page(events, size=paging.size, position=position, parts=scope_parts(request.user))
    context = {"form": form, "page": page, "paging": paging, "position": position}
    context["filter_query"] = view_helpers.query_keeping(request, [*form.fields, "size"])
    context["export_query"] = view_helpers.query_keeping(request, form.fields)
    return render(request, "core/audit_log.html", context, status=400 if form.errors else 200)


@permission_required("core.view_auditevent", raise_exception=True)
@require_GET
def audit_export(request, file_format):
    """The events the audit page lists with the same filters, as a CSV or JSON Lines download (audited)."""
    form, events = _filtered_events(request)
    if form.errors:
        return audit_log(request)
    chunks = audit_export_service.export(
        origin=Origin.from_request(request), events=events, filters=form.cleaned_data, file_format=file_format
    )
    response = StreamingHttpResponse(chunks, content_type=f"{audit_export_service.FORMATS[file_format]}; charset=utf-8")
    filename = f"audit-{timezone.now():%Y%m%dT%H%M%SZ}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _filtered_events(request):
    """The filter form of the request's query, and the reader's events it selects (all of them while it has errors)."""
    events = events_visible_to(request.user)
    form = AuditFilterForm(request.GET, actions=EVENTS, local=True)  # days and times in the reader's zone
    if form.is_valid():
        events = audit_export_service.filter_events(events, form.cleaned_data)
    return form, events


@permission_required("core.unlock_accounts", raise_exception=True)
@require_http_methods(["GET", "POST"])
def locks(request):
    """The accounts and addresses the login guard makes wait now; lifting one is a POST from its row."""
    if request.method == "POST":
        kind, name = request.POST.get("kind"), request.POST.get("name", "").strip()
        if kind not in ("account", "ip") or not name or len(name) > 150:
            return HttpResponseBadRequest(_("Name an account or an address to unlock."))
        try:
            throttle.lift_lock(origin=Origin.from_request(request), kind=kind, name=name)
        except ValidationError as refused:
            return HttpResponseBadRequest(refused.messages[0])
        if kind == "account":
            lifted = _("The lock of the account %(name)s is lifted.") % {"name": name}
        else:
            lifted = _("The lock of the address %(name)s is lifted.") % {"name": name}
        messages.success(request, lifted)
        return redirect("locks")
    return render(request, "core/locks.html", {"locks": throttle.current_locks()})


@login_not_required
@require_GET
def healthz(request):
    """For load balancers: the process answers and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "time": timezone.now().isoformat()})
