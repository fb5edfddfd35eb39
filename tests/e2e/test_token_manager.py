"""The token manager and the API docs through a real browser.

A token is created in the browser, its shown values are copied and then used by
the test itself, as a script would use them: Bearer, and an HMAC-SHA256 signed
request written here from DESIGN.md ("AcePanel-compatible request signing").
"""

import hashlib
import hmac
import json
import re
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from tokens.models import AccessToken

pytestmark = pytest.mark.browser

ELSEWHERE = "203.0.113.9"  # TEST-NET-3: never the address the test calls from


def call_bearer(base_url, bearer):
    """GET /api/user/info with ``Authorization: Bearer <bearer>``; returns (status, JSON body)."""
    request = urllib.request.Request(f"{base_url}/api/user/info", headers={"Authorization": f"Bearer {bearer}"})
    return _send(request)


def call_signed(base_url, token_id, secret, *, method="GET", path="/api/users", query=None, body=b""):
    """A signed request, built from DESIGN.md's description alone; returns (status, JSON body)."""
    query = query or {"size": "5", "page": "1"}
    timestamp = str(int(time.time()))
    canonical_query = urlencode(sorted(query.items()))
    canonical = "\n".join([method, path, canonical_query, hashlib.sha256(body).hexdigest()])
    string_to_sign = "\n".join(["HMAC-SHA256", timestamp, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    # The query goes out in another order than the canonical one: the panel sorts it itself.
    sent_query = urlencode(list(reversed(list(query.items()))))
    request = urllib.request.Request(
        f"{base_url}{path}?{sent_query}",
        method=method,
        data=body or None,
        headers={
            "X-Timestamp": timestamp,
            "Authorization": f"HMAC-SHA256 Credential={token_id}, Signature={signature}",
        },
    )
    return _send(request)


def _send(request):
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (the live server)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def clipboard_after_clicking(page, button):
    button.click()
    expect(button).to_have_text("Copied")
    return page.evaluate("navigator.clipboard.readText()")


def token_row(page, token_id):
    return page.locator(f"tr#token-{token_id}")


def test_token_is_created_copied_used_restricted_and_deleted(admin_page, admin_user, base_url, screenshot):
    page = admin_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)

    page.locator(f"tr#user-{admin_user.pk}").get_by_text("More", exact=True).click()
    page.locator(f"tr#user-{admin_user.pk}").get_by_role("link", name="Access Tokens").click()
    expect(page.get_by_role("heading", name="Access tokens of admin", exact=True)).to_be_visible()
    expect(page.get_by_text("No access tokens yet.")).to_be_visible()

    # The create dialog opens over the list.
    page.get_by_role("link", name="Create Token").click()
    dialog = page.get_by_role("dialog", name="Create Token")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Name", exact=True).fill("nightly-backup")
    dialog.get_by_label("IP white list").fill("127.0.0.1\n::1\n10.20.0.0/16")
    dialog.get_by_label("Long-term").check()
    dialog.get_by_role("button", name="Create").click()

    # The secret is shown once, with copy buttons, on the list the window goes back to.
    expect(page.locator("#created-secret")).to_be_visible()
    token = AccessToken.objects.get(user=admin_user)
    shown = page.get_by_role("dialog", name=f"Token {token.pk} created")
    expect(shown).to_be_visible()
    expect(shown.get_by_role("alert")).to_contain_text("it is shown this once")
    token_id = page.locator("#created-token-id").inner_text()
    secret = page.locator("#created-secret").inner_text()
    bearer_line = page.locator("#created-bearer").inner_text()
    assert token_id == str(token.pk)
    assert len(secret) >= 32
    assert bearer_line == f"Authorization: Bearer pnl_{token_id}_{secret}"
    expect(shown.get_by_role("button", name="Copy")).to_have_count(3)
    screenshot("token-created")
    # Located by what they copy: a clicked button is named "Copied" for a while.
    assert clipboard_after_clicking(page, shown.locator('button[data-copy="created-token-id"]')) == token_id
    assert clipboard_after_clicking(page, shown.locator('button[data-copy="created-secret"]')) == secret
    assert clipboard_after_clicking(page, shown.locator('button[data-copy="created-bearer"]')) == bearer_line

    # Done: back to the list, which no longer holds the secret; the token is unused.
    shown.get_by_role("link", name="Done").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert secret not in page.content()
    row = token_row(page, token.pk)
    expect(row.locator('td[data-label="Name"]')).to_have_text("nightly-backup")
    expect(row.locator('td[data-label="Last Used"]')).to_have_text("Never")
    expect(row.locator('td[data-label="IP White List"]')).to_have_text(
        re.compile(r"127\.0\.0\.1\s+::1\s+10\.20\.0\.0/16")
    )
    expires = token.expires_at
    assert expires.replace(year=expires.year - 10) == token.created_at

    # A script uses the copied values: Bearer, and a signed request.
    bearer = bearer_line.removeprefix("Authorization: Bearer ")
    status, body = call_bearer(base_url, bearer)
    assert (status, body["username"]) == (200, "admin")
    status, body = call_signed(base_url, token_id, secret)
    assert status == 200, body
    assert body["total"] == 1
    assert [item["username"] for item in body["items"]] == ["admin"]

    page.reload()
    last_used = token_row(page, token.pk).locator('td[data-label="Last Used"]')
    expect(last_used).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC from (127\.0\.0\.1|::1)$"))

    # Modify the IP list to an address that is not the test's: the same secret is now refused.
    token_row(page, token.pk).get_by_role("link", name="Modify").click()
    dialog = page.get_by_role("dialog", name=f"Modify token {token_id}")
    dialog.get_by_label("IP white list").fill(ELSEWHERE)
    dialog.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text(f"Token {token_id} was modified.")
    expect(token_row(page, token.pk).locator('td[data-label="IP White List"]')).to_have_text(ELSEWHERE)
    assert call_bearer(base_url, bearer) == (403, {"detail": "invalid request ip", "errors": None})
    assert call_signed(base_url, token_id, secret) == (403, {"detail": "invalid request ip", "errors": None})

    # Delete it, through the confirmation dialog: refused as an unknown token from then on.
    token_row(page, token.pk).get_by_role("link", name="Delete").click()
    dialog = page.get_by_role("dialog", name=f"Delete token {token_id}?")
    dialog.get_by_role("button", name=f"Delete token {token_id}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Token {token_id} was deleted.")
    expect(token_row(page, token.pk)).to_have_count(0)
    assert call_bearer(base_url, bearer)[0] == 401
    assert call_signed(base_url, token_id, secret)[0] == 401


def test_api_docs_render_offline_under_the_csp(page, base_url, screenshot):
    """Swagger UI from the panel's own static files; the ``page`` fixture fails on console or CSP errors."""
    hosts = []
    page.on("request", lambda request: hosts.append(urlsplit(request.url).hostname))

    page.goto("/api/docs")

    expect(page.locator(".swagger-ui").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/users$")).first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/user/info")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert hosts
    assert set(hosts) == {"localhost"}, f"requests left localhost: {sorted(set(hosts))}"
    screenshot("api-docs")


def test_reloading_or_going_back_after_creating_a_token_creates_nothing_and_hides_the_secret(admin_page, admin_user):
    page = admin_page
    page.goto(f"/users/{admin_user.pk}/tokens/")
    page.wait_for_load_state("load")
    page.get_by_role("link", name="Create Token").click()
    dialog = page.get_by_role("dialog", name="Create Token")
    dialog.get_by_label("Name", exact=True).fill("deploy")
    dialog.get_by_label("Long-term").check()
    dialog.get_by_role("button", name="Create").click()
    expect(page.locator("#created-secret")).to_be_visible()
    token = AccessToken.objects.get(user=admin_user)
    expect(page.get_by_role("dialog", name=f"Token {token.pk} created")).to_be_visible()
    secret = page.locator("#created-secret").inner_text()
    # The secret came after a redirect: the address is the list's, with nothing of the secret in it.
    assert page.url.endswith(f"/users/{admin_user.pk}/tokens/")

    page.reload()

    expect(page.get_by_role("heading", name="Access tokens of admin", exact=True)).to_be_visible()
    expect(page.locator("#created-secret")).to_have_count(0)
    assert secret not in page.content()
    expect(token_row(page, token.pk)).to_be_visible()
    assert AccessToken.objects.filter(user=admin_user).count() == 1

    page.go_back()
    page.go_forward()

    expect(page.locator("#created-secret")).to_have_count(0)
    assert AccessToken.objects.filter(user=admin_user).count() == 1


def test_the_read_only_shortcut_ticks_the_view_permissions_and_a_tick_chooses_the_list(admin_page, admin_user):
    page = admin_page
    page.goto(f"/users/{admin_user.pk}/tokens/")
    page.wait_for_load_state("load")
    page.get_by_role("link", name="Create Token").click()
    dialog = page.get_by_role("dialog", name="Create Token")
    dialog.get_by_label("Name", exact=True).fill("report")
    dialog.get_by_label("Long-term").check()
    expect(dialog.get_by_role("radio", name=re.compile("^Everything I may do"))).to_be_checked()

    dialog.get_by_role("radio", name=re.compile("^Read-only")).check()

    expect(dialog.get_by_role("checkbox", name="See users (the Users module)")).to_be_checked()
    expect(dialog.get_by_role("checkbox", name="Delete users")).not_to_be_checked()
    dialog.get_by_role("checkbox", name="Delete users").check()
    expect(dialog.get_by_role("radio", name=re.compile("^Only the permissions ticked"))).to_be_checked()
    dialog.get_by_role("button", name="Create").click()

    expect(page.get_by_role("dialog", name=re.compile(r"^Token \d+ created"))).to_be_visible()
    token = AccessToken.objects.get(user=admin_user)
    assert "accounts.delete_user" in token.permissions
    assert "accounts.view_user" in token.permissions
    assert "accounts.add_user" not in token.permissions
