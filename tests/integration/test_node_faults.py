# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node faults on the three-node kind cluster (inventory/kind-multinode: two api-servers, schedulers
and workers spread over the two worker nodes, the data stores pinned to the control plane).

During one run of a 50-task DAG (dags_nodes/flujo_fifty.py):
  (b) the node container of one worker node is stopped (a node lost without warning: no drain, no
      eviction) and started again NODE_DOWN_S seconds later;
  (a) then the node that holds the other worker is drained (kubectl drain: evictions that respect the
      disruption budgets, workers stopping warm), and uncordoned once its pods run elsewhere.
(b) comes first so that each fault hits while the other node serves: after the drain every Airflow
pod runs on one node. Every task must end in success (retries counted), and the DAG runs, a
connection and a variable made before must still be there. Per component, the seconds from the
fault until all its replicas are ready again (elsewhere, or restarted in place) go to
bench/results/node_faults.json with the retries and the time the run took.

Then PostgreSQL's node is drained (its node-local ReadWriteOnce volume cannot follow the pod): the
pod stays Pending, site.yml refuses to deploy naming the node and what to do, and uncordoning
brings it back.

Run with the multinode marker against kind-flujo-multi (AIRFLOW_KUBE_CONTEXT, AIRFLOW_URL,
AIRFLOW_INVENTORY as molecule/multinode sets them)."""

import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
import requests

from helpers import CONTEXT, REPO, kubectl, playbook_ok, run_playbook

pytestmark = pytest.mark.multinode
DAGS = Path(__file__).resolve().parent / "dags_nodes"
DAG_ID = "flujo_fifty"
TASKS = 50
NODE_DOWN_S = int(os.environ.get("FLUJO_NODE_DOWN_S", "90"))
RESULTS = REPO / "bench" / "results" / "node_faults.json"
CONN_ID, VAR_KEY = "flujo_node_faults_conn", "flujo_node_faults_var"


def kube(*args, check=True, timeout=None):
    """kubectl without a namespace (nodes), in the context under test."""
    cmd = ["kubectl"] + (["--context", CONTEXT] if CONTEXT else []) + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=timeout)


def stamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def pods():
    out = kubectl("get", "pods", "-o", "json", check=False, timeout=30)
    return json.loads(out.stdout)["items"] if out.returncode == 0 else None


def desired():
    """{component: replicas} of every Deployment and StatefulSet of the namespace."""
    out = json.loads(kubectl("get", "deployments,statefulsets", "-o", "json").stdout)["items"]
    return {o["metadata"]["labels"]["app.kubernetes.io/component"]: o["spec"].get("replicas", 1) for o in out
            if "app.kubernetes.io/component" in (o["metadata"].get("labels") or {})}


def component(pod):
    return (pod["metadata"].get("labels") or {}).get("app.kubernetes.io/component")


def healthy(pod, node, since):
    """Ready, and not a pod of the faulted node as it was before the fault (the API server reports a lost
    node's pods as they were until the node controller notices): elsewhere, or restarted since."""
    if pod["metadata"].get("deletionTimestamp") or pod["status"].get("phase") != "Running":
        return False
    if not any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or []):
        return False
    if pod["spec"].get("nodeName") != node:
        return True
    started = [stamp(c["state"]["running"]["startedAt"]) for c in pod["status"].get("containerStatuses") or []
               if "running" in c.get("state", {})]
    return bool(started) and min(started) >= since


def airflow_answers(api):
    try:
        return api.raw("GET", "/api/v2/version", auth=False, timeout=3).status_code == 200
    except requests.RequestException:
        return False


def watch(api, node, t0, affected, want, done, timeout=900, poll=2):
    """Poll until done() (or the time is up): the seconds from t0 until each affected component has
    all its replicas healthy, and the seconds the Airflow API did not answer meanwhile."""
    recovered, api_down, last = {}, 0.0, time.time()
    while True:
        now = time.time()
        listed = pods()
        if listed is not None:
            for comp in affected:
                if comp not in recovered and sum(healthy(p, node, t0) for p in listed if component(p) == comp) >= want[comp]:
                    recovered[comp] = round(now - t0, 1)
        if not airflow_answers(api):
            api_down += now - last
        last = now
        if done() and len(recovered) == len(affected):
            return recovered, round(api_down, 1)
        if now - t0 > timeout:
            return recovered, round(api_down, 1)
        time.sleep(poll)


def node_of(pod_name):
    return kubectl("get", "pod", pod_name, "-o", "jsonpath={.spec.nodeName}").stdout.strip()


def on_node(node):
    return sorted({component(p) for p in pods() or [] if p["spec"].get("nodeName") == node and component(p)
                   and p["status"].get("phase") == "Running"})


def node_ready(node):
    out = kube("get", "node", node, "-o", "json", check=False)
    if out.returncode != 0:
        return False
    conds = json.loads(out.stdout)["status"]["conditions"]
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def task_instances(api, run_path):
    return api.call("GET", run_path + "/taskInstances?limit=100")["task_instances"]


