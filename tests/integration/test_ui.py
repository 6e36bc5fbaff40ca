# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The UI login in a real headless browser (Debian chromium driven by Playwright): FAB's login page,
for the admin and for a declared user of another role."""

import subprocess

from browser import logged_in
from helpers import USERS_SECRET, Api, playbook_ok, read_secret


def log_in(api_url, user, password):
    with logged_in(api_url, user, password):
        pass


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
