"""Reads of companies, roles and permissions, each within the reader's scope (organisation.scope)."""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.pagination import NearerEndPaginator
from organisation import scope
from organisation.models import Company
from organisation.permissions import GRANTABLE, LABELS, grantable_by, perm_name


def company_get(*, actor, pk):
    """One company ``actor`` may see, or 404."""
    return get_object_or_404(scope.visible_companies(actor), pk=pk)


def company_user_count(company):
    """How many users belong to ``company`` itself (not its subsidiaries)."""
    return get_user_model().objects.filter(company=company).count()


def company_tree(actor):
    """The companies ``actor`` may see, in tree order: a list of (company, depth).

    Each has ``user_count`` (its own users) and ``subtree_user_count`` (with those of its subsidiaries),
    both from one grouped query: the totals are added up here, children before parents.
    """
    counted = scope.visible_companies(actor).annotate(user_count=Count("users")).order_by("name", "id")
    rows, children = _tree_order(counted)
    for company, _depth in reversed(rows):
        company.subtree_user_count = company.user_count + sum(
            child.subtree_user_count for child in children[company.pk]
        )
    return rows


def company_tree_page(actor, *, page=1, per_page=50):
    """A page of the rows of ``company_tree`` (the tree flattened, in tree order), each with ``user_count``.

    The tree's order comes from the IDs of the companies ``actor`` may see (one light query); the page's
    companies and their user counts from a second, for its rows only: a page's rows and queries stay the
    same whatever the size of the tree, and a company with many subsidiaries spans pages like any rows.
    """
    skeleton = scope.visible_companies(actor).order_by("name", "id").only("id", "parent_id")
    rows, _children = _tree_order(skeleton)
    shown = Paginator([(company.pk, depth) for company, depth in rows], per_page).get_page(page)
    companies = Company.objects.filter(pk__in=[pk for pk, _depth in shown]).annotate(user_count=Count("users"))
    by_pk = {company.pk: company for company in companies}
    shown.object_list = [(by_pk[pk], depth) for pk, depth in shown]
    return shown


def _tree_order(companies):
    """``companies`` (in sibling order) as (company, depth) in tree order, each followed by its subsidiaries,
    and {company ID: its subsidiaries among them}. A company whose parent is not among them stands at the top.
    """
    companies = list(companies)
    known = {company.pk for company in companies}
    children = defaultdict(list)
    for company in companies:
        children[company.parent_id if company.parent_id in known else None].append(company)
    rows, pending = [], [(company, 0) for company in reversed(children[None])]
    while pending:
        company, depth = pending.pop()
        rows.append((company, depth))
        pending.extend((child, depth + 1) for child in reversed(children[company.pk]))
    return rows, children


# The company ``%s`` and its ancestors, walked up by primary key: a few rows whatever the size of the tree.
# Constant text (the ID is a parameter): SQLite and PostgreSQL both take a recursive CTE inside IN (...).
_CHAIN_SQL = (
    "WITH RECURSIVE chain(id, parent_id) AS ("
    "SELECT id, parent_id FROM organisation_company WHERE id = %s "
    "UNION ALL SELECT c.id, c.parent_id FROM organisation_company c JOIN chain ON c.id = chain.parent_id"
    ") SELECT id FROM chain"
)


def company_branch(actor, selected=None):
    """What the user list's sidebar shows of the tree: a list of (company, depth) in tree order.

    The top of ``actor``'s scope, and the subsidiaries of every company from there down to ``selected``
    (for a company admin with nothing selected, of their own company): one query, whose rows are those
    shown, however many companies there are. Each has ``has_subsidiaries``, and ``is_open`` when they are
    among the rows. No user counts: those would read every user on each request.
    """
    unrestricted = scope.is_unrestricted(actor)
    top = Q(parent__isnull=True) if unrestricted else Q(pk=actor.company_id)
    opened = selected.pk if selected is not None else (None if unrestricted else actor.company_id)
    shown = top if opened is None else top | Q(parent_id__in=RawSQL(_CHAIN_SQL, (opened,)))  # noqa: S611 (constant SQL)
    rows, children = _tree_order(
        scope.visible_companies(actor)
        .filter(shown)
        .annotate(has_subsidiaries=Exists(Company.objects.filter(parent=OuterRef("pk"))))
        .order_by("name", "id")
    )
    for company, _depth in rows:
        company.is_open = bool(children[company.pk])
    return rows


def company_contents(company):
    """What deleting ``company`` with its cascade takes: its subsidiaries and every user in the subtree."""
    ids = scope.subtree_ids(company.pk)
    return {
        "subsidiaries": Company.objects.filter(pk__in=ids - {company.pk}).order_by("name"),
        "users": get_user_model().objects.filter(company_id__in=ids).order_by("username"),
    }


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
    """The visible roles, each with ``member_count``, ``permission_count`` and whether ``actor`` may change it."""
    return visible_roles(actor).annotate(
        member_count=Count("user", distinct=True),
        permission_count=Count("permissions", distinct=True),
        changeable=Exists(changeable_roles(actor).filter(pk=OuterRef("pk"))),
    )


def role_page(actor, *, page=1, per_page=50):
    """A page of ``role_rows``, by name (unique: a stable order); past the end, the last page."""
    return NearerEndPaginator(role_rows(actor).order_by("name", "id"), per_page).get_page(page)


def permission_names(permissions) -> set[str]:
    return {perm_name(permission) for permission in permissions.select_related("content_type")}


def permissions_named(names):
    """The Permission rows of "app_label.codename" ``names``."""
    wanted = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".")
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(wanted)


def grantable_by_module(actor):
    """The catalogue's permissions ``actor`` holds (and so may grant), grouped by module, as checkbox choices:
    ``[(module, [(name, label), ...]), ...]``, modules where they hold none left out."""
    grantable = grantable_by(actor)
    return [
        (module, [(perm, label) for perm, label in perms if perm in grantable])
        for module, perms in GRANTABLE
        if any(perm in grantable for perm, _label in perms)
    ]


def permission_label(name):
    """What the catalogue calls permission ``name``, or None when it is not one of its function permissions."""
    return LABELS.get(name)


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


MANAGE_USERS_PERMISSION = ("accounts", "change_user")


def user_managers():
    """The users who can log in and manage users (superusers, or change_user from a role or directly).

    Found from the few who could be one (the superusers, through an index of their own, and the holders
    of the permission), never by scanning every user: ``.exists()`` costs the same at any number of users
    wherever the managers' rows lie.
    """
    app_label, codename = MANAGE_USERS_PERMISSION
    granted = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    User = get_user_model()
    superusers = User.objects.filter(is_superuser=True).order_by().values("pk")
    direct = User.user_permissions.through.objects.filter(permission__in=granted).values("user_id")
    by_role = User.groups.through.objects.filter(group__permissions__in=granted).values("user_id")
    valid = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    return User.objects.filter(valid, pk__in=superusers.union(direct, by_role), is_active=True)
