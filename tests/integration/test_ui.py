# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The UI login in a real headless browser (Debian chromium driven by Playwright)."""

import shutil

import pytest


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is not installed (apt-get install chromium); the UI test needs a real browser")
    return path


def test_login_page_loads_and_admin_logs_in(api_url, admin):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page()
        page.goto(api_url + "/", wait_until="commit")
        # the React app redirects to the login form on the client side
        page.wait_for_selector("input[name=username]", timeout=60000)
        page.fill("input[name=username]", admin[0])
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")
        page.wait_for_timeout(1500)
        assert "_token" not in {c["name"] for c in page.context.cookies()}
        page.fill("input[name=username]", admin[0])
        page.fill("input[name=password]", admin[1])
        page.click("button[type=submit]")
        page.wait_for_function("() => !location.pathname.includes('/auth/login')", timeout=60000)
        assert "_token" in {c["name"] for c in page.context.cookies()}
        page.wait_for_selector("text=Welcome", timeout=60000)
        browser.close()
