"""The panel in Chinese, in a real browser: a browser set to Simplified Chinese (Accept-Language: zh-CN) gets every
page in it before and after logging in, and a user who saved Traditional Chinese and the Asia/Taipei time zone
gets the panel in those whatever the browser says. Screenshots are saved as ``zh-hans-*.png`` / ``zh-hant-*.png``
(under docs/screenshots with ``make screenshots``).
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.conftest import SCREENSHOTS, _watched_page, log_in
from tests.factories import DEFAULT_PASSWORD, AccessTokenFactory, AdminFactory, PasskeyFactory

pytestmark = pytest.mark.browser

# A Chinese character: a dialog that has none is not in Chinese.
CJK = re.compile(r"[\u4e00-\u9fff]")
HAS_PREFERENCES = all(any(f.name == name for f in User._meta.get_fields()) for name in ("language", "time_zone"))
JOINED = datetime.datetime(2031, 5, 6, 7, 8, tzinfo=datetime.UTC)  # 15:08 in Taipei (UTC+8, no summer time)


@pytest.fixture
def page(browser, base_url, console):
    """This module's browser speaks Simplified Chinese: Accept-Language zh-CN and navigator.language."""
    with _watched_page(browser, base_url, console, locale="zh-CN") as page:
        yield page


def _chinese(locator):
    expect(locator).to_be_visible()
    assert CJK.search(locator.inner_text()), f"not Chinese: {locator.inner_text()!r}"


def test_a_browser_in_simplified_chinese_gets_the_panel_in_it(page, admin_user, screenshot):
    AccessTokenFactory(user=admin_user, name="nightly backup export", ip_allowlist=["192.0.2.0/24"])
    PasskeyFactory(user=admin_user, name="MacBook Touch ID")

    page.goto("/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("button", name="登录", exact=True)).to_be_visible()
    screenshot("zh-hans-login")

    page.get_by_label("用户名").fill(admin_user.username)
    page.get_by_label("密码").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="用户", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    page.wait_for_load_state()
    screenshot("zh-hans-users")

    page.goto(f"/users/{admin_user.pk}/tokens/")
    expect(page.get_by_role("heading", name=re.compile("访问令牌"))).to_be_visible()
    screenshot("zh-hans-tokens")
    page.wait_for_load_state()
    page.locator(f'a[href="/users/{admin_user.pk}/tokens/new/"]').first.click()
    dialog = page.get_by_role("dialog")
    _chinese(dialog)
    expect(dialog).not_to_contain_text("Create Token")
    screenshot("zh-hans-token-create")

    page.goto(f"/users/{admin_user.pk}/two-factor/")
    expect(page.get_by_role("heading", name=re.compile("两步验证"))).to_be_visible()
    screenshot("zh-hans-two-factor")

    page.goto(f"/users/{admin_user.pk}/passkeys/")
    expect(page.get_by_role("heading", name=re.compile("通行密钥"))).to_be_visible()
    screenshot("zh-hans-passkeys")
    page.wait_for_load_state()
    page.locator('[data-dialog-open="register-passkey"]').click()
    dialog = page.get_by_role("dialog")
    _chinese(dialog)
    expect(dialog).not_to_contain_text("Register Passkey")
    screenshot("zh-hans-passkey-register")


@pytest.mark.skipif(
    not HAS_PREFERENCES,
    reason="the User model has no language and time_zone fields yet (issue 16's preferences add them)",
)
def test_a_saved_traditional_chinese_and_taipei_time_win_over_the_browser(another_browser):
    mei = AdminFactory(username="mei", email="mei@example.com", language="zh-hant", time_zone="Asia/Taipei")
    User.objects.filter(pk=mei.pk).update(date_joined=JOINED)
    page = another_browser(locale="en-US")  # the browser asks for English; her saved choice wins once she logs in
    log_in(page, username="mei")
    expect(page.get_by_role("heading", name="使用者", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hant")
    row = page.locator("tr", has_text="mei@example.com")
    expect(row).to_contain_text("2031-05-06 15:08")  # 07:08 UTC, shown in Asia/Taipei
    expect(row).not_to_contain_text("07:08")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "zh-hant-users.png"), full_page=True, animations="disabled", caret="hide")
