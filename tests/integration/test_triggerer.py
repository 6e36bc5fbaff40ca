# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The triggerer's job: a deferrable sensor (examples/dags/flujo_deferrable.py) defers, holds no
worker slot while it waits, the triggerer fires its trigger, and the task resumes and succeeds on a
Celery worker; a run still succeeds when the triggerer loses its pod while the trigger is pending."""

import json
import time
from datetime import datetime, timedelta, timezone

from helpers import NAMESPACE, REPO, kubectl, pod_of

DAG = "flujo_deferrable"


def deliver(api):
    api.deliver(REPO / "examples" / "dags", DAG)


def ti_of(api, run_path, task_id):
    return api.call("GET", "%s/taskInstances/%s" % (run_path, task_id))


def wait_deferred(api, run_path, timeout=180):
    """The `wait` task instance once it is deferred and a triggerer took its trigger (fails if it
    ends another way first)."""
    deadline = time.time() + timeout
    while True:
        ti = ti_of(api, run_path, "wait")
        if ti["state"] == "deferred" and ti["triggerer_job"]:
            return ti
        assert ti["state"] in (None, "scheduled", "queued", "running", "deferred") and time.time() < deadline, ti
        time.sleep(1)


def worker_tasks(core):
    """The Airflow workloads the Celery worker holds: running (active) and prefetched (reserved)."""
    pod = pod_of(core, "worker")
    found = []
    for what in ("active", "reserved"):
        out = kubectl("exec", pod, "-c", "worker", "--", "sh", "-c",
                      'celery -b "$AIRFLOW__CELERY__BROKER_URL" inspect %s -d "celery@$HOSTNAME" -t 10 --json' % what)
        for tasks in json.loads(out.stdout.strip().splitlines()[-1]).values():
            found.extend(json.dumps(t) for t in tasks)
    return found


def finished(api, run_path):
    state = api.wait(run_path, timeout=300, poll=2)
    tis = {t["task_id"]: t for t in api.call("GET", run_path + "/taskInstances")["task_instances"]}
    return state, tis


def test_a_deferred_sensor_holds_no_worker_slot_and_resumes_on_a_worker(api, core):
    deliver(api)
    run_path = api.trigger(DAG)
    ti = wait_deferred(api, run_path)
    # the triggerer holds the trigger; the worker holds nothing of this run
    assert ti["trigger"]["classpath"].endswith("DateTimeTrigger"), ti["trigger"]
    assert ti["triggerer_job"] and ti["triggerer_job"]["hostname"].startswith("airflow-triggerer-"), ti["triggerer_job"]
    # the slot frees once the worker's process has handed the trigger over and exited: within
    # seconds, while the task stays deferred for the rest of its minute
    deadline = time.time() + 30
    while [t for t in worker_tasks(core) if DAG in t]:
        assert time.time() < deadline, "a worker slot is still held by the deferred task"
        time.sleep(2)
    assert ti_of(api, run_path, "wait")["state"] == "deferred"
    state, tis = finished(api, run_path)
    assert state == "success", tis
    assert tis["wait"]["state"] == "success" and tis["after"]["state"] == "success", tis
    # resumed after the trigger fired, on a worker, in the same try (a deferral is no retry)
    assert tis["wait"]["hostname"].startswith("airflow-worker-") and tis["wait"]["try_number"] == 1, tis["wait"]
    assert tis["after"]["hostname"].startswith("airflow-worker-"), tis["after"]


def stamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_pending_trigger_survives_the_triggerer_losing_its_pod(api, core):
    deliver(api)
    run_path = api.trigger(DAG)
    before = wait_deferred(api, run_path)
    fires_at = stamp(api.call("GET", run_path)["run_after"]) + timedelta(seconds=60)
    pod = core.read_namespaced_pod(pod_of(core, "triggerer"), NAMESPACE)
    kubectl("delete", "pod", pod.metadata.name, "--wait=true", "--timeout=120s")
    # the old triggerer was gone before its trigger was due: a new one fired it
    assert datetime.now(timezone.utc) < fires_at, "the triggerer pod took too long to go"
    kubectl("rollout", "status", "statefulset/airflow-triggerer", "--timeout=300s")
    assert core.read_namespaced_pod(pod_of(core, "triggerer"), NAMESPACE).metadata.uid != pod.metadata.uid
    state, tis = finished(api, run_path)
    assert state == "success", tis
    # the same try resumed: the trigger lived in the database, not in the lost pod
    assert tis["wait"]["try_number"] == 1 and tis["after"]["state"] == "success", tis
    assert stamp(tis["wait"]["end_date"]) >= fires_at, tis["wait"]
    # the job records the pod's FQDN (pod.headless-service.namespace.svc...)
    assert before["triggerer_job"]["hostname"].split(".")[0] == pod.metadata.name, before["triggerer_job"]
