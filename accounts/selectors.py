"""Reads of users and companies for pages, commands and the API, each within the reader's scope."""

from collections import defaultdict

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts import scope
from accounts.models import Company, User, UserSession
from accounts.permissions import LABELS, perm_name


def user_list(*, actor, search="", page=1, per_page=None, company=None):
    """A page of the users ``actor`` may see, newest first, optionally of one ``company`` or matching a search.

    The search matches the start of the username or the email, ignoring case,
    so that it can use an index and stays fast on large panels.
    """
    per_page = per_page or settings.PANEL_USERS_PER_PAGE
    scoped = not scope.is_unrestricted(actor)
    users = scope.narrow_users(actor, users_newest_first())
    if company is not None:
        users = users.filter(company=company)
    search = search.strip()
    if search:
        users = users.filter(Q(username__istartswith=search) | Q(email__istartswith=search))
    if search or company is not None or scoped:
        paginator = Paginator(users, per_page)
    else:
        paginator = _KnownCountPaginator(users, per_page, count=user_total())
    return paginator.get_page(page)


class _KnownCountPaginator(Paginator):
    """A paginator told its total instead of counting it."""

    def __init__(self, object_list, per_page, *, count):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property: pre-fill it.


USER_TOTAL_CACHE_KEY = "accounts:user_total"


def user_total():
    """How many users exist, from the shared cache.

    COUNT(*) reads every row on PostgreSQL (about 15 ms at 100,000 users), so
    the total is cached. Saving a new user or deleting one through the ORM
    forgets it on commit (accounts.signals); rows written around the ORM (bulk
    imports, raw SQL) are counted when it expires, within five minutes.
    """
    return cache.get_or_set(USER_TOTAL_CACHE_KEY, user_count, timeout=300)


def forget_user_total():
    cache.delete(USER_TOTAL_CACHE_KEY)


def users_newest_first():
    fields = ("id", "username", "email", "date_joined", "expires_at", "is_active", "is_superuser")
    related = ("company__name", "parent__username")
    return User.objects.select_related("company", "parent").only(*fields, *related).order_by("-date_joined", "-id")


def user_get(*, actor, pk):
    """One user ``actor`` may see, by primary key, or 404 (also for a user outside the scope)."""
    return get_object_or_404(scope.visible_users(actor), pk=pk)


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


def self_or_permitted(*, actor, user_id, permission):
    """The user ``user_id``: ``actor`` themselves, or anyone when ``actor`` has ``permission``.

    Refused (PermissionDenied) before the lookup, so that the answer does not reveal which user IDs exist.
    """
    if user_id == actor.pk:
        return actor
    if not actor.has_perm(permission):
        raise PermissionDenied
    return user_get(actor=actor, pk=user_id)


MANAGE_USERS_PERMISSION = ("accounts", "change_user")


def user_managers():
    """The users who can log in and manage users (superusers, or change_user from a role or directly)."""
    app_label, codename = MANAGE_USERS_PERMISSION
    perm = Q(content_type__app_label=app_label, codename=codename)
    granted = Permission.objects.filter(perm)
    can_manage = Q(is_superuser=True) | Q(user_permissions__in=granted) | Q(groups__permissions__in=granted)
    valid = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    return User.objects.filter(can_manage, valid, is_active=True).distinct()


API_MODULE_PERMISSION = ("accounts", "use_api")


def with_api_module(queryset, owner_field="user_id"):
    """``queryset`` annotated with ``owner_has_api_module``: whether its owner holds the API module, directly
    or through a role. A subquery, so that token authentication stays one query."""
    app_label, codename = API_MODULE_PERMISSION
    granted = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    direct = User.user_permissions.through.objects.filter(user_id=OuterRef(owner_field), permission__in=granted)
    via_role = User.groups.through.objects.filter(user_id=OuterRef(owner_field), group__permissions__in=granted)
    return queryset.annotate(owner_has_api_module=Exists(direct) | Exists(via_role))


def user_count():
    """How many users exist, counted now."""
    return User.objects.count()


def login_refusal(user):
    """Why ``user`` may not authenticate by any means (password, passkey, access token), or None."""
    if not user.is_active:
        return "This account is disabled."
    if user.is_expired:
        return f"This account expired on {user.expires_at:%Y-%m-%d %H:%M} UTC. Ask an administrator to extend it."
    return None