def states(api, run_path):
    counted = {}
    for ti in task_instances(api, run_path):
        counted[ti["state"] or "none"] = counted.get(ti["state"] or "none", 0) + 1
    return counted


def until(check, timeout, poll=2):
    t0 = time.time()
    while not check():
        assert time.time() - t0 < timeout, "not so after %d s: %s" % (timeout, check.__doc__)
        time.sleep(poll)
    return round(time.time() - t0, 1)


def make_history(api):
    """A connection and a variable (made again if a previous run left them) and the DAG runs so far."""
    api.raw("DELETE", "/api/v2/connections/" + CONN_ID)
    api.raw("DELETE", "/api/v2/variables/" + VAR_KEY)
    api.call("POST", "/api/v2/connections", json={"connection_id": CONN_ID, "conn_type": "http", "host": "example.invalid",
                                                  "port": 8443, "login": "flujo"})
    api.call("POST", "/api/v2/variables", json={"key": VAR_KEY, "value": "kept across node faults"})
    return api.call("GET", "/api/v2/dags/~/dagRuns?limit=1")["total_entries"]


def lose_a_node(api, node, want):
    """(b): docker stop of the node's container, NODE_DOWN_S seconds down, docker start."""
    affected = [c for c in on_node(node) if c in want]
    t0 = time.time()
    subprocess.run(["docker", "stop", node], check=True, capture_output=True, timeout=120)
    try:
        down_until = t0 + NODE_DOWN_S
        noticed = None
        while time.time() < down_until:
            if noticed is None and not node_ready(node):
                noticed = round(time.time() - t0, 1)
            time.sleep(2)
    finally:
        subprocess.run(["docker", "start", node], check=True, capture_output=True, timeout=120)
    started = time.time()
    recovered, api_down = watch(api, node, t0, affected, want, lambda: node_ready(node))
    return {"node": node, "down_s": round(started - t0, 1), "components_on_node": affected,
            "node_notready_after_s": noticed, "node_ready_again_after_start_s": round(time.time() - started, 1)
            if node_ready(node) else None, "recovery_s": recovered, "airflow_api_unanswered_s": api_down}


def drain(api, node, want):
    """(a): kubectl drain of the node (evictions within the disruption budgets), uncordon afterwards."""
    affected = [c for c in on_node(node) if c in want]
    t0 = time.time()
    proc = subprocess.Popen(["kubectl", "--context", CONTEXT, "drain", node, "--ignore-daemonsets",
                             "--delete-emptydir-data", "--timeout=900s"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        recovered, api_down = watch(api, node, t0, affected, want, lambda: proc.poll() is not None)
        output = proc.communicate(timeout=900)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
        kube("uncordon", node)
    assert proc.returncode == 0, output[-2000:]
    return {"node": node, "drain_s": round(time.time() - t0, 1), "components_on_node": affected,
            "recovery_s": recovered, "airflow_api_unanswered_s": api_down}


def test_a_run_survives_a_lost_node_and_a_drain(api):
    playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % DAGS)
    until(lambda: api.raw("GET", "/api/v2/dags/" + DAG_ID).status_code == 200, 300)
    api.call("PATCH", "/api/v2/dags/" + DAG_ID, json={"is_paused": False})
    runs_before = make_history(api)
    want = desired()
    lost_node, drained_node = node_of("airflow-worker-1"), None
    # the spread is soft (a node that was not Ready at rollout time gets nothing): without a worker
    # on each node, neither fault hits what this test is about
    assert lost_node != node_of("airflow-worker-0"), "both workers run on %s: spread them first" % lost_node
    t_run = time.time()
    run_path = api.trigger(DAG_ID)
    result = {"tasks": TASKS, "node_down_s_target": NODE_DOWN_S}
    try:
        def busy():
            """both workers run tasks"""
            return states(api, run_path).get("running", 0) >= 6
        until(busy, 300)
        result["states_at_node_loss"] = states(api, run_path)
        result["node_lost"] = lose_a_node(api, lost_node, want)
        drained_node = node_of("airflow-worker-0")
        result["states_at_drain"] = states(api, run_path)
        result["drain"] = drain(api, drained_node, want)
        drained_node = None
        state = api.wait(run_path, timeout=1500, poll=5)
        tis = task_instances(api, run_path)
        result.update(run_state=state, run_s=round(time.time() - t_run, 1),
                      tasks_succeeded=sum(t["state"] == "success" for t in tis),
                      tasks_retried=sum(t["try_number"] > 1 for t in tis),
                      tries=sum(t["try_number"] for t in tis),
                      dag_runs_before_after=[runs_before, api.call("GET", "/api/v2/dags/~/dagRuns?limit=1")["total_entries"]],
                      connection_kept=api.raw("GET", "/api/v2/connections/" + CONN_ID).status_code == 200,
                      variable_kept=api.raw("GET", "/api/v2/variables/" + VAR_KEY).json().get("value") == "kept across node faults",
                      pods_by_node_after={n: on_node(n) for n in sorted({p["spec"].get("nodeName") for p in pods() or []} - {None})},
                      tries_of_unsuccessful=tries_of_unsuccessful(api, run_path, tis))
    finally:
        subprocess.run(["docker", "start", lost_node], capture_output=True, timeout=120, check=False)
        if drained_node:
            kube("uncordon", drained_node, check=False)
        write_results({"run": result})
        print(json.dumps(result, indent=2))
    assert result["run_state"] == "success" and result["tasks_succeeded"] == TASKS, (
        "%s: %d/%d succeeded, %d retried; %s" % (result["run_state"], result["tasks_succeeded"], TASKS,
                                                 result["tasks_retried"], json.dumps(result)))
    assert result["dag_runs_before_after"][1] == result["dag_runs_before_after"][0] + 1, result
    assert result["connection_kept"] and result["variable_kept"], result


def tries_of_unsuccessful(api, run_path, tis):
    """For each task that did not succeed: every try's state, host and times, and the end of its
    last try's log (what a failure needs to be understood from CI's output alone). An error while
    reading them is reported in their place, never instead of the run's outcome."""
    try:
        return _tries_of_unsuccessful(api, run_path, tis)
    except Exception as error:  # pylint: disable=broad-exception-caught  # a diagnostic only
        return {"unreadable": repr(error)[:500]}


def _tries_of_unsuccessful(api, run_path, tis):
    found = {}
    for ti in tis:
        if ti["state"] == "success":
            continue
        path = "%s/taskInstances/%s/%d" % (run_path, ti["task_id"], ti["map_index"])
        tries = api.call("GET", path + "/tries")["task_instances"]
        log = api.raw("GET", "%s/taskInstances/%s/logs/%d" % (run_path, ti["task_id"], ti["try_number"]),
                      params={"full_content": "true", "map_index": ti["map_index"]}, timeout=60)
        found[ti["map_index"]] = {"tries": [{k: t.get(k) for k in ("try_number", "state", "hostname", "start_date", "end_date")}
                                            for t in tries], "last_log_tail": log.text[-1500:]}
    return found


def write_results(update):
    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    old.update(update)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(old, indent=2) + "\n")


