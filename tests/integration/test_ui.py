# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The UI login in a real headless browser (Debian chromium driven by Playwright): FAB's login page,
for the admin and for a declared user of another role."""

import shutil
import subprocess

import pytest

from helpers import USERS_SECRET, Api, playbook_ok, read_secret

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


def vault_encrypted(tmp_path, value):
    """VALUE as an Ansible Vault string (the !vault block of encrypt_string), and the password file."""
    vault_pass = tmp_path / "vault-pass"
    vault_pass.write_text("flujo-test-vault\n")
    out = subprocess.run(["ansible-vault", "encrypt_string", "--vault-password-file", str(vault_pass), value],
                         capture_output=True, text=True, check=True).stdout
    return out[out.index("!vault"):], vault_pass


def test_a_declared_user_logs_in(core, api_url, tmp_path):
    """vera's password is generated into the Secret; walt's comes from Ansible Vault and is adopted."""
    walt_password = "walt-Vaulted-Passw0rd"
    encrypted, vault_pass = vault_encrypted(tmp_path, walt_password)
    path = tmp_path / "vars.yml"
    path.write_text("airflow_users:\n"
                    "  - {username: vera, email: vera@flujo.test, roles: [Viewer]}\n"
                    "  - username: walt\n    email: walt@flujo.test\n    roles: [Viewer]\n"
                    "    password: " + encrypted.replace("\n", "\n      ") + "\n")
    run = playbook_ok("site.yml", "-e", "@%s" % path, "--vault-password-file", str(vault_pass), timeout=900)
    assert walt_password not in run.output
    passwords = read_secret(core, USERS_SECRET)
    assert passwords["walt"] == walt_password
    assert Api(api_url, walt_password, user="walt").login().status_code == 201
    log_in(api_url, "vera", passwords["vera"])
