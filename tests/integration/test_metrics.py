# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Airflow's metrics in a real Prometheus: Debian's prometheus (hack/test.sh's setup installs it)
scrapes the StatsD exporter in the cluster through a kubectl port-forward on the loopback, with
the role's alert rules loaded. After a run of the example DAG, its duration, the task successes
per DAG, the scheduler heartbeat and the executor slots are answered by Prometheus's HTTP API,
and every metric the Grafana dashboard queries exists. Without a Prometheus Operator in the
cluster, no ServiceMonitor or PrometheusRule was applied (and the run did not fail); once the
cluster serves monitoring.coreos.com/v1 (its two CRDs, applied by the test), the next run applies
both, and airflow_metrics_prometheus_operator=never deletes them again."""

import json
import re
import shutil
import subprocess
import time

import pytest
import requests

from conftest import free_port
from helpers import CONTEXT, NAMESPACE, REPO, kubectl, playbook_ok

FILES = REPO / "roles" / "airflow_metrics" / "files"
DAG = "flujo_hello"


@pytest.fixture(scope="module")
def exporter_url():
    port = free_port()
    cmd = ["kubectl"] + (["--context", CONTEXT] if CONTEXT else []) + [
        "-n", NAMESPACE, "port-forward", "--address", "127.0.0.1", "svc/airflow-statsd", "%d:9102" % port]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    for dummy in range(60):
        try:
            if requests.get(url + "/-/ready", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait()


@pytest.fixture(scope="module")
def prometheus(exporter_url, tmp_path_factory):
    """A Prometheus on the loopback scraping the exporter every 2 s; yields its query function."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus is missing: apt-get install prometheus (hack/test.sh setup installs it)"
    root = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    (root / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "2s", "evaluation_interval": "2s"},
        "rule_files": [str(FILES / "alert-rules.yml")],
        "scrape_configs": [{"job_name": "airflow", "static_configs": [{"targets": [exporter_url.split("//")[1]]}]}]}))
    proc = subprocess.Popen([binary, "--config.file=%s" % (root / "prometheus.yml"), "--storage.tsdb.path=%s" % (root / "data"),
                             "--web.listen-address=127.0.0.1:%d" % port], stdout=subprocess.DEVNULL,
                            stderr=open(root / "prometheus.log", "w"))
    url = "http://127.0.0.1:%d" % port

    def api(path, **params):
        resp = requests.get(url + "/api/v1/" + path, params=params, timeout=10)
        resp.raise_for_status()
        return resp.json()["data"]
    deadline = time.time() + 60
    while True:
        try:
            if requests.get(url + "/-/ready", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        assert time.time() < deadline and proc.poll() is None, (root / "prometheus.log").read_text()[-2000:]
        time.sleep(0.5)
    yield api
    proc.terminate()
    proc.wait()


def query(prometheus, expr):
    return prometheus("query", query=expr)["result"]


def until(prometheus, expr, timeout=120):
    """The result of expr once it is non-empty (scrapes every 2 s; counters appear with the events)."""
    deadline = time.time() + timeout
    while True:
        result = query(prometheus, expr)
        if result or time.time() > deadline:
            return result
        time.sleep(2)


@pytest.fixture(scope="module")
def dag_run(api):
    playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % (REPO / "examples" / "dags"))
    run = api.trigger(DAG)
    assert api.wait(run) == "success"
    return run


def test_the_scrape_target_is_up_and_the_alert_rules_load(prometheus):
    assert until(prometheus, 'up{job="airflow"} == 1'), prometheus("targets")
    rules = [r for g in prometheus("rules")["groups"] for r in g["rules"]]
    assert {r["name"] for r in rules} == {"AirflowSchedulerHeartbeatMissing", "AirflowTasksFailing",
                                          "AirflowQueuedTasksPilingUp"}
    assert all(r["health"] == "ok" for r in rules), rules


