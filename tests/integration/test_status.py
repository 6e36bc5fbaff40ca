# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/status.yml on the converged deployment: healthy, it exits 0 with every component
ready at the deployed version, the schema at the image's head, every health part healthy, task
counts and volume use; with the scheduler scaled to 0 it fails naming the scheduler (replicas,
then its stale heartbeat), and passes again once the scheduler is back."""

import json
import time

import pytest

from helpers import kubectl, run_playbook

VERSION = "3.3.2"


def status(tmp_path, *extra):
    """The playbook's run and its JSON document (airflow_status_file)."""
    out = tmp_path / ("status-%d.json" % time.monotonic_ns())
    run = run_playbook("playbooks/status.yml", "-e", "airflow_status_format=json", "-e", "airflow_status_file=%s" % out,
                       *extra, timeout=300)
    assert out.exists(), run.output[-3000:]
    return run, json.loads(out.read_text())


def test_a_healthy_deployment_reports_everything_and_exits_0(tmp_path):
    run, doc = status(tmp_path)
    print(json.dumps(doc, indent=1))
    assert run.returncode == 0 and doc["healthy"] is True and doc["problems"] == [], run.output[-3000:]
    components = {c["name"]: c for c in doc["components"]}
    for name in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        assert components[name]["ready"] == components[name]["desired"] >= 1, components[name]
        assert components[name]["version"] == VERSION and components[name]["image"].endswith(":" + VERSION)
    assert {"airflow-postgresql", "airflow-redis"} <= set(components)
    assert doc["schema"]["at_head"] is True and doc["schema"]["current"] == [doc["schema"]["head"]]
    assert {k: v["status"] for k, v in doc["health"].items()} == {
        "metadatabase": "healthy", "scheduler": "healthy", "triggerer": "healthy", "dag_processor": "healthy"}
    assert set(doc["tasks"]) >= {"queued", "running"} and all(isinstance(n, int) for n in doc["tasks"].values())
    volumes = {v["claim"]: v for v in doc["volumes"]}
    assert {"airflow-logs", "airflow-dags", "postgresql-data"} <= set(volumes), volumes
    for v in volumes.values():
        assert v["size_bytes"] > v["used_bytes"] > 0 and 0 < v["used_percent"] < 100, v
    text = run_playbook("playbooks/status.yml")
    assert text.returncode == 0 and "HEALTHY: instance airflow in namespace airflow" in text.output, text.output[-3000:]
    assert "airflow-scheduler        1/1 ready  %s" % VERSION in text.output


def test_a_required_backup_that_was_never_made_is_a_problem(tmp_path):
    if kubectl("get", "configmap", "airflow-backup", check=False).returncode == 0:
        pytest.skip("this deployment has a backup record (the day2 scenario checks its age)")
    run, doc = status(tmp_path, "-e", "airflow_status_backup_max_age_hours=24")
    assert run.returncode != 0 and doc["problems"] == ["backup: none recorded (airflow_status_backup_max_age_hours: 24)"]


@pytest.fixture
def scheduler_scaled_to_zero():
    kubectl("scale", "deployment/airflow-scheduler", "--replicas=0")
    kubectl("wait", "--for=delete", "pod", "-l", "app.kubernetes.io/component=scheduler", "--timeout=120s")
    yield
    kubectl("scale", "deployment/airflow-scheduler", "--replicas=1")
    kubectl("rollout", "status", "deployment/airflow-scheduler", "--timeout=300s")


def test_a_scheduler_scaled_to_0_fails_the_status_until_it_is_back(tmp_path, scheduler_scaled_to_zero):
    run, doc = status(tmp_path)
    print(run.output[-2000:])
    assert run.returncode != 0 and doc["healthy"] is False
    assert "airflow-scheduler: scaled to 0 replicas" in doc["problems"]
    assert "unhealthy: " in run.output and "airflow-scheduler: scaled to 0 replicas" in run.output
    # the api-server calls a scheduler unhealthy once its last heartbeat is 30 s old
    deadline = time.time() + 120
    while "health: scheduler unhealthy" not in doc["problems"]:
        assert time.time() < deadline, doc["problems"]
        time.sleep(10)
        run, doc = status(tmp_path)
    text = run_playbook("playbooks/status.yml")
    print(text.output[-2500:])
    assert text.returncode != 0 and "UNHEALTHY: instance airflow" in text.output
    assert "problem: health: scheduler unhealthy" in text.output


def test_the_status_is_healthy_again_once_the_scheduler_is_back(tmp_path):
    deadline = time.time() + 120
    while True:
        run, doc = status(tmp_path)
        if doc["healthy"] or time.time() > deadline:
            break
        time.sleep(5)
    assert run.returncode == 0 and doc["problems"] == [], doc["problems"]