def test_draining_postgresql_s_node_is_said_clearly(api):
    """The PostgreSQL pod is evicted and cannot start on another node (its volume's node affinity);
    site.yml fails in its preflight naming the node and what to do; uncordoned, it comes back."""
    pg = "airflow-postgresql-0"
    node = node_of(pg)
    t0 = time.time()
    result = {"node": node}
    try:
        kube("drain", node, "--pod-selector=app.kubernetes.io/component=metadata-database", "--ignore-daemonsets",
             "--delete-emptydir-data", "--timeout=120s", timeout=180)
        result["evicted_s"] = round(time.time() - t0, 1)

        def pending():
            """the new PostgreSQL pod exists and is not scheduled"""
            got = kubectl("get", "pod", pg, "-o", "json", check=False)
            if got.returncode != 0:
                return False
            status = json.loads(got.stdout)["status"]
            return any(c["type"] == "PodScheduled" and c["status"] == "False" for c in status.get("conditions") or [])
        until(pending, 120)
        result["scheduler_says"] = [c.get("message") for c in json.loads(kubectl("get", "pod", pg, "-o", "json").stdout)[
            "status"]["conditions"] if c["type"] == "PodScheduled"][0]
        run = run_playbook("site.yml", timeout=600)
        result["site_yml_failed_after_s"] = round(run.seconds, 1)
        message = [line for line in run.output.splitlines() if "Cannot deploy: " in line]
        result["site_yml_message"] = message[0].strip()[:1500] if message else run.output[-1500:]
        assert run.returncode != 0, run.output[-2000:]
        assert message, run.output[-3000:]
        for words in ("pod airflow-postgresql-0 (PostgreSQL", "claim postgresql-data", "node %s" % node, "cordoned",
                      "kubectl uncordon %s" % node, "playbooks/restore.yml", "Nothing was applied"):
            assert words in message[0], (words, message[0])
        assert " changed=0 " in run.output, run.output[-1500:]  # refused before anything was applied
    finally:
        kube("uncordon", node, check=False)
        t1 = time.time()
        kubectl("rollout", "status", "statefulset/airflow-postgresql", "--timeout=300s", check=False)
        result["ready_after_uncordon_s"] = round(time.time() - t1, 1)
        result["postgresql_down_s"] = round(time.time() - t0, 1)
        for workload in ("deployment/airflow-scheduler", "deployment/airflow-api-server", "statefulset/airflow-worker"):
            kubectl("rollout", "status", workload, "--timeout=300s", check=False)
        until(lambda: airflow_answers(api), 300)
        result["airflow_back_s"] = round(time.time() - t0, 1)
        write_results({"postgresql_drain": result})
        print(json.dumps(result, indent=2))