def user_may_log_in(user):
    return login_refusal(user) is None


SESSIONS_PERMISSION = "accounts.change_user"


def session_owner(*, actor, user_id):
    """The user whose sessions ``actor`` wants to see or end: themselves, or anyone when they may change users."""
    return self_or_permitted(actor=actor, user_id=user_id, permission=SESSIONS_PERMISSION)


def active_sessions(*, owner):
    """``owner``'s sessions whose stored session has not expired, most recently seen first.

    A session idle past its timeout is listed until its browser's next request logs it out.
    """
    alive = Session.objects.filter(session_key=OuterRef("session_key"), expire_date__gt=timezone.now())
    return UserSession.objects.filter(Exists(alive), user=owner).order_by("-last_seen_at", "-id")


def session_get(*, owner, session_id):
    """One of ``owner``'s sessions, or 404."""
    return get_object_or_404(UserSession.objects.filter(user=owner), pk=session_id)


# Companies


def company_get(*, actor, pk):
    """One company ``actor`` may see, or 404."""
    return get_object_or_404(scope.visible_companies(actor), pk=pk)


def company_user_count(company):
    """How many users belong to ``company`` itself (not its subsidiaries)."""
    return User.objects.filter(company=company).count()


def company_tree(actor):
    """The companies ``actor`` may see, in tree order: a list of (company, depth), each with ``user_count``."""
    companies = list(scope.visible_companies(actor).annotate(user_count=Count("users")).order_by("name", "id"))
    known = {company.pk for company in companies}
    children = defaultdict(list)
    for company in companies:
        children[company.parent_id if company.parent_id in known else None].append(company)
    rows, pending = [], [(company, 0) for company in reversed(children[None])]
    while pending:
        company, depth = pending.pop()
        rows.append((company, depth))
        pending.extend((child, depth + 1) for child in reversed(children[company.pk]))
    return rows


def company_contents(company):
    """What deleting ``company`` with its cascade takes: its subsidiaries and every user in the subtree."""
    ids = scope.subtree_ids(company.pk)
    return {
        "subsidiaries": Company.objects.filter(pk__in=ids - {company.pk}).order_by("name"),
        "users": User.objects.filter(company_id__in=ids).order_by("username"),
    }


# Roles and permissions


def visible_roles(actor):
    """The roles ``actor`` may see and assign: the panel's own (no company) and those of companies in scope."""
    roles = Group.objects.select_related("role__company").order_by("name")
    ids = scope.company_ids(actor)
    if ids is None:
        return roles
    return roles.filter(Q(role__isnull=True) | Q(role__company__isnull=True) | Q(role__company_id__in=ids))


def role_get(*, actor, pk):
    return get_object_or_404(visible_roles(actor), pk=pk)


def changeable_roles(actor):
    """The roles ``actor`` may edit or delete: all for the unrestricted, else their companies' own roles.

    A company admin sees and assigns the panel's roles but cannot change them for everyone else.
    """
    ids = scope.company_ids(actor)
    roles = visible_roles(actor)
    return roles if ids is None else roles.filter(role__company_id__in=ids)


def role_get_to_change(*, actor, pk):
    return get_object_or_404(changeable_roles(actor), pk=pk)


def role_rows(actor):
    """The visible roles, each with ``member_count`` and ``permission_count``."""
    return visible_roles(actor).annotate(
        member_count=Count("user", distinct=True), permission_count=Count("permissions", distinct=True)
    )


def permission_names(permissions) -> set[str]:
    return {perm_name(permission) for permission in permissions.select_related("content_type")}


def permissions_named(names):
    """The Permission rows of "app_label.codename" ``names``."""
    wanted = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(wanted)


def access_of(user):
    """What ``user`` may do and why: their roles, their direct permissions, and the sum (seed 002)."""
    roles = list(user.groups.order_by("name").prefetch_related("permissions__content_type"))
    direct = permission_names(user.user_permissions.all())
    granted_by_role = {role.name: {perm_name(p) for p in role.permissions.all()} for role in roles}
    effective = {}
    for perm in LABELS:
        sources = [name for name, granted in granted_by_role.items() if perm in granted]
        if perm in direct:
            sources.append("direct")
        if user.is_superuser:
            sources = ["superuser"]
        if sources:
            effective[perm] = sources
    return {"roles": roles, "direct": direct, "effective": effective}
