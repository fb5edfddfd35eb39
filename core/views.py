"""Project-level pages: the audit log, the login guard's locks and a health check."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from core import throttle, view_helpers
from core.audit import Origin, events_visible_to
from core.forms import AuditFilterForm

AUDIT_EVENTS_PER_PAGE = 50


@permission_required("core.view_auditevent", raise_exception=True)
@require_GET
def audit_log(request):
    events = events_visible_to(request.user)
    actions = events.order_by().values_list("action", flat=True).distinct()
    form = AuditFilterForm(request.GET or None, actions=actions)
    if form.is_valid():
        data = form.cleaned_data
        if data["actor"]:
            events = events.filter(actor_name__iexact=data["actor"])
        if data["action"]:
            events = events.filter(action=data["action"])
        if data["since"]:
            events = events.filter(created_at__gte=_day_start(data["since"]))
        if data["until"]:
            events = events.filter(created_at__lt=_day_start(data["until"] + datetime.timedelta(days=1)))
    paging = view_helpers.paging(request, default_size=AUDIT_EVENTS_PER_PAGE)
    context = {"form": form, **paging.context(Paginator(events, paging.size).get_page(paging.number))}
    return render(request, "core/audit_log.html", context, status=400 if form.errors else 200)


def _day_start(day):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


@permission_required("core.unlock_accounts", raise_exception=True)
@require_http_methods(["GET", "POST"])
def locks(request):
    """The accounts and addresses the login guard makes wait now; lifting one is a POST from its row."""
    if request.method == "POST":
        kind, name = request.POST.get("kind"), request.POST.get("name", "").strip()
        if kind not in ("account", "ip") or not name or len(name) > 150:
            return HttpResponseBadRequest("Name an account or an address to unlock.")
        throttle.lift_lock(origin=Origin.from_request(request), kind=kind, name=name)
        what = "account" if kind == "account" else "address"
        messages.success(request, f"The lock of the {what} {name} is lifted.")
        return redirect("locks")
    return render(request, "core/locks.html", {"locks": throttle.current_locks()})


@login_not_required
@require_GET
def healthz(request):
    """For load balancers: the process answers and reaches its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "time": timezone.now().isoformat()})
