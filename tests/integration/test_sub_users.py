import pytest
from django.contrib.auth.models import Group, Permission

from accounts import selectors, services
from accounts.models import Company, Role, User
from panel.audit import Origin
from tests.factories import AdminFactory, UserFactory
from tests.integration.conftest import grant, logged_in_client

pytestmark = pytest.mark.django_db


def test_probe_sub_user_deletes_parent():
    AdminFactory()
    parent = UserFactory(username="parent")
    child = grant(UserFactory(username="child", parent=parent), "accounts.view_user", "accounts.delete_user")
    browser = logged_in_client(child)
    r = browser.post(f"/users/{parent.pk}/delete/")
    print("STATUS", r.status_code, r.get("Location"))
    print(User.objects.filter(pk=parent.pk).exists())


def test_probe_role_kept():
    east = Company.objects.create(name="East")
    actor = grant(UserFactory(company=east), "accounts.view_user", "accounts.change_user", "accounts.add_user")
    target = UserFactory(company=east, username="target")
    g = Group.objects.create(name="Auditors")
    Role.objects.create(group=g, company=east)
    g.permissions.add(Permission.objects.get(codename="view_auditevent"))
    target.groups.add(g)
    browser = logged_in_client(actor)
    r = browser.post(f"/users/{target.pk}/access/", {"roles": [g.pk], "permissions": ["accounts.view_user"]})
    print("STATUS", r.status_code)
    print([e for e in r.context["form"].errors.items()] if r.context else None)


def test_probe_company_roles():
    west = Company.objects.create(name="West")
    g = Group.objects.create(name="West ops")
    Role.objects.create(group=g, company=west)
    services.company_delete(origin=Origin.command("x"), company=west, cascade=True)
    print("GROUP EXISTS", Group.objects.filter(pk=g.pk).exists())
