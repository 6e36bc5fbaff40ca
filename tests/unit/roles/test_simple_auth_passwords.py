# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/airflow_api_server/files/simple_auth_passwords.py: SimpleAuthManager's passwords file
written from the environment, as a function and run the way the container runs it (`python -c`)."""

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "airflow_api_server" / "files" / "simple_auth_passwords.py"


def load():
    spec = importlib.util.spec_from_file_location("simple_auth_passwords", str(SCRIPT))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sap = load()
ENV = {"AIRFLOW_ADMIN_USER": "admin", "AIRFLOW_ADMIN_PASSWORD": "p\"w'$x{}\u00e9"}


def test_the_file_maps_the_admin_user_to_the_password(tmp_path):
    target = tmp_path / "passwords.json"
    sap.write_passwords(str(target), ENV)
    assert json.loads(target.read_text()) == {"admin": "p\"w'$x{}\u00e9"}


def test_an_existing_file_is_replaced(tmp_path):
    target = tmp_path / "passwords.json"
    target.write_text(json.dumps({"old": "x", "admin": "before"}) + "\n" * 100)
    sap.write_passwords(str(target), ENV)
    assert json.loads(target.read_text()) == {"admin": "p\"w'$x{}\u00e9"}


def test_a_missing_variable_fails_without_writing(tmp_path):
    with pytest.raises(KeyError):
        sap.write_passwords(str(tmp_path / "passwords.json"), {"AIRFLOW_ADMIN_USER": "admin"})
    assert not (tmp_path / "passwords.json").exists()


def test_the_default_target_is_the_configured_passwords_file():
    assert sap.PASSWORDS_FILE == "/opt/airflow/auth/passwords.json"


def test_the_file_runs_as_a_c_string(tmp_path):
    target = tmp_path / "passwords.json"
    run = subprocess.run([sys.executable, "-c", SCRIPT.read_text(), str(target)], env=dict(os.environ, **ENV),
                         capture_output=True, text=True, timeout=60, check=False)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")
    assert json.loads(target.read_text()) == {"admin": "p\"w'$x{}\u00e9"}


def test_the_file_is_python_3_9_syntax():
    ast.parse(SCRIPT.read_text(), feature_version=(3, 9))
