"""Browser fixtures: Debian's Chromium, driven by Playwright, against pytest-django's live server.

Every page a test opens is watched: a console error, an uncaught script error or a
Content-Security-Policy violation fails the test that caused it.
"""

import contextlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

# Playwright's sync API keeps an asyncio loop in the main thread, so Django would refuse the tests' ORM calls.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.factories import DEFAULT_PASSWORD  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
# Screenshots go to the git-ignored test-results/screenshots/; `make screenshots` sets
# PANEL_SCREENSHOTS_DIR=docs/screenshots to refresh the README's pictures on purpose.
# A relative directory is taken from the project's root.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / (os.environ.get("PANEL_SCREENSHOTS_DIR") or "test-results/screenshots")

# Chromium logs most violations itself; this listener also turns every violation event
# into a console error naming the directive, so none can pass unnoticed.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const blocked = event.blockedURI || "inline";
  console.error(`Content Security Policy violation: ${event.violatedDirective} blocked ${blocked}`);
});
"""


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run. Missing Chromium fails the run: CI installs it."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium). "
            "They fail rather than skip so that CI never passes without running them.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def base_url(live_server):
    """The live server's URL with ``localhost`` as the host (a secure context, and in ALLOWED_HOSTS)."""
    parts = urlsplit(live_server.url)
    return urlunsplit(parts._replace(netloc=f"localhost:{parts.port}"))


class BrowserConsole:
    """What the test's pages logged: console messages and uncaught script errors.

    Chromium logs every response with an error status as a console error, including
    the pages that answer a refused form with 400 or a refused deletion with 409 on
    purpose; a test names those with ``expect_http_error`` and everything else fails it.
    """

    _HTTP_ERROR = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})\b")

    def __init__(self):
        self.messages = []
        self.page_errors = []
        self._expected_http_errors = set()

    def expect_http_error(self, status, path):
        """This test's own request to ``path`` is meant to answer ``status``."""
        self._expected_http_errors.add((status, path))

    def record(self, message):
        url = message.location.get("url") or (message.page.url if message.page else "")
        self.messages.append((message.type, message.text, url))

    def _expected(self, text, url):
        match = self._HTTP_ERROR.match(text)
        return bool(match) and (int(match.group(1)), urlsplit(url).path) in self._expected_http_errors

    def problems(self):
        found = [
            f"console {kind} from {url}: {text}"
            for kind, text, url in self.messages
            if (kind == "error" or "Content Security Policy" in text) and not self._expected(text, url)
        ]
        return found + [f"uncaught error: {error}" for error in self.page_errors]


@pytest.fixture
def console():
    return BrowserConsole()


@contextlib.contextmanager
def _watched_page(browser, base_url, console, **context_options):
    """A page in a fresh browser context (no cookies) at 1280x800; fails if its pages logged a problem."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, **context_options)
    context.add_init_script(_REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.on("console", console.record)
    page.on("pageerror", lambda error: console.page_errors.append(str(error)))
    yield page
    context.close()
    problems = console.problems()
    assert not problems, "The browser reported problems:\n" + "\n".join(problems)


@pytest.fixture
def page(browser, base_url, console):
    with _watched_page(browser, base_url, console) as page:
        yield page


@pytest.fixture
def no_script_page(browser, base_url, console):
    """A page in a browser with JavaScript turned off, watched like ``page`` (with the test's ``console``)."""
    with _watched_page(browser, base_url, console, java_script_enabled=False) as page:
        yield page


@pytest.fixture
def another_browser(browser, base_url):
    """``another_browser(**context_options)`` opens one more browser, with its own cookies, watched like ``page``."""
    with contextlib.ExitStack() as opened:

        def open_page(**context_options):
            return opened.enter_context(_watched_page(browser, base_url, BrowserConsole(), **context_options))

        yield open_page


@pytest.fixture
def screenshot(page):
    """``screenshot("user-list")`` saves the whole page to SCREENSHOTS/user-list.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(name):
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        return path

    return save


def log_in(page, *, username, password=DEFAULT_PASSWORD):
    """Log in through the login form, as a person would."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def admin_page(page, admin_user):
    """A browser logged in as the superuser ``admin``, on the user list."""
    log_in(page, username=admin_user.username)
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    page.wait_for_load_state()  # htmx is ready, so a click is not the plain link's navigation
    return page
