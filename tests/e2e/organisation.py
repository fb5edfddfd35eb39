"""A panel with everything a page can show, for the browser tests that look at every page."""

from dataclasses import dataclass

from accounts.models import User
from core import throttle
from organisation.models import Company
from tests.factories import (
    AccessTokenFactory,
    AuthenticatorDeviceFactory,
    CompanyFactory,
    PasskeyFactory,
    RoleFactory,
    UserFactory,
    UserSessionFactory,
)
from tests.helpers import SETUP


@dataclass
class Organisation:
    company: Company  # a subsidiary, with a subsidiary of its own
    alice: User  # a member of ``company`` with two-factor on and a sub-user


def build_organisation(admin):
    """Companies three levels deep, users with long names in them, a sub-user, a role, and for ``admin``
    tokens, a second session and a passkey; a locked account for the Locks page."""
    holding = CompanyFactory(name="Northwind Holdings International")
    europe = CompanyFactory(name="Northwind Logistics Europe GmbH", parent=holding)
    service = CompanyFactory(name="Northwind Field Service & Repairs", parent=europe)
    CompanyFactory(name="Contoso")
    alice = UserFactory(
        username="alice.montgomery-smith", email="alice.montgomery-smith@northwind-logistics.example", company=europe
    )
    UserFactory(username="bob", company=service, parent=alice)
    UserFactory(username="carol.long-surname", email="carol.long-surname@northwind-holdings.example", company=holding)
    AuthenticatorDeviceFactory(user=alice)
    RoleFactory(group__name="Regional administrators", company=holding, permissions=["accounts.view_user"])
    AccessTokenFactory(user=admin, name="nightly backup export", ip_allowlist=["192.0.2.0/24", "2001:db8::/48"])
    AccessTokenFactory(user=admin, name="")
    UserSessionFactory(user=admin)
    PasskeyFactory(user=admin, name="MacBook Touch ID")
    for _ in range(throttle.ACCOUNT_GUARD.lock_after):
        throttle.record_failure(origin=SETUP, username="someone-who-forgot", ip="198.51.100.23")
    return Organisation(company=europe, alice=alice)
