# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Upgrade from an older Airflow 3 release (molecule/upgrade): the migration runs once, before the
new pods; history, a connection and every secret survive."""

import os
from datetime import datetime

import pytest

from helpers import (NAMESPACE, REPO, Api, admin_password, assert_secrets_unchanged, connection_password,
                     playbook_ok, secret_versions)

pytestmark = pytest.mark.upgrade
OLD = os.environ.get("AIRFLOW_UPGRADE_FROM", "3.3.1")
NEW = os.environ.get("AIRFLOW_UPGRADE_TO", "3.3.2")


def run_dag(api):
    """A run of flujo_hello: its final state, or its state after four minutes."""
    return api.wait(api.trigger("flujo_hello"), timeout=240, poll=1)


def stamp(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_upgrade_keeps_history_connection_and_secrets(k8s, core, api_url):
    from kubernetes import client
    playbook_ok("site.yml", "-e", "airflow_version=%s" % OLD)
    playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % (REPO / "examples" / "dags"))
    api = Api(api_url, admin_password(core))
    assert api.raw("GET", "/api/v2/version", auth=False).json()["version"] == OLD
    assert run_dag(api) == "success"
    conn = {"connection_id": "flujo_upgrade", "conn_type": "http", "host": "h", "password": "kept-across-upgrade"}
    assert api.raw("POST", "/api/v2/connections", json=conn).status_code == 201
    runs_before = api.raw("GET", "/api/v2/dags/flujo_hello/dagRuns").json()
    secrets_before = secret_versions(core)

    playbook_ok("site.yml", "-e", "airflow_version=%s" % NEW)

    api = Api(api_url, admin_password(core))
    assert api.raw("GET", "/api/v2/version", auth=False).json()["version"] == NEW
    assert_secrets_unchanged(core, secrets_before)
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
    runs_after = api.raw("GET", "/api/v2/dags/flujo_hello/dagRuns").json()
    assert runs_after["total_entries"] == runs_before["total_entries"]
    assert connection_password(core, "flujo_upgrade") == "kept-across-upgrade"
    assert run_dag(api) == "success"
