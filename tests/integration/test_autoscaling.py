# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""airflow_worker_autoscaling with a real KEDA (built offline by hack/kind, installed by
keda_install.py): without KEDA the run stops before any change, naming the setting; with it, 100
queued tasks scale the workers up to the maximum, a re-run meanwhile changes nothing (the replica
count is the autoscaler's alone), and once the queue is empty they scale down again, warm. Switched
to the HPA engine, KEDA's objects and its Secret go and a CPU HorizontalPodAutoscaler takes over;
switched off, the inventory's replica count is back. KEDA stays installed (keda_install.py)."""

import json
import time

import pytest

import keda_install
from helpers import REPO, converge_with, kubectl, namespace_snapshot, playbook_ok, run_playbook

DAGS = REPO / "tests" / "integration" / "dags_load"
KEDA = {"enabled": True, "engine": "keda", "min_replicas": 1, "max_replicas": 3, "polling_interval": 5,
        "cooldown_period": 20}
FIELD_MANAGER = "flujo.airflow"


def worker():
    return json.loads(kubectl("get", "statefulset", "airflow-worker", "-o", "json", "--show-managed-fields").stdout)


def our_fields(obj):
    """The fields of the object our server-side apply owns."""
    return [json.dumps(m["fieldsV1"]) for m in obj["metadata"]["managedFields"]
            if m["manager"] == FIELD_MANAGER and m["operation"] == "Apply"]


def wait_for(what, predicate, timeout):
    """Seconds until predicate() is true (polled every 2 s); fails after timeout."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if predicate():
            return round(time.time() - t0, 1)
        time.sleep(2)
    pytest.fail("not within %d s: %s" % (timeout, what))


def exists(kind, name):
    return kubectl("get", kind, name, check=False).returncode == 0


def test_workers_follow_the_queue_with_keda(api, k8s, tmp_path):
    # without KEDA's API: refused before anything is applied
    keda_install.remove_scaled_object_api()
    (tmp_path / "keda.json").write_text(json.dumps({"airflow_worker_autoscaling": KEDA}))
    before = namespace_snapshot(k8s)
    run = run_playbook("site.yml", "-e", "@%s" % (tmp_path / "keda.json"), timeout=600)
    assert run.returncode != 0
    assert "airflow_worker_autoscaling.engine: keda, but the cluster does not serve KEDA's API" in run.output, run.output[-2000:]
    assert namespace_snapshot(k8s) == before

    keda_install.install()
    try:
        converge_with(tmp_path, airflow_worker_autoscaling=KEDA)
        statefulset = worker()
        assert "f:replicas" not in "".join(our_fields(statefulset)), "the replica count is still ours"
        wait_for("the ScaledObject is Ready", lambda: json.loads(kubectl("get", "scaledobject", "airflow-worker", "-o", "json").stdout)
                 .get("status", {}).get("conditions", [{}])[0].get("status") == "True", 120)
        # KEDA's connection, in a Secret of its own that no pod mounts
        assert list(json.loads(kubectl("get", "secret", "airflow-keda", "-o", "json").stdout)["data"]) == ["connection"]
        playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % DAGS)

        run_path = api.trigger("flujo_load")
        up = wait_for("3 workers", lambda: worker()["spec"]["replicas"] == 3, 240)
        # a re-run while the autoscaler holds 3 workers: nothing to change, and still 3
        again = converge_with(tmp_path, airflow_worker_autoscaling=KEDA)
        recap = [line for line in again.stdout.splitlines() if "changed=" in line][-1]
        assert "changed=0" in recap, recap
        assert worker()["spec"]["replicas"] == 3
        assert api.wait(run_path, timeout=600) == "success"
        hosts = {t["hostname"] for t in api.call("GET", run_path + "/taskInstances?limit=200")["task_instances"]}
        assert len(hosts) >= 2, hosts
        down = wait_for("back to 1 worker", lambda: worker()["spec"]["replicas"] == 1, 300)
        print("KEDA: 3 workers %.1f s after the trigger, tasks on %d workers, back to 1 %.1f s after the run" % (
            up, len(hosts), down))

        # the HPA engine instead: KEDA's objects and Secret go
        converge_with(tmp_path, airflow_worker_autoscaling=dict(KEDA, engine="hpa", target_cpu_utilization=70))
        hpa = json.loads(kubectl("get", "hpa", "airflow-worker", "-o", "json").stdout)
        assert hpa["spec"]["scaleTargetRef"]["name"] == "airflow-worker" and hpa["spec"]["maxReplicas"] == 3
        assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
        for kind, name in (("scaledobject", "airflow-worker"), ("triggerauthentication", "airflow-worker"),
                           ("secret", "airflow-keda"), ("hpa", "keda-hpa-airflow-worker")):
            assert not exists(kind, name), (kind, name)
    finally:
        converge_with(tmp_path)
    # off: the inventory's count is ours again, and no autoscaler is left
    assert worker()["spec"]["replicas"] == 1 and "f:replicas" in "".join(our_fields(worker()))
    assert not exists("hpa", "airflow-worker")
