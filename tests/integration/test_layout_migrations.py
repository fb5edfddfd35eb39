"""Upgrading a panel from before the layout change keeps its data and every permission granted.

Companies and roles moved from accounts to organisation, sessions to usersessions and the audit
log from panel to core, each with its table and its content type. This test migrates the database
back to the old layout, writes data there as the old code did, and migrates forward again.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("accounts", "0007_grant_api_module_to_token_owners"),
    ("panel", "0001_initial"),
    ("organisation", None),
    ("usersessions", None),
    ("core", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([target for target in targets if target[1]]).apps


def test_upgrade_keeps_companies_roles_sessions_audit_and_their_permissions():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = _migrate(BEFORE)
    ContentType, Permission = old.get_model("contenttypes", "ContentType"), old.get_model("auth", "Permission")
    Company, Role, Group = (
        old.get_model("accounts", "Company"),
        old.get_model("accounts", "Role"),
        old.get_model("auth", "Group"),
    )
    User, UserSession = old.get_model("accounts", "User"), old.get_model("accounts", "UserSession")
    AuditEvent = old.get_model("panel", "AuditEvent")
    company_type = ContentType.objects.get_or_create(app_label="accounts", model="company")[0]
    audit_type = ContentType.objects.get_or_create(app_label="panel", model="auditevent")[0]
    view_company = Permission.objects.get_or_create(codename="view_company", content_type=company_type)[0]
    view_audit = Permission.objects.get_or_create(codename="view_auditevent", content_type=audit_type)[0]
    acme = Company.objects.create(name="Acme")
    bob = User.objects.create(username="bob", email="bob@example.com", company=acme)
    bob.user_permissions.add(view_company, view_audit)
    Role.objects.create(group=Group.objects.create(name="Ops"), company=acme)
    UserSession.objects.create(user=bob, session_key="k" * 32)
    AuditEvent.objects.create(action="user.create", target_name="bob")

    new = _migrate(latest)

    User = new.get_model("accounts", "User")
    bob = User.objects.get(username="bob")
    assert new.get_model("organisation", "Company").objects.get(pk=bob.company_id).name == "Acme"
    assert new.get_model("organisation", "Role").objects.get().company_id == bob.company_id
    assert new.get_model("usersessions", "UserSession").objects.get().user_id == bob.pk
    assert new.get_model("core", "AuditEvent").objects.get().target_name == "bob"
    granted = {
        (perm.content_type.app_label, perm.codename) for perm in bob.user_permissions.select_related("content_type")
    }
    assert granted == {("organisation", "view_company"), ("core", "view_auditevent")}
    tables = set(connection.introspection.table_names())
    assert {"organisation_company", "organisation_role", "usersessions_usersession", "core_auditevent"} <= tables
