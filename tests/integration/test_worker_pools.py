# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""airflow_worker_pools on the cluster: a pool `io` bound to the queue `flujo-io` beside the default
worker. A DAG whose tasks name the two queues runs each on a worker of the right pool (the task
instances' hostnames). Taking the pool out of the list deletes its StatefulSet, Service and budget;
a task running there finishes first (warm shutdown), on the same pod, in its first try."""

import json
import time

from helpers import NAMESPACE, REPO, converge_with, kubectl, playbook_ok

DAGS = REPO / "tests" / "integration" / "dags_pools"
POOL = {"name": "io", "queues": ["flujo-io"], "replicas": 2, "concurrency": 2}


def task_instances(api, run_path):
    return {t["task_id"]: t for t in api.call("GET", run_path + "/taskInstances")["task_instances"]}


def pool_objects():
    out = kubectl("get", "statefulsets,services,poddisruptionbudgets", "-l", "flujo.airflow/worker-pool=io", "-o", "json")
    return sorted("%s/%s" % (o["kind"], o["metadata"]["name"]) for o in json.loads(out.stdout)["items"])


def test_tasks_run_in_the_pool_of_their_queue_and_a_removed_pool_drains(api, tmp_path):
    try:
        converge_with(tmp_path, airflow_worker_pools=[POOL])
        assert pool_objects() == ["PodDisruptionBudget/airflow-worker-io", "Service/airflow-worker-io",
                                  "StatefulSet/airflow-worker-io"]
        playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % DAGS)
        run_path = api.trigger("flujo_pools")
        assert api.wait(run_path, timeout=300) == "success"
        tis = task_instances(api, run_path)
        # a worker's hostname is its pod's DNS name under its own headless Service (its log server)
        assert tis["on_default_queue"]["hostname"] == "airflow-worker-0.airflow-worker.%s.svc.cluster.local" % NAMESPACE
        assert tis["on_io_queue"]["hostname"] in ["airflow-worker-io-%d.airflow-worker-io.%s.svc.cluster.local" % (i, NAMESPACE)
                                                  for i in (0, 1)], tis["on_io_queue"]["hostname"]
        assert tis["on_io_queue"]["queue"] == "flujo-io"

        # a task still running on the pool when the pool is taken out of the list
        drain = api.trigger("flujo_pool_drain")
        deadline = time.time() + 180
        while task_instances(api, drain).get("a_minute_on_io", {}).get("state") != "running":
            assert time.time() < deadline, task_instances(api, drain)
            time.sleep(2)
        host = task_instances(api, drain)["a_minute_on_io"]["hostname"]
        converge_with(tmp_path)
        assert pool_objects() == []
        assert api.wait(drain, timeout=300) == "success"
        ti = task_instances(api, drain)["a_minute_on_io"]
        assert ti["hostname"] == host and ti["try_number"] == 1, ti
        kubectl("wait", "--for=delete", "pod/%s" % host.split(".")[0], "--timeout=120s")
    finally:
        converge_with(tmp_path)
