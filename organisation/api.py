"""Companies, roles and a user's access over the JSON API: the permissions, scope and services of their pages."""

from datetime import datetime
from typing import Annotated

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils.translation import ngettext
from ninja import Field, Query, Router, Schema, Status

from core.api import (
    BodyIn,
    PageQuery,
    api_origin,
    errors,
    examples,
    in_scope,
    page_of,
    paged,
    require_permission,
    stated,
)
from core.reauth import require_recent_proof
from organisation import scope, selectors, services
from organisation.permissions import GRANTABLE, LABELS, perm_name
from organisation.validators import COMPANY_NAME_MAX_LENGTH

router = Router()

# The rules a schema can state, from the constants the validators use; the services check them all
# (a name taken, blank or with control characters, a parent or company beyond your scope: 422).
CompanyName = Annotated[str, stated(minLength=1, maxLength=COMPANY_NAME_MAX_LENGTH, pattern=r"^[^\u0000-\u001f]*$")]
RoleName = Annotated[str, stated(minLength=1, maxLength=Group._meta.get_field("name").max_length)]
Permissions = Annotated[
    list[str],
    stated(
        description="Function permissions (`app_label.codename`); you can grant only those you hold yourself.",
        items={"enum": sorted(LABELS)},
        maxItems=len(LABELS),
    ),
]
MAX_ID = 2**63 - 1  # the largest ID a database column holds
PARENT = "The parent company (within your scope); null: the top level, for panel staff only."


class CompanyOut(Schema):
    id: int
    name: str
    parent_id: int | None
    created_at: datetime


class CompanyTreeItemOut(CompanyOut):
    depth: int = Field(description="0 at the top of the tree you see; the list is in tree order.")
    user_count: int = Field(description="The company's own users.")
    subtree_user_count: int = Field(description="Its users and those of all its subsidiaries.")


class CompanyDetailOut(CompanyOut):
    subsidiaries: list[str] = Field(description="Every subsidiary, at any depth: a cascading delete takes them.")
    users: list[str] = Field(description="The usernames in it and its subsidiaries: a cascading delete takes them.")


CompanyPage = page_of(CompanyTreeItemOut, "CompanyPage")


class CompanyCreateIn(BodyIn):
    name: CompanyName
    parent_id: int | None = Field(None, description=PARENT)


class CompanyUpdateIn(BodyIn):
    name: CompanyName | None = Field(None, description="Omit to keep the name.")
    parent_id: int | None = Field(None, description=f"Move it: {PARENT} Omit to leave it where it is.")


class RoleOut(Schema):
    id: int
    name: str
    company_id: int | None = Field(description="The company that owns the role; null: a role of the whole panel.")
    permissions: list[str]
    member_count: int
    changeable: bool = Field(description="Whether you may edit or delete it (a company admin only their companies').")

    @staticmethod
    def resolve_company_id(role):
        owner = getattr(role, "role", None)
        return owner.company_id if owner else None

    @staticmethod
    def resolve_permissions(role):
        return sorted(perm_name(permission) for permission in role.permissions.all())


RolePage = page_of(RoleOut, "RolePage")


class RoleCreateIn(BodyIn):
    name: RoleName
    company_id: int | None = Field(None, description=PARENT.replace("parent company", "company owning the role"))
    permissions: Permissions = []


class RoleUpdateIn(BodyIn):
    name: RoleName | None = None
    company_id: int | None = Field(None, description="Omit to keep the owner; null: a role of the whole panel.")
    permissions: Permissions | None = Field(
        None, description="The whole new set; those you cannot grant stay as they are. Omit to keep them."
    )


class RoleRefOut(Schema):
    id: int
    name: str


class GrantOut(Schema):
    permission: str
    module: str
    label: str
    sources: list[str] = Field(description='The roles giving it, "direct", or "superuser".')


class AccessOut(Schema):
    roles: list[RoleRefOut]
    permissions: list[str] = Field(description="The direct permissions, added to what the roles give.")
    effective: list[GrantOut] = Field(description="What the user may do, and where each permission comes from.")


class AccessIn(BodyIn):
    roles: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]],
        stated(description="Role IDs; the roles held that you cannot see stay as they are.", maxItems=1000),
    ]
    permissions: Permissions


