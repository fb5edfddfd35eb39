"""Helpers that integration and browser tests share. Integration-only helpers live in tests/integration/conftest.py."""

import base64
import re
import threading

import pyotp
from django.db import connections

from core.audit import Origin
from mfa import services as mfa_services

# Who sets data up for a test: an operator's command, as a test fixture would be.
SETUP = Origin(user_agent="test setup", via="command")

# The code in an email that mfa sends (on a line of its own).
EMAILED_CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)
# How long a thread of at_the_same_moment waits for the others before the test fails.
BARRIER_TIMEOUT = 30


def at_the_same_moment(*callables):
    """Call each of ``callables`` in its own thread, all released together; returns their outcomes, in order.

    An outcome is what the callable returned, or the exception it raised. Each thread has its own
    database connections (closed when it ends), so on PostgreSQL the calls race as two requests would.
    Load what the calls need before: only the calls themselves wait at the barrier.
    """
    barrier = threading.Barrier(len(callables), timeout=BARRIER_TIMEOUT)
    outcomes = [None] * len(callables)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as error:  # handed to the test, not lost in the thread
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(callables)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def totp_of(device):
    """The pyotp TOTP that computes the codes of an AuthenticatorDevice, as the user's app would."""
    return pyotp.TOTP(base64.b32encode(device.key).decode())


def turn_on_app(user, *, origin=SETUP):
    """Turn on ``user``'s authenticator app through mfa.services (begin, then confirm with a right code).

    Returns ``(totp, recovery_codes)``: the app's pyotp TOTP (``totp.secret`` is its key) and the codes
    the confirmation handed out.
    """
    device = mfa_services.totp_begin(origin=origin, user=user)
    totp = totp_of(device)
    codes = mfa_services.totp_confirm(origin=origin, user=user, device=device, code=totp.now())
    return totp, codes


def enable_totp(user, *, origin=SETUP):
    """Turn on ``user``'s authenticator app through mfa.services; returns its pyotp TOTP."""
    totp, _codes = turn_on_app(user, origin=origin)
    return totp


def log_out(page):
    """Log a browser out with the page's Log out button; it lands on the login page."""
    from playwright.sync_api import expect  # only browser tests need Playwright

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
