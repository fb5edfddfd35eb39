#!/usr/bin/env python3
"""Create a company, a scoped admin in it, a read-only token for that admin, and list users with it.

Python's standard library only. The operator's token (``PANEL_TOKEN``: the ``Authorization: Bearer``
value from the Tokens page, of a user who may create companies, roles and users and set access) does
steps 1 to 4. A token never creates credentials, so step 5 logs in as the new admin the way a browser
does (their password, a session cookie and its CSRF token) and creates their own token; step 6 uses
that token, which can read but not change::

    PANEL_URL=http://localhost:8000 PANEL_TOKEN=pnl_16_... PANEL_ADMIN_PASSWORD='Sturdy-pass-42' \\
        python docs/clients/scoped_admin.py "Acme Logistics" acme-admin acme-admin@example.com

It prints the read-only token's Bearer value (shown this once) on standard error and the users the
admin sees as JSON on standard output; it stops at the first error, printing the panel's answer.
"""

import http.cookiejar
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

# What the admin's role lets them do within their company; accounts.use_api lets their tokens call the API.
ADMIN_PERMISSIONS = [
    "accounts.view_user",
    "accounts.add_user",
    "accounts.change_user",
    "organisation.view_company",
    "auth.view_group",
]


class Panel:
    """One caller: a Bearer token, or a browser session (cookies and the CSRF token) when ``bearer`` is None."""

    def __init__(self, url, bearer=None):
        if not url.startswith(("http://", "https://")):
            sys.exit(f"PANEL_URL starts with http:// or https://, not {url!r}")
        self.url, self.bearer = url.rstrip("/"), bearer
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.bearer:
            headers["Authorization"] = f"Bearer {self.bearer}"
        else:
            headers.update({"X-CSRFToken": self._csrf(), "Origin": self.url})
        try:
            with self._open(path, data, headers, method) as response:
                return json.load(response) if response.status != 204 else None
        except urllib.error.HTTPError as error:
            sys.exit(f"{method} {path}: HTTP {error.code} {error.read().decode(errors='replace')}")

    def log_in(self, username, password):
        """Log in as the login page does; a second factor would need the page (or the mfa step) instead."""
        self._open("/login/").close()  # sets the CSRF cookie
        form = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": self._csrf()})
        headers = {"Origin": self.url, "Content-Type": "application/x-www-form-urlencoded"}
        with self._open("/login/", form.encode(), headers, "POST") as response:
            if urllib.parse.urlsplit(response.url).path.endswith(("/login/", "/verify/")):
                sys.exit(f"logging in as {username} did not succeed (wrong password, a lock, or a second factor)")

    def log_out(self):
        headers = {"X-CSRFToken": self._csrf(), "Origin": self.url}
        self._open("/logout/", b"", headers, "POST").close()

    def _open(self, path, data=None, headers=None, method="GET"):
        request = urllib.request.Request(self.url + path, data, headers or {}, method=method)  # noqa: S310 (http[s])
        return self.opener.open(request)

    def _csrf(self):
        # The cookie is "csrftoken", or "__Host-csrftoken" behind HTTPS.
        return next(cookie.value for cookie in self.cookies if cookie.name.endswith("csrftoken"))


def main(company_name, username, email):
    url, operator_token = os.environ["PANEL_URL"], os.environ["PANEL_TOKEN"]
    password = os.environ["PANEL_ADMIN_PASSWORD"]
    operator = Panel(url, operator_token)

    # 1. The company, at the top level (a company admin running this would give "parent_id": their company).
    company = operator.call("POST", "/api/companies", {"name": company_name})
    # 2. A role owned by the company: what its admins may do there.
    role_body = {"name": f"{company_name} admins", "company_id": company["id"], "permissions": ADMIN_PERMISSIONS}
    role = operator.call("POST", "/api/roles", role_body)
    # 3. The admin, in the company: everything they do stays within it.
    user_body = {"username": username, "email": email, "password": password, "company_id": company["id"]}
    admin = operator.call("POST", "/api/users", user_body)
    # 4. Their access: the role, and the API module directly.
    access_body = {"roles": [role["id"]], "permissions": ["accounts.use_api"]}
    access = operator.call("PUT", f"/api/users/{admin['id']}/access", access_body)

    # 5. The admin's read-only token: the view_ permissions they hold, made in their own browser session.
    browser = Panel(url)
    browser.log_in(username, password)
    read_only = sorted(item["permission"] for item in access["effective"] if ".view_" in item["permission"])
    token_body = {"name": "read-only report", "long_term": True, "permissions": read_only}
    token = browser.call("POST", f"/api/users/{admin['id']}/tokens", token_body)
    browser.log_out()
    print(f"read-only token for {username} (shown this once): {token['bearer']}", file=sys.stderr)

    # 6. The users the admin sees, through the read-only token.
    users = Panel(url, token["bearer"]).call("GET", "/api/users?size=200")
    print(json.dumps(users, indent=2))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