# Companies


@router.get(
    "/companies",
    response={200: CompanyPage, **errors(403, 422)},
    operation_id="companies_list",
    tags=["companies"],
    summary="The companies you may see, as a tree (in tree order, with each one's depth)",
)
def company_list(request, query: Query[PageQuery]):
    require_permission(request, "organisation.view_company")
    rows = selectors.company_tree(request.user)
    for company, depth in rows:
        company.depth = depth
    return paged([company for company, _depth in rows], query)


@router.get(
    "/companies/{company_id}",
    response={200: CompanyDetailOut, **errors(403, 404, 422)},
    operation_id="companies_get",
    tags=["companies"],
    summary="One company, naming everything a cascading delete would take",
)
def company_get(request, company_id: int):
    require_permission(request, "organisation.view_company")
    company = selectors.company_get(actor=request.user, pk=company_id)
    contents = selectors.company_contents(company)
    return {
        **CompanyOut.from_orm(company).dict(),
        "subsidiaries": [subsidiary.name for subsidiary in contents["subsidiaries"]],
        "users": [user.username for user in contents["users"]],
    }


@router.post(
    "/companies",
    response={201: CompanyOut, **errors(403, 422)},
    operation_id="companies_create",
    tags=["companies"],
    summary="Create a company",
    openapi_extra=examples(
        request={"name": "Acme Logistics", "parent_id": 1},
        response={"id": 3, "name": "Acme Logistics", "parent_id": 1, "created_at": "2025-03-01T09:30:00Z"},
        status=201,
    ),
)
def company_create(request, body: CompanyCreateIn):
    require_permission(request, "organisation.add_company")
    parent = in_scope(selectors.company_get, request, body.parent_id, "parent_id")
    return Status(201, services.company_create(origin=api_origin(request), name=body.name, parent=parent))


@router.patch(
    "/companies/{company_id}",
    response={200: CompanyOut, **errors(403, 404, 422)},
    operation_id="companies_update",
    tags=["companies"],
    summary="Rename a company, or move it under another parent (never into its own subtree)",
)
def company_update(request, company_id: int, body: CompanyUpdateIn):
    require_permission(request, "organisation.change_company")
    company = selectors.company_get(actor=request.user, pk=company_id)
    changes = body.dict(exclude_unset=True)
    parent = company.parent
    if "parent_id" in changes:
        parent = in_scope(selectors.company_get, request, changes["parent_id"], "parent_id")
    name = changes.get("name") or company.name
    return services.company_update(origin=api_origin(request), company=company, name=name, parent=parent)


@router.delete(
    "/companies/{company_id}",
    response={204: None, **errors(403, 404, 409, 422)},
    operation_id="companies_delete",
    tags=["companies"],
    summary="Delete a company; with cascade=true also its subsidiaries and their users (see companies_get)",
    description="Without cascade, a company holding users or subsidiaries is refused (409); so is a cascade "
    "that would take a user beyond your reach, your own company, or the last user able to manage users.",
)
def company_delete(request, company_id: int, cascade: bool = False):
    require_permission(request, "organisation.delete_company")
    require_recent_proof(request)
    company = selectors.company_get(actor=request.user, pk=company_id)
    services.company_delete(origin=api_origin(request), company=company, cascade=cascade)
    return Status(204, None)


# Roles


def _role_row(request, role_id):
    """The role as RoleOut reads it: its list row (counts, whether you may change it, its permissions)."""
    return _role_rows(request).get(pk=role_id)


def _role_rows(request):
    return selectors.role_rows(request.user).prefetch_related("permissions__content_type")


@router.get(
    "/roles",
    response={200: RolePage, **errors(403, 422)},
    operation_id="roles_list",
    tags=["roles"],
    summary="The roles you may see and assign, by name",
)
def role_list(request, query: Query[PageQuery]):
    require_permission(request, "auth.view_group")
    return paged(_role_rows(request), query)


