"""Reads of users for pages, commands and the API, each within the reader's scope (organisation.scope)."""

import logging
from collections import defaultdict

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Q, Value
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import CACHE_FAULTS
from core.pagination import NearerEndPaginator
from core.templatetags.moments import format_moment
from organisation import scope

logger = logging.getLogger(__name__)


def user_list(*, actor, search="", page=1, per_page=None, company=None, direct_only=False, nested=False):
    """A page of the users ``actor`` may see, newest first, optionally of a ``company`` or matching a search.

    A company's users are those of it and its subsidiaries, or of it alone with ``direct_only``.
    The search matches the start of the username or the email, ignoring case,
    so that it can use an index and stays fast on large panels. With ``nested``, see ``_nested_page``.
    """
    per_page = per_page or settings.PANEL_USERS_PER_PAGE
    scoped = not scope.is_unrestricted(actor)
    users = scope.narrow_users(actor, users_newest_first())
    if company is not None:
        users = (
            users.filter(company=company) if direct_only else users.filter(company_id__in=scope.subtree_ids(company.pk))
        )
    search = search.strip()
    if search:
        users = users.filter(Q(username__istartswith=search) | Q(email__istartswith=search))
    if nested:
        return _nested_page(users, page, per_page)
    users = users.annotate(tree_depth=Value(0))  # flat: every row at the top (nested rows are deeper)
    count = None if search or company is not None or scoped else user_total()
    return NearerEndPaginator(users, per_page, count=count).get_page(page)


def _nested_page(users, page, per_page):
    """A page of the top-level users among ``users``, each followed by its sub-users among them.

    Top-level: no parent among ``users`` (none, or one the reader may not see or the filter leaves
    out), so that a sub-user is never hidden by its parent. Paging counts top-level users, so that a
    family stays on one page; the page's rows are the families, each user with its ``tree_depth``.
    """
    top_level = users.filter(Q(parent__isnull=True) | ~Exists(users.filter(pk=OuterRef("parent_id"))))
    page = NearerEndPaginator(top_level, per_page).get_page(page)
    page.object_list = _families(list(page.object_list), users)
    return page


def _families(parents, users):
    """``parents`` in order, each followed by its descendants among ``users`` (depth first, newest first).

    One query per generation: sub-users rarely go more than a level or two deep.
    """
    children, frontier, seen = defaultdict(list), [parent.pk for parent in parents], set()
    while frontier:
        found = [user for user in users.filter(parent_id__in=frontier) if user.pk not in seen]
        for user in found:
            children[user.parent_id].append(user)
        seen.update(user.pk for user in found)
        frontier = [user.pk for user in found]
    rows, pending = [], [(parent, 0) for parent in reversed(parents)]
    while pending:
        user, depth = pending.pop()
        user.tree_depth = depth
        rows.append(user)
        pending.extend((child, depth + 1) for child in reversed(children[user.pk]))
    return rows


USER_TOTAL_CACHE_KEY = "accounts:user_total"


def user_total():
    """How many users exist, from the shared cache.

    COUNT(*) reads every row on PostgreSQL (about 15 ms at 100,000 users), so
    the total is cached. Saving a new user or deleting one through the ORM
    forgets it on commit (accounts.signals); rows written around the ORM (bulk
    imports, raw SQL) are counted when it expires, within five minutes. While
    the cache is down the database counts: the user list keeps working.
    """
    try:
        return cache.get_or_set(USER_TOTAL_CACHE_KEY, user_count, timeout=300)
    except CACHE_FAULTS:
        logger.warning("The cache is unavailable: the user list counts its users in the database.")
        return user_count()


def forget_user_total():
    """After a user was added or deleted. While the cache is down the change stands, and a total cached
    before it may be shown until it expires."""
    try:
        cache.delete(USER_TOTAL_CACHE_KEY)
    except CACHE_FAULTS:
        logger.warning("The cache is unavailable: the cached user total could not be forgotten.")


def users_newest_first():
    fields = (
        "id",
        "username",
        "email",
        "date_joined",
        "expires_at",
        "is_active",
        "is_superuser",
        "language",
        "time_zone",
    )
    related = ("company__name", "parent__username")
    return User.objects.select_related("company", "parent").only(*fields, *related).order_by("-date_joined", "-id")


def descendant_ids(user_ids):
    """The sub-users of ``user_ids``, their sub-users, and so on (not ``user_ids`` themselves)."""
    found, frontier = set(), set(user_ids)
    while frontier:
        children = set(User.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - found
        found |= children
        frontier = children
    return found


def all_sub_users(user):
    """``user``'s sub-users at every depth, by username: what deleting ``user`` takes with it."""
    return User.objects.filter(pk__in=descendant_ids({user.pk})).order_by("username")


API_MODULE_PERMISSION = ("accounts", "use_api")


def with_api_module(queryset, owner_field="user_id"):
    """``queryset`` annotated with ``owner_has_api_module``: whether its owner holds the API module, directly
    or through a role. A subquery, so that token authentication stays one query; one EXISTS over the permission,
    which PostgreSQL plans in a quarter of the time two EXISTS over joins took (bench/README.md)."""
    app_label, codename = API_MODULE_PERMISSION
    owner = OuterRef(OuterRef(owner_field))
    direct = User.user_permissions.through.objects.filter(user_id=owner).values("permission_id")
    roles = User.groups.through.objects.filter(user_id=OuterRef(owner)).values("group_id")
    via_role = Group.permissions.through.objects.filter(group_id__in=roles).values("permission_id")
    held = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return queryset.annotate(owner_has_api_module=Exists(held.filter(Q(pk__in=direct) | Q(pk__in=via_role))))


def user_count():
    """How many users exist, counted now."""
    return User.objects.count()


def login_refusal(user):
    """Why ``user`` may not authenticate by any means (password, passkey, access token), or None."""
    if not user.is_active:
        return _("This account is disabled.")
    if user.is_expired:
        return _("This account expired on %(when)s. Ask an administrator to extend it.") % {
            "when": format_moment(user.expires_at)
        }
    return None


def user_may_log_in(user):
    return login_refusal(user) is None


def user_named(username):
    """The user called ``username`` (ignoring case, as logging in does), or None: for operator commands."""
    return User.objects.filter(username__iexact=username).first()
