"""Role pages (roles are Django groups) and a user's access: roles plus direct permissions, and the sum."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from core.audit import Origin
from core.reauth import sudo_required
from core.view_helpers import apply_service_errors, page_redirect, paging, posted, render_action
from organisation import scope, selectors, services
from organisation.forms import AccessForm, RoleForm
from organisation.permissions import GRANTABLE, LABELS

# The role list's page size by default (20/50/100/200 offered).
ROLES_PER_PAGE = 50


@permission_required("auth.view_group", raise_exception=True)
def role_list(request):
    asked = paging(request, default_size=ROLES_PER_PAGE)
    roles = selectors.role_page(request.user, page=asked.number, per_page=asked.size)
    return render(request, "organisation/role_list.html", asked.context(roles))


def _saved(form, service, **arguments):
    """Call ``service``; its refusals become the form's errors. Returns whether it passed."""
    try:
        service(**arguments)
    except ValidationError as error:
        apply_service_errors(form, error)
    except services.LastUserError as refused:
        form.add_error(None, str(refused))
    else:
        return True
    return False


def _role_page(request, form, role=None):
    context = {"form": form, "role": role}
    return render(request, "organisation/role_form.html", context, status=400 if form.errors else 200)


@permission_required("auth.add_group", raise_exception=True)
@require_http_methods(["GET", "POST"])
def role_create(request):
    form = RoleForm(posted(request), actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            role = services.role_create(origin=Origin.from_request(request), **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Role %(name)s was created.") % {"name": role.name})
            return page_redirect(request, "roles:role_list")
    return _role_page(request, form)


@permission_required("auth.change_group", raise_exception=True)
@require_http_methods(["GET", "POST"])
def role_update(request, pk):
    role = selectors.role_get_to_change(actor=request.user, pk=pk)
    owner = getattr(role, "role", None)
    initial = {
        "name": role.name,
        "company": owner.company if owner else None,
        "permissions": sorted(selectors.permission_names(role.permissions.all())),
    }
    form = RoleForm(posted(request), initial=initial, actor=request.user)
    origin = Origin.from_request(request)
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(form, services.role_update, origin=origin, role=role, **form.cleaned_data)
    ):
        messages.success(
            request, _("Role %(name)s was saved. Its members have its permissions from now on.") % {"name": role.name}
        )
        return redirect("roles:role_list")
    return _role_page(request, form, role)


@permission_required("auth.delete_group", raise_exception=True)
@require_http_methods(["GET", "POST"])
def role_delete(request, pk):
    role = selectors.role_get_to_change(actor=request.user, pk=pk)
    error = None
    if request.method == "POST":
        try:
            members = services.role_delete(origin=Origin.from_request(request), role=role)
        except services.LastUserError as refused:
            error = str(refused)
            role = selectors.role_get_to_change(actor=request.user, pk=pk)  # delete() cleared the instance's key
        else:
            done = ngettext(
                "Role %(name)s was deleted; its %(count)d member lost its permissions.",
                "Role %(name)s was deleted; its %(count)d members lost its permissions.",
                members,
            )
            messages.success(request, done % {"name": role.name, "count": members})
            return page_redirect(request, "roles:role_list")
    context = {"role": role, "member_count": role.user_set.count(), "error": error}
    return render_action(request, "organisation/role_delete.html", context, status=409 if error else 200)


@permission_required("accounts.change_user", raise_exception=True)
@require_http_methods(["GET", "POST"])
@sudo_required
def user_access(request, pk):
    """A user's roles and direct permissions, and the permissions they add up to."""
    user = scope.user_get(actor=request.user, pk=pk, action="access")
    access = selectors.access_of(user)
    initial = {"roles": access["roles"], "permissions": sorted(access["direct"])}
    form = AccessForm(posted(request), initial=initial, actor=request.user)
    origin = Origin.from_request(request)
    if (
        request.method == "POST"
        and form.is_valid()
        and _saved(form, services.user_set_access, origin=origin, user=user, **form.cleaned_data)
    ):
        messages.success(request, _("The access of %(name)s was saved.") % {"name": user.username})
        return redirect("access:user_access", pk=user.pk)
    effective = [
        (
            module,
            [(LABELS[perm], access["effective"][perm]) for perm, _label in perms if perm in access["effective"]],
        )
        for module, perms in GRANTABLE
    ]
    context = {"target": user, "form": form, "effective": [row for row in effective if row[1]]}
    return render(request, "organisation/user_access.html", context, status=400 if form.errors else 200)
