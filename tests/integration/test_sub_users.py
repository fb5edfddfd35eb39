import datetime

import pytest
import time_machine

from accounts.models import User
from tests.factories import AdminFactory, UserFactory
from tests.integration.conftest import grant, logged_in_client

pytestmark = pytest.mark.django_db


def test_probe_sub_user_deletes_parent():
    AdminFactory()
    parent = UserFactory(username="parent")
    child = grant(UserFactory(username="child", parent=parent), "accounts.view_user", "accounts.delete_user")
    with time_machine.travel(datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.UTC), tick=False) as traveller:
        browser = logged_in_client(child)
        browser.get(f"/users/{parent.pk}/delete/")
        traveller.shift(300)
        r = browser.post(f"/users/{parent.pk}/delete/")
    print("STATUS", r.status_code, r.get("Location"))
    print(User.objects.filter(pk=parent.pk).exists())
