# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upgrade from an older Airflow 3 release (molecule/upgrade): the migration runs once, before the
new pods; history, a connection and every secret survive."""

import json
import os
import time
import urllib.parse
from datetime import datetime

import pytest
import requests

from conftest import NAMESPACE, REDIS_SECRET, REPO, SECRET, kubectl, playbook_ok, pod_of

pytestmark = pytest.mark.upgrade
OLD = os.environ.get("AIRFLOW_UPGRADE_FROM", "3.3.1")
NEW = os.environ.get("AIRFLOW_UPGRADE_TO", "3.3.2")


def login(api_url, core):
    import base64
    pw = base64.b64decode(core.read_namespaced_secret(SECRET, NAMESPACE).data["AIRFLOW_ADMIN_PASSWORD"]).decode()
    tok = requests.post(api_url + "/auth/token", json={"username": "admin", "password": pw}, timeout=30).json()
    return {"Authorization": "Bearer " + tok["access_token"]}


def run_dag(api_url, headers):
    run = requests.post(api_url + "/api/v2/dags/flujo_hello/dagRuns", json={"logical_date": None},
                        headers=headers, timeout=30).json()
    path = "/api/v2/dags/flujo_hello/dagRuns/" + urllib.parse.quote(run["dag_run_id"], safe="")
    for dummy in range(240):
        state = requests.get(api_url + path, headers=headers, timeout=30).json()["state"]
        if state in ("success", "failed"):
            return state
        time.sleep(1)
    return state


def stamp(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_upgrade_keeps_history_connection_and_secrets(k8s, core, api_url):
    from kubernetes import client
    playbook_ok("site.yml", "-e", "airflow_version=%s" % OLD)
    playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % (REPO / "examples" / "dags"))
    headers = login(api_url, core)
    assert requests.get(api_url + "/api/v2/version", timeout=30).json()["version"] == OLD
    assert run_dag(api_url, headers) == "success"
    conn = {"connection_id": "flujo_upgrade", "conn_type": "http", "host": "h", "password": "kept-across-upgrade"}
    assert requests.post(api_url + "/api/v2/connections", json=conn, headers=headers, timeout=30).status_code == 201
    runs_before = requests.get(api_url + "/api/v2/dags/flujo_hello/dagRuns", headers=headers, timeout=30).json()
    secrets_before = {n: core.read_namespaced_secret(n, NAMESPACE).metadata for n in (SECRET, REDIS_SECRET)}

    playbook_ok("site.yml", "-e", "airflow_version=%s" % NEW)

    headers = login(api_url, core)
    assert requests.get(api_url + "/api/v2/version", timeout=30).json()["version"] == NEW
    for name, meta in secrets_before.items():
        after = core.read_namespaced_secret(name, NAMESPACE).metadata
        assert (after.uid, after.resource_version) == (meta.uid, meta.resource_version), name
    # the new migration ran once, without a retry; the Job of the old release was removed after it
    jobs = client.BatchV1Api(k8s).list_namespaced_job(NAMESPACE, label_selector="app.kubernetes.io/component=migrate").items
    assert [j.spec.template.spec.containers[0].image.rsplit(":", 1)[1] for j in jobs] == [NEW]
    new_job = jobs[0]
    assert new_job.status.succeeded == 1 and not new_job.status.failed
    pods = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/name=airflow,"
                                    "app.kubernetes.io/version=%s" % NEW).items
    components = [p for p in pods if p.metadata.labels["app.kubernetes.io/component"] != "migrate"]
    assert len(components) >= 5
    # every new pod was created after the migration finished: components roll only on the new schema
    assert all(stamp(p.metadata.creation_timestamp) >= stamp(new_job.status.completion_time) for p in components)
    runs_after = requests.get(api_url + "/api/v2/dags/flujo_hello/dagRuns", headers=headers, timeout=30).json()
    assert runs_after["total_entries"] == runs_before["total_entries"]
    got = kubectl("exec", pod_of(core, "scheduler"), "-c", "scheduler", "--",
                  "airflow", "connections", "get", "flujo_upgrade", "-o", "json").stdout
    assert json.loads(got)[0]["password"] == "kept-across-upgrade"
    assert run_dag(api_url, headers) == "success"