@router.get(
    "/roles/{role_id}",
    response={200: RoleOut, **errors(403, 404, 422)},
    operation_id="roles_get",
    tags=["roles"],
    summary="One role",
)
def role_get(request, role_id: int):
    require_permission(request, "auth.view_group")
    return _role_row(request, selectors.role_get(actor=request.user, pk=role_id).pk)


@router.post(
    "/roles",
    response={201: RoleOut, **errors(403, 422)},
    operation_id="roles_create",
    tags=["roles"],
    summary="Create a role with the function permissions you choose (among those you hold)",
)
def role_create(request, body: RoleCreateIn):
    require_permission(request, "auth.add_group")
    company = in_scope(selectors.company_get, request, body.company_id, "company_id")
    role = services.role_create(
        origin=api_origin(request), name=body.name, company=company, permissions=body.permissions
    )
    return Status(201, _role_row(request, role.pk))


@router.patch(
    "/roles/{role_id}",
    response={200: RoleOut, **errors(403, 404, 409, 422)},
    operation_id="roles_update",
    tags=["roles"],
    summary="Rename a role, change its company or its permissions; its members have them at once",
)
def role_update(request, role_id: int, body: RoleUpdateIn):
    require_permission(request, "auth.change_group")
    role = selectors.role_get_to_change(actor=request.user, pk=role_id)
    changes = body.dict(exclude_unset=True)
    owner = getattr(role, "role", None)
    company = owner.company if owner else None
    if "company_id" in changes:
        company = in_scope(selectors.company_get, request, changes["company_id"], "company_id")
    permissions = changes.get("permissions")
    if permissions is None:
        permissions = selectors.permission_names(role.permissions.all())
    name = changes.get("name") or role.name
    services.role_update(origin=api_origin(request), role=role, name=name, company=company, permissions=permissions)
    return _role_row(request, role.pk)


@router.delete(
    "/roles/{role_id}",
    response={204: None, **errors(403, 404, 409, 422)},
    operation_id="roles_delete",
    tags=["roles"],
    summary="Delete a role; its members lose its permissions at once",
)
def role_delete(request, role_id: int):
    require_permission(request, "auth.delete_group")
    services.role_delete(origin=api_origin(request), role=selectors.role_get_to_change(actor=request.user, pk=role_id))
    return Status(204, None)


# A user's access


def _access_answer(user):
    access = selectors.access_of(user)
    effective = [
        {"permission": perm, "module": str(module), "label": str(label), "sources": access["effective"][perm]}
        for module, perms in GRANTABLE
        for perm, label in perms
        if perm in access["effective"]
    ]
    return {"roles": access["roles"], "permissions": sorted(access["direct"]), "effective": effective}


@router.get(
    "/users/{user_id}/access",
    response={200: AccessOut, **errors(403, 404, 422)},
    operation_id="access_get",
    tags=["access"],
    summary="A user's roles and direct permissions, and what they add up to (with where each comes from)",
)
def access_get(request, user_id: int):
    require_permission(request, "accounts.change_user")
    return _access_answer(scope.user_get(actor=request.user, pk=user_id, action="access"))


@router.put(
    "/users/{user_id}/access",
    response={200: AccessOut, **errors(403, 404, 409, 422)},
    operation_id="access_set",
    tags=["access"],
    summary="Set a user's roles and direct permissions (those beyond your reach stay as they are)",
)
def access_set(request, user_id: int, body: AccessIn):
    require_permission(request, "accounts.change_user")
    require_recent_proof(request)
    user = scope.user_get(actor=request.user, pk=user_id, action="access")
    roles = _visible_roles(request, body.roles)
    services.user_set_access(origin=api_origin(request), user=user, roles=roles, permissions=body.permissions)
    return _access_answer(user)


def _visible_roles(request, role_ids):
    """The roles ``role_ids`` names, each one the caller may see; any other ID is an error of ``roles``."""
    roles = list(selectors.visible_roles(request.user).filter(pk__in=role_ids))
    unknown = sorted(set(role_ids) - {role.pk for role in roles})
    if unknown:
        message = ngettext(
            "No such role within your scope: %(ids)s.", "No such roles within your scope: %(ids)s.", len(unknown)
        )
        raise ValidationError({"roles": message % {"ids": ", ".join(map(str, unknown))}})
    return roles
