# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The airflow_users module's I/O against a mocked Kubernetes API: which pod, which input the
program gets on stdin, what comes back (names only, never a password)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
from unittest import mock

import pytest
from kubernetes import client as k8s_client
from kubernetes.client.api.core_v1_api import CoreV1Api  # noqa: F401 pylint: disable=unused-import
from kubernetes.client.rest import ApiException

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.flujo.airflow.plugins.modules import airflow_users

NS = "airflow-test"
USERS = [{"username": "admin", "email": "a@x", "first_name": "a", "last_name": "a", "roles": ["Admin"],
          "password_secret": "airflow-secrets", "password_key": "AIRFLOW_ADMIN_PASSWORD"},
         {"username": "ana", "email": "ana@x", "first_name": "Ana", "last_name": "L", "roles": ["Viewer"],
          "password_secret": "airflow-users", "password_key": "ana"}]


class Exit(Exception):
    def __init__(self, failed, result):
        super(Exit, self).__init__(result.get("msg", ""))
        self.failed, self.result = failed, result


def _exit_json(self, **kwargs):
    raise Exit(False, kwargs)


def _fail_json(self, msg, **kwargs):
    raise Exit(True, dict(kwargs, msg=msg))


def pod(name, ready=True):
    return k8s_client.V1Pod(metadata=k8s_client.V1ObjectMeta(name=name), status=k8s_client.V1PodStatus(
        phase="Running", conditions=[k8s_client.V1PodCondition(type="Ready", status="True" if ready else "False")]))


@pytest.fixture
def api(monkeypatch):
    for name in list(os.environ):
        if name.startswith("K8S_AUTH_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)
    fake = mock.Mock()
    fake.list_namespaced_pod.return_value = k8s_client.V1PodList(items=[pod("api-0", ready=False), pod("api-1")])
    store = {"airflow-secrets": {"AIRFLOW_ADMIN_PASSWORD": "admin-Secret-pw"}, "airflow-users": {"ana": "ana-Secret-pw"}}

    def read(name, namespace):
        if name not in store:
            raise ApiException(status=404, reason="Not Found")
        return k8s_client.V1Secret(data=dict((k, base64.b64encode(v.encode()).decode()) for k, v in store[name].items()))
    fake.read_namespaced_secret.side_effect = read
    fake.store = store
    monkeypatch.setattr(airflow_users, "get_api_client", mock.Mock())
    monkeypatch.setattr(k8s_client, "CoreV1Api", lambda api_client: fake)
    return fake


def run(check=False, users=None):
    args = dict(namespace=NS, pod_selector=["app.kubernetes.io/component=api-server"], container="api-server",
                program="print(1)", users=USERS if users is None else users)
    if check:
        args["_ansible_check_mode"] = True
    with patch_module_args(args):
        with pytest.raises(Exit) as caught:
            airflow_users.main()
    return caught.value


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
    assert [u["password"] for u in given["users"]] == ["admin-Secret-pw", "ana-Secret-pw"]
    assert given["check"] is False
    assert "Secret-pw" not in json.dumps(out.result)


def test_a_converged_state_reports_no_change(api, monkeypatch):
    program_says(monkeypatch, {"created": [], "updated": {}, "removed": [], "roles_created": [], "roles_updated": [],
                               "roles_removed": [], "changed": False})
    assert run().result["changed"] is False


def test_check_mode_without_a_ready_pod_predicts_every_user(api):
    api.list_namespaced_pod.return_value = k8s_client.V1PodList(items=[])
    out = run(check=True)
    assert out.result["changed"] and out.result["created"] == ["admin", "ana"]
    assert "No running and ready" in run().result["msg"]


def test_check_mode_before_a_password_exists_passes_none(api, monkeypatch):
    del api.store["airflow-users"]
    calls = program_says(monkeypatch, {"created": ["ana"], "changed": True})
    run(check=True)
    assert calls[0][1]["users"][1]["password"] is None and calls[0][1]["check"] is True
    out = run()
    assert out.failed and "Cannot read Secret airflow-users" in out.result["msg"]


def test_a_program_error_fails_with_its_message(api, monkeypatch):
    program_says(monkeypatch, {"error": "ValueError: unknown role(s) Nope"}, rc=1)
    out = run()
    assert out.failed and "unknown role(s) Nope" in out.result["msg"]
