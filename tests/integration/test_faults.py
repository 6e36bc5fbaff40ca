# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults: delete each component's pod, one at a time, while a DAG with many tasks runs. The run
still succeeds, no run or task history is lost, PostgreSQL data survives its pod's restart. The
recovery time of each component is written to bench/results/faults.json (molecule/faults runs this),
with how many of the runs completed (FAULT_ROUNDS rounds, 3 by default)."""

import json
import os
import statistics
import time
from pathlib import Path

import pytest

from conftest import REPO, Api, kubectl, playbook_ok

pytestmark = pytest.mark.faults
DAGS = Path(__file__).resolve().parent / "dags"
ROUNDS = int(os.environ.get("FAULT_ROUNDS", "3"))  # one DAG run and six pod deletions per round
# (component label, workload) in the order the issue names them
VICTIMS = [("scheduler", "deployment/airflow-scheduler"), ("worker", "statefulset/airflow-worker"),
           ("triggerer", "statefulset/airflow-triggerer"), ("api-server", "deployment/airflow-api-server"),
           ("celery-broker", "statefulset/airflow-redis"), ("metadata-database", "statefulset/airflow-postgresql")]


def counts(api):
    runs = api.call("GET", "/api/v2/dags/~/dagRuns?limit=1")["total_entries"]
    tis = api.call("GET", "/api/v2/dags/~/dagRuns/~/taskInstances?limit=1")["total_entries"]
    return runs, tis


def wait_ready(workload):
    t0 = time.time()
    kubectl("rollout", "status", workload, "--timeout=600s")
    return time.time() - t0


def one_round(api):
    """One DAG run while each component loses its pod in turn; returns what happened."""
    runs_before, tis_before = counts(api)
    run_path = api.trigger("flujo_faults")
    recovery = {}
    for component, workload in VICTIMS:
        time.sleep(5)
        t0 = time.time()
        kubectl("delete", "pod", "-l", "app.kubernetes.io/component=%s" % component, "--wait=false")
        time.sleep(2)
        wait_ready(workload)
        recovery[component] = round(time.time() - t0, 1)
    state = api.wait(run_path, timeout=1200)
    tis = api.call("GET", run_path + "/taskInstances?limit=100")["task_instances"]
    runs_after, tis_after = counts(api)
    return {"run_state": state, "tasks": len(tis), "tasks_succeeded": sum(t["state"] == "success" for t in tis),
            "tries_over_1": sum(t["try_number"] > 1 for t in tis), "recovery_s": recovery,
            # history kept: earlier runs and task instances are all still there, plus this run's
            "history_kept": runs_after == runs_before + 1 and tis_after >= tis_before + 40,
            "dag_runs_before_after": [runs_before, runs_after], "task_instances_before_after": [tis_before, tis_after]}


def test_runs_survive_every_component_losing_its_pod(api_url, admin):
    playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % DAGS)
    api = Api(api_url, admin[1])
    rounds = [one_round(api) for dummy in range(ROUNDS)]
    complete = [r for r in rounds if r["run_state"] == "success" and r["tasks_succeeded"] == 40 and r["history_kept"]]
    result = {"runs_completed": len(complete), "runs": len(rounds),
              "median_recovery_s": {c: statistics.median(r["recovery_s"][c] for r in rounds) for c, dummy in VICTIMS},
              "rounds": rounds}
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults.json").write_text(json.dumps(result, indent=2) + "\n")
    assert len(complete) == len(rounds), result
