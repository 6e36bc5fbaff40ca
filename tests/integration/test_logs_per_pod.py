# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""airflow_logs_storage.per_pod: task logs without a shared volume (clusters with no ReadWriteMany).

Switched on a running deployment: the worker and triggerer StatefulSets are replaced (their claim
templates cannot change), each pod gets a logs volume of its own and a groomer beside it, the other
pods an emptyDir. The api-server then reads finished and running task logs from the log server of
the worker that ran them (its URL is the log's source), workers on several nodes where the cluster
has them. Back to the inventory's shared volume, the per-pod volumes are kept."""

import json
import re
import time
import urllib.parse

import pytest

from helpers import NAMESPACE, REPO, converge_with, kubectl

pytestmark = pytest.mark.multinode

HERE = __import__("pathlib").Path(__file__).parent
PER_POD = {"size": "1Gi", "access_mode": "ReadWriteOnce", "storage_class": "", "per_pod": True}
SOURCE = re.compile(r"http://(airflow-worker-\d+)\.airflow-worker\.%s\.svc\.cluster\.local:8793/log/dag_id=" % NAMESPACE)


def get(kind, name=None, selector=None):
    args = ["get", kind] + ([name] if name else []) + (["-l", selector] if selector else []) + ["-o", "json"]
    return json.loads(kubectl(*args).stdout)


def log_of(api, run_path, task_id, map_index=None):
    params = {"full_content": "true"} if map_index is None else {"full_content": "true", "map_index": map_index}
    resp = api.raw("GET", run_path + "/taskInstances/%s/logs/1" % task_id, params=params, timeout=60)
    assert resp.status_code == 200, resp.text[:500]
    return resp.text


def nodes_of_pods():
    pods = get("pods", selector="app.kubernetes.io/name=airflow")["items"]
    return {p["metadata"]["name"]: p["spec"].get("nodeName") for p in pods}


def test_task_logs_are_read_from_the_log_server_of_the_worker_that_ran_them(api, tmp_path):
    shared_claim_before = kubectl("get", "pvc", "airflow-logs", check=False).returncode == 0
    try:
        converge_with(tmp_path, airflow_logs_storage=PER_POD, airflow_worker_replicas=2)
        for sts, pods in (("airflow-worker", ["airflow-worker-0", "airflow-worker-1"]), ("airflow-triggerer", ["airflow-triggerer-0"])):
            spec = get("statefulset", sts)["spec"]
            assert [t["metadata"]["name"] for t in spec["volumeClaimTemplates"]] == ["logs"]
            assert "logs" not in [v["name"] for v in spec["template"]["spec"]["volumes"]]
            assert [c["name"] for c in spec["template"]["spec"]["containers"]][1:] == ["log-groomer"]
            for pod in pods:
                assert get("pvc", "logs-" + pod)["status"]["phase"] == "Bound"
        api_server = get("deployment", "airflow-api-server")["spec"]["template"]["spec"]
        assert {"name": "logs", "emptyDir": {}} in api_server["volumes"]
        assert (kubectl("get", "pvc", "airflow-logs", check=False).returncode == 0) == shared_claim_before  # kept, not made
        assert kubectl("get", "cronjob", "airflow-log-groomer", check=False).returncode != 0  # the pods groom their own

        # finished tasks: runs until both workers ran one; each log comes from its worker's log server
        api.deliver(REPO / "examples" / "dags", "flujo_hello")
        readers = {}
        for attempt in range(8):
            run_path = api.trigger("flujo_hello")
            assert api.wait(run_path, timeout=300) == "success"
            text = log_of(api, run_path, "where_am_i")
            source = SOURCE.search(text)
            assert source and "flujo_hello running on" in text, text[:1500]
            readers.setdefault(source.group(1), run_path)
            if len(readers) == 2:
                break
        assert sorted(readers) == ["airflow-worker-0", "airflow-worker-1"]
        nodes = nodes_of_pods()
        api_nodes = sorted(n for p, n in nodes.items() if p.startswith("airflow-api-server-"))
        for worker, run_path in sorted(readers.items()):
            print("%s: task on %s (node %s), log read through the api-server on %s"
                  % (urllib.parse.unquote(run_path.rsplit("/", 1)[1]), worker, nodes[worker], ", ".join(api_nodes)))

        # a running task: its log while it runs, from the worker running it
        api.deliver(HERE / "dags", "flujo_long")
        deadline = time.time() + 240
        run_path = api.trigger("flujo_long")
        while True:
            running = [t for t in api.call("GET", run_path + "/taskInstances")["task_instances"] if t["state"] == "running"]
            if running:
                break
            assert time.time() < deadline, "no task of flujo_long started running"
            time.sleep(2)
        text = log_of(api, run_path, "long_step", running[0]["map_index"])
        assert SOURCE.search(text) and api.call("GET", run_path)["state"] == "running", text[:1500]
        assert api.wait(run_path, timeout=600) == "success"
    finally:
        converge_with(tmp_path)   # back to the inventory's shared logs volume
    for sts in ("airflow-worker", "airflow-triggerer"):
        assert not get("statefulset", sts)["spec"].get("volumeClaimTemplates")
    assert get("pvc", "logs-airflow-worker-1")["status"]["phase"] == "Bound"   # the per-pod volumes are kept
