# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real headless browser (Debian chromium driven by Playwright) logged in to the UI, for the
tests that read what a user sees (test_ui, test_remote_logging)."""

import contextlib
import shutil

import pytest

SUBMIT = "button[type=submit], input[type=submit]"


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is not installed (apt-get install chromium); the UI tests need a real browser")
    return path


@contextlib.contextmanager
def logged_in(api_url, user, password):
    """Open the UI, get sent to FAB's login page, log in with a wrong password, then the right one;
    yields the page on the UI's welcome page."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.goto(api_url + "/", wait_until="commit")
            # the React app redirects to FAB's login form
            page.wait_for_selector("input[name=username]", timeout=60000)
            assert "/auth/login" in page.url, page.url
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", "wrong-password")
            page.click(SUBMIT)
            page.wait_for_selector("input[name=username]", timeout=30000)
            assert "_token" not in {c["name"] for c in page.context.cookies()}
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", password)
            page.click(SUBMIT)
            page.wait_for_function("() => !location.pathname.includes('/auth/login')", timeout=60000)
            assert "_token" in {c["name"] for c in page.context.cookies()}
            page.wait_for_selector("text=Welcome", timeout=60000)
            yield page
        finally:
            browser.close()
