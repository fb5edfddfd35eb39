"""Company pages: the tree, and creating, renaming, moving and deleting companies, within your scope."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.audit import Origin
from core.reauth import sudo_required
from core.view_helpers import apply_service_errors, page_redirect, paging, posted, render_action
from organisation import selectors, services
from organisation.forms import CompanyDeleteForm, CompanyForm

# The company tree's page size by default (20/50/100/200 offered): rows of the flattened tree, in tree order.
COMPANIES_PER_PAGE = 50


@permission_required("organisation.view_company", raise_exception=True)
def company_list(request):
    asked = paging(request, default_size=COMPANIES_PER_PAGE)
    companies = selectors.company_tree_page(request.user, page=asked.number, per_page=asked.size)
    return render(request, "organisation/company_list.html", asked.context(companies))


@permission_required("organisation.add_company", raise_exception=True)
@require_http_methods(["GET", "POST"])
def company_create(request):
    """A new company; ``?parent=`` preselects where it goes (the tree's "Add subsidiary")."""
    parent_id = request.GET.get("parent", "")
    parent = selectors.company_get(actor=request.user, pk=int(parent_id)) if parent_id.isdecimal() else None
    form = CompanyForm(posted(request), initial={"parent": parent}, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            company = services.company_create(origin=Origin.from_request(request), **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Company %(name)s was created.") % {"name": company.name})
            return page_redirect(request, "companies:company_list")
    return render(request, "organisation/company_form.html", {"form": form}, status=400 if form.errors else 200)


@permission_required("organisation.change_company", raise_exception=True)
@require_http_methods(["GET", "POST"])
def company_update(request, pk):
    company = selectors.company_get(actor=request.user, pk=pk)
    initial = {"name": company.name, "parent": company.parent}
    form = CompanyForm(posted(request), initial=initial, actor=request.user, company=company)
    if request.method == "POST" and form.is_valid():
        try:
            services.company_update(
                origin=Origin.from_request(request),
                company=company,
                name=form.cleaned_data["name"],
                parent=form.cleaned_data.get("parent", company.parent),
            )
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Company %(name)s was saved.") % {"name": company.name})
            return page_redirect(request, "companies:company_list")
    context = {"form": form, "company": company}
    return render(request, "organisation/company_form.html", context, status=400 if form.errors else 200)


@permission_required("organisation.delete_company", raise_exception=True)
@require_http_methods(["GET", "POST"])
@sudo_required
def company_delete(request, pk):
    """The confirmation names every subsidiary and user that would go; deleting them needs the cascade box."""
    company = selectors.company_get(actor=request.user, pk=pk)
    form = CompanyDeleteForm(posted(request))
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            services.company_delete(
                origin=Origin.from_request(request), company=company, cascade=form.cleaned_data["cascade"]
            )
        except (services.CompanyNotEmpty, services.LastUserError) as refused:
            error = str(refused)
        else:
            messages.success(request, _("Company %(name)s was deleted.") % {"name": company.name})
            return page_redirect(request, "companies:company_list")
    context = {"company": company, "form": form, "error": error, **selectors.company_contents(company)}
    return render_action(request, "organisation/company_delete.html", context, status=409 if error else 200)
