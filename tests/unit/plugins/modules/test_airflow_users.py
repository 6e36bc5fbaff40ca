# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The airflow_users module's I/O against a mocked Kubernetes API: which pod, which input the
program gets on stdin, what comes back (names only, never a password)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

import pytest

from ansible_collections.flujo.airflow.plugins.modules import airflow_users
from ansible_collections.flujo.airflow.tests.unit.plugins.modules.module_harness import isolate, run_module
from ansible_collections.flujo.airflow.tests.unit.plugins.modules.test_airflow_apply import fake_cluster

NS = "airflow-test"
USERS = [{"username": "admin", "email": "a@x", "first_name": "a", "last_name": "a", "roles": ["Admin"],
          "password_secret": "airflow-secrets", "password_key": "AIRFLOW_ADMIN_PASSWORD"},
         {"username": "ana", "email": "ana@x", "first_name": "Ana", "last_name": "L", "roles": ["Viewer"],
          "password_secret": "airflow-users", "password_key": "ana"}]
PODS = "/api/v1/namespaces/%s/pods/" % NS
SECRETS = "/api/v1/namespaces/%s/secrets/" % NS


def pod(name, ready=True):
    return {"metadata": {"name": name, "labels": {"app.kubernetes.io/component": "api-server"}},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def secret(name, data):
    return {"metadata": {"name": name}, "data": dict((k, base64.b64encode(v.encode()).decode()) for k, v in data.items())}


@pytest.fixture
def api(monkeypatch, tmp_path):
    """The apply tests' fake API server (the real client up to urllib3) with two api-server pods, one
    ready, and the Secrets that hold the passwords."""
    isolate(monkeypatch, tmp_path)
    fake = fake_cluster(monkeypatch)
    fake.put(PODS + "api-0", pod("api-0", ready=False))
    fake.put(PODS + "api-1", pod("api-1"))
    fake.put(SECRETS + "airflow-secrets", secret("airflow-secrets", {"AIRFLOW_ADMIN_PASSWORD": "admin-Secret-pw"}))
    fake.put(SECRETS + "airflow-users", secret("airflow-users", {"ana": "ana-Secret-pw"}))
    return fake


def run(check=False, users=None, diff=False):
    args = dict(namespace=NS, pod_selector=["app.kubernetes.io/component=api-server"], container="api-server",
                program="print(1)", users=USERS if users is None else users)
    return run_module(airflow_users.main, args, check, diff)


def program_says(monkeypatch, report, rc=0):
    calls = []

    def fake_run(api, namespace, pod_name, container, program, line, timeout):
        calls.append((pod_name, json.loads(line)))
        return rc, "some airflow log line\n" + airflow_users.MARKER + json.dumps(report) + "\n", ""
    monkeypatch.setattr(airflow_users, "run_program", fake_run)
    return calls


def test_the_program_runs_in_the_ready_pod_with_the_passwords_on_stdin(api, monkeypatch):
    calls = program_says(monkeypatch, {"created": ["ana"], "updated": {}, "removed": [], "roles_created": [],
                                       "roles_updated": [], "roles_removed": [], "changed": True})
    out = run()
    assert not out.failed and out.result["changed"] and out.result["created"] == ["ana"]
    pod_name, given = calls[0]
    assert pod_name == "api-1"
    assert ("GET", "/api/v1/namespaces/%s/pods" % NS, {"labelSelector": "app.kubernetes.io/component=api-server"},
            "application/json") in api.requests
    assert [u["password"] for u in given["users"]] == ["admin-Secret-pw", "ana-Secret-pw"]
    assert given["check"] is False
    assert "Secret-pw" not in json.dumps(out.result)


def test_a_converged_state_reports_no_change(api, monkeypatch):
    program_says(monkeypatch, {"created": [], "updated": {}, "removed": [], "roles_created": [], "roles_updated": [],
                               "roles_removed": [], "changed": False})
    assert run().result["changed"] is False


def test_check_mode_without_a_ready_pod_predicts_every_user(api):
    del api.objects[PODS + "api-0"], api.objects[PODS + "api-1"]
    out = run(check=True)
    assert out.result["changed"] and out.result["created"] == ["admin", "ana"]
    assert "No running and ready" in run().result["msg"]


def test_check_mode_before_a_password_exists_passes_none(api, monkeypatch):
    del api.objects[SECRETS + "airflow-users"]
    calls = program_says(monkeypatch, {"created": ["ana"], "changed": True})
    run(check=True)
    assert calls[0][1]["users"][1]["password"] is None and calls[0][1]["check"] is True
    out = run()
    assert out.failed and "Cannot read Secret airflow-users" in out.result["msg"]


def test_a_program_error_fails_with_its_message(api, monkeypatch):
    program_says(monkeypatch, {"error": "ValueError: unknown role(s) Nope"}, rc=1)
    out = run()
    assert out.failed and "unknown role(s) Nope" in out.result["msg"]


@pytest.mark.parametrize("check", [False, True])
def test_diff_mode_shows_the_report_and_never_a_password(api, monkeypatch, check):
    """--diff (with or without --check) ran out of memory: the diff held the result it was part of."""
    report = {"created": ["ana"], "updated": {"admin": ["email"]}, "removed": [], "roles_created": [],
              "roles_updated": [], "roles_removed": [], "changed": True}
    program_says(monkeypatch, report)
    out = run(check=check, diff=True)
    assert not out.failed and out.result["changed"]
    assert out.result["diff"] == {"before": {}, "after": dict((k, v) for k, v in report.items() if k != "changed")}
    assert "Secret-pw" not in json.dumps(out.result)
