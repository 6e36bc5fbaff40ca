# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The UI login in a real headless browser (Debian chromium driven by Playwright): FAB's login page,
for the admin and for a declared user of another role."""

import json
import shutil

import pytest

from helpers import USERS_SECRET, playbook_ok, read_secret

SUBMIT = "button[type=submit], input[type=submit]"


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is not installed (apt-get install chromium); the UI test needs a real browser")
    return path


def log_in(api_url, user, password):
    """Open the UI, get sent to the login page, log in with a wrong password, then the right one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
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
        browser.close()


def test_login_page_loads_and_admin_logs_in(api_url, admin):
    log_in(api_url, *admin)


def test_a_declared_user_logs_in(core, api_url, tmp_path):
    path = tmp_path / "vars.json"
    path.write_text(json.dumps({"airflow_users": [{"username": "vera", "email": "vera@flujo.test", "roles": ["Viewer"]}]}))
    playbook_ok("site.yml", "-e", "@%s" % path, timeout=900)
    log_in(api_url, "vera", read_secret(core, USERS_SECRET)["vera"])