def test_after_a_dag_run_its_metrics_are_queryable_in_prometheus(prometheus, dag_run):
    duration = until(prometheus, 'airflow_dagrun_duration_seconds_count{dag_id="%s",state="success"}' % DAG)
    assert duration and float(duration[0]["value"][1]) >= 1, duration
    mean = query(prometheus, 'airflow_dagrun_duration_seconds_sum{dag_id="%s"} / airflow_dagrun_duration_seconds_count'
                 % DAG)
    assert mean and float(mean[0]["value"][1]) > 0
    successes = until(prometheus, 'sum by (dag_id) (airflow_ti_finish_total{state="success"})')
    per_dag = {r["metric"]["dag_id"]: float(r["value"][1]) for r in successes}
    assert per_dag.get(DAG, 0) >= 2, per_dag  # both tasks of the run
    tasks = {r["metric"]["task_id"] for r in query(prometheus, 'airflow_ti_finish_total{dag_id="%s",state="success"}' % DAG)}
    assert tasks == {"where_am_i", "add"}, tasks
    heartbeat = until(prometheus, "rate(airflow_scheduler_heartbeat_total[30s]) > 0")
    assert heartbeat, "the scheduler heartbeat does not increase"
    slots = until(prometheus, "airflow_executor_open_slots")
    assert slots and slots[0]["metric"]["executor"] == "CeleryExecutor" and float(slots[0]["value"][1]) > 0, slots
    assert until(prometheus, "airflow_executor_running_tasks") and until(prometheus, "airflow_executor_queued_tasks")


def test_every_metric_the_dashboard_queries_exists(prometheus, dag_run):
    until(prometheus, 'airflow_dagrun_duration_seconds_count{dag_id="%s"}' % DAG)
    names = set(prometheus("label/__name__/values"))
    print("airflow metrics in Prometheus:", " ".join(sorted(n for n in names if n.startswith("airflow_"))))
    dashboard = json.loads((FILES / "grafana-dashboard.json").read_text())
    queried = {n for p in dashboard["panels"] for t in p["targets"] for n in re.findall(r"\bairflow_[a-z0-9_]+", t["expr"])}
    missing = queried - names
    assert not missing, missing
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            query(prometheus, target["expr"])  # raises when Prometheus rejects the query


def test_no_operator_objects_without_the_operator():
    api_resources = kubectl("api-resources", "--api-group=monitoring.coreos.com", "-o", "name").stdout.split()
    assert api_resources == [], "this cluster serves monitoring.coreos.com: the skip is not tested here"
    assert kubectl("get", "deployment/airflow-statsd", "-o", "name").stdout.strip() == "deployment.apps/airflow-statsd"


def operator_crd(plural, kind):
    """A CustomResourceDefinition of monitoring.coreos.com/v1 that keeps any spec (enough for the
    API server to serve the kind; the Prometheus Operator's own CRDs validate more)."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "%s.monitoring.coreos.com" % plural},
            "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}


def test_operator_objects_follow_the_operator_crds():
    crds = [operator_crd("servicemonitors", "ServiceMonitor"), operator_crd("prometheusrules", "PrometheusRule")]
    objects = ["servicemonitor.monitoring.coreos.com/airflow-statsd", "prometheusrule.monitoring.coreos.com/airflow-statsd"]
    try:
        kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": crds}))
        kubectl("wait", "--for=condition=Established", "crd/servicemonitors.monitoring.coreos.com",
                "crd/prometheusrules.monitoring.coreos.com", "--timeout=60s")
        run = playbook_ok("site.yml")
        assert re.search(r"changed=[1-9]", run.output), run.output[-2000:]
        monitor = json.loads(kubectl("get", objects[0], "-o", "json").stdout)
        assert monitor["spec"]["endpoints"][0]["port"] == "metrics", monitor["spec"]
        assert monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "statsd-exporter"
        rules = json.loads(kubectl("get", objects[1], "-o", "json").stdout)
        assert any(rule.get("alert") for group in rules["spec"]["groups"] for rule in group["rules"])
        # the operator is there, but this deployment leaves it: both objects go
        playbook_ok("site.yml", "-e", "airflow_metrics_prometheus_operator=never")
        for name in objects:
            assert kubectl("get", name, "--ignore-not-found", "-o", "name").stdout.strip() == ""
    finally:
        kubectl("delete", "--ignore-not-found", "--wait=true", "crd/servicemonitors.monitoring.coreos.com",
                "crd/prometheusrules.monitoring.coreos.com")
