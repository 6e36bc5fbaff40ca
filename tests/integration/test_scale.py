# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scaling workers (molecule/faults): a replica change touches only the worker StatefulSet and its
disruption budget (created for two, deleted for one), and a scale-down lets the tasks running on the
removed worker finish (Celery warm shutdown)."""

import time
from pathlib import Path

import pytest

from helpers import kubectl, namespace_snapshot, playbook_ok

pytestmark = pytest.mark.faults
DAGS = Path(__file__).resolve().parent / "dags"


def site(*extra):
    return playbook_ok("site.yml", *extra, timeout=900)


def test_tasks_run_through_a_worker_scale_down(k8s, api):
    playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % DAGS)
    before = namespace_snapshot(k8s)
    site("-e", "airflow_worker_replicas=2")
    after = namespace_snapshot(k8s)
    changed = {key for key in before if after.get(key) != before[key]} | (set(after) - set(before))
    # the StatefulSet, and the disruption budget two workers get
    budget = ("list_namespaced_pod_disruption_budget", "airflow-worker")
    assert budget not in before
    assert changed == {("list_namespaced_stateful_set", "airflow-worker"), budget}, changed
    run_path = api.trigger("flujo_long")
    deadline = time.time() + 120
    while True:  # wait until airflow-worker-1 is running some of the tasks
        tis = api.call("GET", run_path + "/taskInstances?limit=100")["task_instances"]
        on_second = [t for t in tis if t["state"] == "running" and (t["hostname"] or "").startswith("airflow-worker-1")]
        if on_second:
            break
        assert time.time() < deadline, [(t["state"], t["hostname"]) for t in tis]
        time.sleep(1)
    site("-e", "airflow_worker_replicas=1")  # waits until the StatefulSet has 1 ready replica
    # back to where it began: the budget of two workers is gone (it would block every node drain)
    assert budget not in namespace_snapshot(k8s)
    kubectl("wait", "--for=delete", "pod/airflow-worker-1", "--timeout=600s")
    api.wait(run_path)
    tis = {t["task_id"] + str(t["map_index"]): t for t in api.call("GET", run_path + "/taskInstances?limit=100")["task_instances"]}
    for t in on_second:
        done = tis[t["task_id"] + str(t["map_index"])]
        assert done["state"] == "success" and done["try_number"] == 1, done
    assert api.call("GET", run_path)["state"] == "success"
