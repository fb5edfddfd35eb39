"""The token manager: a user's tokens, and creating, modifying and deleting them.

Everyone manages their own tokens; seeing, changing and deleting another user's needs
``tokens.manage_others_tokens``, creating one for another user ``tokens.create_others_tokens``
(the owner is emailed).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.audit import Origin
from core.reauth import sudo_required
from core.view_helpers import (
    apply_service_errors,
    keep_for_next_page,
    page_redirect,
    paging,
    posted,
    render_action,
    take_kept,
)
from tokens import selectors, services
from tokens.credentials import bearer_string
from tokens.forms import TokenForm

# The token list's page size by default (20/50/100/200 offered): a user with 1,000 tokens gets pages, not 663 KB.
TOKENS_PER_PAGE = 20


def _created_kept_for(owner):
    return f"token_created:{owner.pk}"


def token_list(request, user_id):
    """The tokens of a user; right after creating one, its secret, this once."""
    owner = selectors.token_owner(actor=request.user, user_id=user_id)
    created = take_kept(request, _created_kept_for(owner))
    asked = paging(request, default_size=TOKENS_PER_PAGE)
    context = {
        **asked.context(selectors.tokens_listed(owner=owner, page=asked.number, per_page=asked.size)),
        "owner": owner,
        "created": created,
        "may_create": selectors.may_create_tokens_for(actor=request.user, owner=owner),
    }
    response = render(request, "tokens/token_list.html", context)
    if created:
        add_never_cache_headers(response)  # the secret must not stay in any cache
    return response


@require_http_methods(["GET", "POST"])
@sudo_required
def token_create(request, user_id):
    """The create dialog (or page); success goes back to the list, which shows the new secret this once."""
    owner = selectors.token_creation_owner(actor=request.user, user_id=user_id)
    form = TokenForm.for_new_token(posted(request), owner=owner)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = services.token_create(origin=Origin.from_request(request), user=owner, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            created = {"token_id": token.pk, "secret": secret, "bearer": bearer_string(token.pk, secret)}
            keep_for_next_page(request, _created_kept_for(owner), created)  # reloading the list creates nothing
            return page_redirect(request, "tokens:token_list", user_id=owner.pk)
    context = {"owner": owner, "form": form}
    return render_action(request, "tokens/token_create.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@sudo_required
def token_update(request, user_id, token_id):
    owner = selectors.token_owner(actor=request.user, user_id=user_id)
    token = selectors.token_get(owner=owner, token_id=token_id)
    form = TokenForm.for_token(token, posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            services.token_update(origin=Origin.from_request(request), token=token, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Token %(token_id)s was modified.") % {"token_id": token.pk})
            return page_redirect(request, "tokens:token_list", user_id=owner.pk)
    context = {"owner": owner, "token": token, "form": form}
    return render_action(request, "tokens/token_update.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def token_delete(request, user_id, token_id):
    owner = selectors.token_owner(actor=request.user, user_id=user_id)
    token = selectors.token_get(owner=owner, token_id=token_id)
    if request.method == "POST":
        services.token_delete(origin=Origin.from_request(request), token=token)
        messages.success(
            request,
            _("Token %(token_id)s was deleted. Scripts using it are refused from now on.") % {"token_id": token_id},
        )
        return page_redirect(request, "tokens:token_list", user_id=owner.pk)
    return render_action(request, "tokens/token_delete.html", {"owner": owner, "token": token})
