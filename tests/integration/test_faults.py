# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults: delete each component's pod, one at a time, while a DAG with many tasks runs. The run
still succeeds, no run or task history is lost, PostgreSQL data survives its pod's restart. The
recovery time of each component is written to bench/results/faults.json (molecule/faults runs this)."""

import json
import os
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

from conftest import REPO, kubectl

pytestmark = pytest.mark.faults
INVENTORY = os.environ.get("AIRFLOW_INVENTORY", str(REPO / "inventory" / "kind"))
DAGS = Path(__file__).resolve().parent / "dags"
# (component label, workload) in the order the issue names them
VICTIMS = [("scheduler", "deployment/airflow-scheduler"), ("worker", "statefulset/airflow-worker"),
           ("triggerer", "statefulset/airflow-triggerer"), ("api-server", "deployment/airflow-api-server"),
           ("celery-broker", "statefulset/airflow-redis"), ("metadata-database", "statefulset/airflow-postgresql")]


class Api:
    def __init__(self, url, password):
        self.url, self.password, self.token = url, password, None

    def call(self, method, path, **kwargs):
        for attempt in range(120):  # the api-server or the database may be restarting
            try:
                if not self.token:
                    resp = requests.post(self.url + "/auth/token", json={"username": "admin", "password": self.password},
                                         timeout=10)
                    resp.raise_for_status()
                    self.token = resp.json()["access_token"]
                resp = requests.request(method, self.url + path, headers={"Authorization": "Bearer " + self.token},
                                        timeout=10, **kwargs)
                if resp.status_code < 500:
                    resp.raise_for_status()
                    return resp.json()
            except requests.RequestException:
                pass
            time.sleep(1)
        raise RuntimeError("%s %s kept failing" % (method, path))


def counts(api):
    runs = api.call("GET", "/api/v2/dags/~/dagRuns?limit=1")["total_entries"]
    tis = api.call("GET", "/api/v2/dags/~/dagRuns/~/taskInstances?limit=1")["total_entries"]
    return runs, tis


def wait_ready(workload):
    t0 = time.time()
    kubectl("rollout", "status", workload, "--timeout=600s")
    return time.time() - t0


def test_a_run_survives_every_component_losing_its_pod(api_url, admin):
    run = subprocess.run(["ansible-playbook", "playbooks/dags.yml", "-i", INVENTORY, "-e",
                          "airflow_dags_source=%s" % DAGS], cwd=REPO, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-2000:]
    api = Api(api_url, admin[1])
    runs_before, tis_before = counts(api)
    dag_run = api.call("POST", "/api/v2/dags/flujo_faults/dagRuns", json={"logical_date": None})
    run_path = "/api/v2/dags/flujo_faults/dagRuns/%s" % urllib.parse.quote(dag_run["dag_run_id"], safe="")
    recovery = {}
    for component, workload in VICTIMS:
        time.sleep(5)
        t0 = time.time()
        kubectl("delete", "pod", "-l", "app.kubernetes.io/component=%s" % component, "--wait=false")
        time.sleep(2)
        wait_ready(workload)
        recovery[component] = round(time.time() - t0, 1)
    deadline = time.time() + 1200
    while True:
        state = api.call("GET", run_path)["state"]
        if state in ("success", "failed") or time.time() > deadline:
            break
        time.sleep(3)
    tis = api.call("GET", run_path + "/taskInstances?limit=100")["task_instances"]
    runs_after, tis_after = counts(api)
    result = {"run_state": state, "tasks": len(tis), "tasks_succeeded": sum(t["state"] == "success" for t in tis),
              "tries_over_1": sum(t["try_number"] > 1 for t in tis), "recovery_s": recovery,
              "dag_runs_before_after": [runs_before, runs_after], "task_instances_before_after": [tis_before, tis_after]}
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults.json").write_text(json.dumps(result, indent=2) + "\n")
    assert state == "success", result
    assert result["tasks_succeeded"] == 40
    assert runs_after == runs_before + 1 and tis_after >= tis_before + 40, result
