"""User management pages. Thin: check permission, parse the form, call a service."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import (
    ChangeOwnPasswordForm,
    EnabledForm,
    ExpiryForm,
    MoveForm,
    SetPasswordForm,
    UserCreateForm,
    UserFieldForm,
)
from accounts.rows import UserRows
from core import view_helpers
from core.audit import Origin
from core.reauth import sudo_required
from core.templatetags.moments import format_moment
from core.view_helpers import apply_service_errors, is_htmx, page_redirect, posted, render_action
from organisation import scope
from organisation import selectors as organisation_selectors
from usersessions import services as session_services

INLINE_FIELDS = ("username", "email")


# The user list's view options: kept by the company tree's links and the search form.
LIST_OPTIONS = ("size", "direct", "nested")


@permission_required("accounts.view_user", raise_exception=True)
def user_list(request):
    search = request.GET.get("q", "")[:100]
    options = {
        "company": _chosen_company(request),
        "direct_only": request.GET.get("direct") == "1",
        "nested": request.GET.get("nested") == "1",
    }
    paging = view_helpers.paging(request, default_size=settings.PANEL_USERS_PER_PAGE)
    page = selectors.user_list(actor=request.user, search=search, page=paging.number, per_page=paging.size, **options)
    context = {
        **paging.context(page),
        **options,
        "search": search,
        "companies": organisation_selectors.company_branch(request.user, options["company"]),
        "options_query": view_helpers.query_keeping(request, LIST_OPTIONS),
        "perms": view_helpers.RememberedPerms(request.user),
    }
    return render(request, "accounts/user_list.html", context)


def _chosen_company(request):
    """The company picked in the tree (``?company=``), or None for every user in scope."""
    raw = request.GET.get("company", "")
    if not raw:
        return None
    if not raw.isdecimal():
        raise Http404("No such company.")
    return organisation_selectors.company_get(actor=request.user, pk=int(raw))


def _chosen_parent(request):
    """The user a new sub-user goes under (``?parent=``), or None."""
    raw = request.GET.get("parent", "")
    if not raw:
        return None
    if not raw.isdecimal():
        raise Http404("No such user.")
    return scope.user_get(actor=request.user, pk=int(raw))


@permission_required("accounts.add_user", raise_exception=True)
@require_http_methods(["GET", "POST"])
def user_create(request):
    """Create a user; ``?company=`` picks its company (the tree's "+"), ``?parent=`` makes it a sub-user."""
    parent = _chosen_parent(request)
    company = parent.company if parent else _chosen_company(request)
    initial = {"company": company, "parent": parent, "expires_at": parent.expires_at if parent else None}
    form = UserCreateForm(posted(request), initial=initial, actor=request.user)
    if parent:
        form.fields["company"].widget = forms.HiddenInput()  # a sub-user has its parent's company
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_create(origin=Origin.from_request(request), **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("User %(name)s was created.") % {"name": user.username})
            return page_redirect(request, "accounts:user_list")
    context = {"form": form, "parent": parent}
    return render_action(request, "accounts/user_create.html", context, status=400 if form.errors else 200)


def _inline_field(field):
    if field not in INLINE_FIELDS:
        raise Http404("This field cannot be edited inline.")
    return field


@permission_required("accounts.view_user", raise_exception=True)
def user_field(request, pk, field):
    """The display cell of an inline-editable field (what Escape goes back to)."""
    user = scope.user_get(actor=request.user, pk=pk)
    return HttpResponse(UserRows(request).cell(user, _inline_field(field)))


@permission_required("accounts.change_user", raise_exception=True)
@require_http_methods(["GET", "POST"])
@sudo_required(when=lambda request, pk, field: field == "email")
def user_field_edit(request, pk, field):
    """Edit one field in place: the form fragment for htmx, or a small page without JavaScript."""
    user = scope.user_get(actor=request.user, pk=pk)
    field = _inline_field(field)
    form = UserFieldForm(posted(request), initial={"value": getattr(user, field)})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(origin=Origin.from_request(request), user=user, **{field: form.cleaned_data["value"]})
        except ValidationError as error:
            # The stored value is untouched; show the rule that failed under the cell.
            user.refresh_from_db()
            for message in error.message_dict.get(field, error.messages):
                form.add_error("value", message)
        else:
            if is_htmx(request):
                return _saved_cell(request, user, field)
            messages.success(request, _saved_field(field, user))
            return redirect("accounts:user_list")
    context = {"row": user, "field": field, "form": form}
    template = "accounts/_user_cell_form.html" if is_htmx(request) else "accounts/user_field_page.html"
    # htmx swaps 200 responses only, so a refused value comes back as 200 with its message.
    status = 400 if form.errors and not is_htmx(request) else 200
    return render(request, template, context, status=status)


@permission_required("accounts.change_user", raise_exception=True)
@require_http_methods(["GET", "POST"])
def user_expiry(request, pk):
    """Set or clear the moment a user's account expires, or that of every account of their company."""
    user = scope.user_get(actor=request.user, pk=pk, action="expiry")
    company_size = organisation_selectors.company_user_count(user.company) if user.company_id else 0
    form = ExpiryForm(posted(request), initial={"expires_at": user.expires_at}, user=user, company_size=company_size)
    if request.method == "POST" and form.is_valid():
        whole_company = form.cleaned_data.get("whole_company", False)
        if whole_company and not request.POST.get("confirmed"):
            context = {"target": user, "form": form, "company_size": company_size}
            return render_action(request, "accounts/user_expiry_confirm.html", context)
        try:
            expires_at = form.cleaned_data["expires_at"]
            origin = Origin.from_request(request)
            changed = services.user_set_expiry(
                origin=origin, user=user, expires_at=expires_at, whole_company=whole_company
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        except services.LastUserError as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _expiry_set(user, changed, whole_company=whole_company))
            return page_redirect(request, "accounts:user_list")
    context = {"target": user, "form": form}
    return render_action(request, "accounts/user_expiry.html", context, status=400 if form.errors else 200)


def _saved_cell(request, user, field):
    """The cell again; renaming yourself also renames you in the top bar (out of band)."""
    cell = UserRows(request).cell(user, field)
    if field == "username" and user.pk == request.user.pk:
        cell += render_to_string("_topbar_account.html", {"name": user.username, "oob": True}, request)
    return HttpResponse(cell)


def _saved_field(field, user):
    if field == "username":
        return _("Saved the username of %(name)s.") % {"name": user.username}
    return _("Saved the email of %(name)s.") % {"name": user.username}


def _expiry_set(user, changed, *, whole_company):
    if whole_company:
        params = {"count": changed, "company": user.company}
        if user.expires_at:
            params["when"] = format_moment(user.expires_at)
            return (
                ngettext(
                    "Expiry set for %(count)d account of %(company)s: %(when)s.",
                    "Expiry set for %(count)d accounts of %(company)s: %(when)s.",
                    changed,
                )
                % params
            )
        return (
            ngettext(
                "Expiry set for %(count)d account of %(company)s: never.",
                "Expiry set for %(count)d accounts of %(company)s: never.",
                changed,
            )
            % params
        )
    if user.expires_at:
        return _("Expiry set for %(name)s: %(when)s.") % {"name": user.username, "when": format_moment(user.expires_at)}
    return _("Expiry set for %(name)s: never.") % {"name": user.username}


@permission_required("accounts.change_user", raise_exception=True)
@require_POST
def user_enabled(request, pk):
    """The Enabled switch of a row: the switch again for htmx (with why, if refused), else back to the list."""
    user, form, refusal = scope.user_get(actor=request.user, pk=pk), EnabledForm(request.POST), None
    if not form.is_valid():
        return HttpResponseBadRequest(_("enabled must be true or false."))
    enabled = form.cleaned_data["enabled"]
    try:
        services.user_set_enabled(origin=Origin.from_request(request), user=user, enabled=enabled)
    except (PermissionDenied, services.LastUserError) as refused:
        refusal = str(refused)
    if is_htmx(request):  # htmx swaps 200 answers only: a refusal comes back as 200 with its message
        return HttpResponse(UserRows(request).enabled_switch(user, refusal))
    if refusal:
        messages.error(request, refusal)
    else:
        done = _("The account of %(name)s is enabled.") if enabled else _("The account of %(name)s is disabled.")
        messages.success(request, done % {"name": user.username})
    return redirect("accounts:user_list")


@permission_required("accounts.change_user", raise_exception=True)
@require_http_methods(["GET", "POST"])
def user_move(request, pk):
    """Move a user, with its sub-users, to another company within your scope."""
    user = scope.user_get(actor=request.user, pk=pk)
    form = MoveForm(posted(request), initial={"company": user.company}, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            moved = services.user_move(origin=Origin.from_request(request), user=user, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _moved(user, moved))
            return page_redirect(request, "accounts:user_list")
    context = {"target": user, "form": form, "sub_users": selectors.all_sub_users(user)}
    return render_action(request, "accounts/user_move.html", context, status=400 if form.errors else 200)


def _moved(user, moved):
    params = {"name": user.username, "company": user.company.name if user.company else "", "count": moved}
    if moved <= 1:
        if user.company:
            return _("%(name)s now belongs to %(company)s.") % params
        return _("%(name)s now belongs to the panel staff.") % params
    if user.company:
        return (
            ngettext(
                "%(name)s now belongs to %(company)s (%(count)d account).",
                "%(name)s now belongs to %(company)s (%(count)d accounts).",
                moved,
            )
            % params
        )
    return (
        ngettext(
            "%(name)s now belongs to the panel staff (%(count)d account).",
            "%(name)s now belongs to the panel staff (%(count)d accounts).",
            moved,
        )
        % params
    )


@require_http_methods(["GET", "POST"])
@sudo_required(when=lambda request, pk: pk != request.user.pk)  # your own asks for the current password itself
def user_password(request, pk):
    """Change a password: your own (needs the current one) or, with permission, anyone's."""
    own = pk == request.user.pk
    user = scope.self_or_permitted(actor=request.user, user_id=pk, permission="accounts.change_user")
    form = (ChangeOwnPasswordForm if own else SetPasswordForm)(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            done = (_change_own_password if own else _set_password)(request, user, form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            return done
    context = {"target": user, "own": own, "form": form}
    return render_action(request, "accounts/user_password.html", context, status=400 if form.errors else 200)


def _change_own_password(request, user, data):
    """Your own: the other sessions end, this one stays (with a new key and the new password's hash)."""
    old_key = request.session.session_key
    services.user_change_own_password(
        origin=Origin.from_request(request),
        user=user,
        current_password=data["current_password"],
        new_password=data["password"],
        session_key=old_key,
    )
    update_session_auth_hash(request, user)
    session_services.session_rekey(old_key=old_key, new_key=request.session.session_key)
    messages.success(request, _("Your password was changed. Your other sessions have been logged out."))
    return page_redirect(request, "home")


def _set_password(request, user, data):
    services.user_set_password(origin=Origin.from_request(request), user=user, password=data["password"])
    messages.success(
        request, _("The password of %(name)s was changed and their sessions ended.") % {"name": user.username}
    )
    return page_redirect(request, "accounts:user_list")


@permission_required("accounts.delete_user", raise_exception=True)
@require_http_methods(["GET", "POST"])
@sudo_required
def user_delete(request, pk):
    user = scope.user_get(actor=request.user, pk=pk)
    error = None
    if request.method == "POST":
        # You go too when you are the user or one of its sub-users.
        deleting_self = request.user.pk in {user.pk} | selectors.descendant_ids({user.pk})
        try:
            sub_users_deleted = services.user_delete(origin=Origin.from_request(request), user=user)
        except services.LastUserError as refused:
            error = str(refused)
        except user.DoesNotExist:
            raise Http404("This user no longer exists.") from None
        else:
            return _after_delete(request, user, sub_users_deleted, deleting_self=deleting_self)
    context = {"target": user, "error": error, "sub_users": selectors.all_sub_users(user)}
    return render_action(request, "accounts/user_delete.html", context, status=409 if error else 200)


def _after_delete(request, user, sub_users_deleted, *, deleting_self):
    if deleting_self:
        # The service already deleted this session's row; flush it here too, or the
        # session middleware would try to save it again and answer 400 (SessionInterrupted).
        request.session.flush()
        return page_redirect(request, "login")
    if sub_users_deleted:
        done = ngettext(
            "User %(name)s was deleted with %(count)d sub-user.",
            "User %(name)s was deleted with %(count)d sub-users.",
            sub_users_deleted,
        )
    else:
        done = _("User %(name)s was deleted.")
    messages.success(request, done % {"name": user.username, "count": sub_users_deleted})
    return page_redirect(request, "accounts:user_list")
