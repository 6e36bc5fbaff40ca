# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The metrics role's files and manifests without a cluster: promtool checks the alert rules and
proves each alert fires on the series it is about (and not on healthy ones); the ServiceMonitor
and PrometheusRule render only when asked for (or, with auto, when a cluster serves them); the
Grafana dashboard's queries name only metrics of the exporter's mapping. Needs Debian's prometheus
package (promtool), which hack/test.sh's setup installs. That the metrics exist in a real
Prometheus after a DAG run is tests/integration/test_metrics.py."""

import json
import re
import shutil
import subprocess

import pytest
import yaml

from helpers import REPO, render_site, validate_schemas

FILES = REPO / "roles" / "airflow_metrics" / "files"
RULES = FILES / "alert-rules.yml"
DASHBOARD = FILES / "grafana-dashboard.json"

# promtool unit tests: one-minute samples; each alert against a series that should fire it and one that should not
RULE_TESTS = {
    "rule_files": [str(RULES)],
    "evaluation_interval": "1m",
    "tests": [
        {"interval": "1m",
         "input_series": [
             {"series": 'airflow_scheduler_heartbeat_total{job="airflow"}', "values": "0+60x5 300x15"},
             {"series": 'airflow_ti_finish_total{job="airflow",dag_id="d1",task_id="t",state="failed"}',
              "values": "0 0 1 1 1"},
             {"series": 'airflow_ti_finish_total{job="airflow",dag_id="d2",task_id="t",state="success"}',
              "values": "0 1 2 3 4"},
             {"series": 'airflow_pool_queued_slots{job="airflow",pool="default_pool"}', "values": "12x30"}],
         "alert_rule_test": [
             {"eval_time": "4m", "alertname": "AirflowSchedulerHeartbeatMissing", "exp_alerts": []},
             {"eval_time": "20m", "alertname": "AirflowSchedulerHeartbeatMissing",
              "exp_alerts": [{"exp_labels": {"severity": "critical", "job": "airflow"},
                              "exp_annotations": {
                                  "summary": "The Airflow scheduler sends no heartbeat",
                                  "description": "No scheduler heartbeat for 5 minutes; no task is scheduled while it lasts."}}]},
             {"eval_time": "4m", "alertname": "AirflowTasksFailing",
              "exp_alerts": [{"exp_labels": {"severity": "warning", "job": "airflow", "dag_id": "d1", "state": "failed"},
                              "exp_annotations": {
                                  "summary": "Tasks of DAG d1 fail",
                                  "description": "1 task instances of DAG d1 failed in the last 15 minutes."}}]},
             {"eval_time": "10m", "alertname": "AirflowQueuedTasksPilingUp", "exp_alerts": []},
             {"eval_time": "20m", "alertname": "AirflowQueuedTasksPilingUp",
              "exp_alerts": [{"exp_labels": {"severity": "warning", "job": "airflow"},
                              "exp_annotations": {
                                  "summary": "Queued Airflow tasks pile up",
                                  "description": "12 task slots have been queued for 15 minutes: the workers do not keep up, "
                                                 "or none runs."}}]}]}]}


@pytest.fixture(scope="module")
def promtool():
    path = shutil.which("promtool")
    assert path, "promtool is missing: apt-get install prometheus (hack/test.sh setup installs it)"
    return path


def test_promtool_accepts_the_alert_rules(promtool):
    run = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False)
    assert run.returncode == 0 and "SUCCESS: 3 rules found" in run.stdout, run.stdout + run.stderr


def test_each_alert_fires_on_its_series_and_not_before(promtool, tmp_path):
    tests = tmp_path / "rules-test.yml"
    tests.write_text(yaml.safe_dump(RULE_TESTS))
    run = subprocess.run([promtool, "test", "rules", str(tests)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def mapped_metric_names():
    """The metric names the exporter's mapping produces (templated names as regular expressions)."""
    mapping = yaml.safe_load((FILES / "statsd-mapping.yml").read_text())
    names = [m["name"] for m in mapping["mappings"] if m.get("action") != "drop"]
    return [re.compile("^" + re.sub(r"\\\$\d+", "[a-z_]+", re.escape(n)) + "$") for n in names]


def queried_metrics(exprs):
    return {name for e in exprs for name in re.findall(r"\bairflow_[a-z0-9_]+", e)}


def base_name(name):
    """A histogram's series name without its _sum/_count/_bucket suffix."""
    return re.sub(r"_(sum|count|bucket)$", "", name)


def test_the_dashboard_and_the_rules_query_only_mapped_metrics():
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = yaml.safe_load(RULES.read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    patterns = mapped_metric_names()
    unmapped = [n for n in queried_metrics(exprs) if not any(p.match(base_name(n)) for p in patterns)]
    assert not unmapped, unmapped


def render(tmp_path, *extra):
    out = tmp_path / "manifests"
    render_site(out, "production", *extra)
    return by_name(out)


def by_name(out):
    """The rendered files by KIND/NAME."""
    return {yaml.safe_load(f.read_text())["kind"] + "/" + yaml.safe_load(f.read_text())["metadata"]["name"]: f
            for f in out.glob("*.yaml")}


METRICS_OBJECTS = {"ConfigMap/airflow-statsd", "Service/airflow-statsd", "Deployment/airflow-statsd",
                   "NetworkPolicy/airflow-statsd"}
OPERATOR_OBJECTS = {"ServiceMonitor/airflow-statsd", "PrometheusRule/airflow-statsd"}


def test_metrics_off_renders_nothing_of_them_and_no_statsd_setting(plain_render):
    files = by_name(plain_render("production")[0])
    assert not (METRICS_OBJECTS | OPERATOR_OBJECTS) & set(files)
    config = yaml.safe_load(files["ConfigMap/airflow-config"].read_text())["data"]
    assert not [k for k in config if k.startswith("AIRFLOW__METRICS__")]


@pytest.mark.parametrize("operator", ["always", "auto"])
def test_metrics_on_render_the_exporter_and_the_operator_objects_only_when_asked(tmp_path, operator):
    files = render(tmp_path, "-e", "airflow_metrics_enabled=true", "-e", "airflow_metrics_prometheus_operator=" + operator)
    assert METRICS_OBJECTS <= set(files)
    # render mode has no cluster to ask: auto renders what a cluster without the operator gets
    assert (OPERATOR_OBJECTS <= set(files)) == (operator == "always")
    assert not (OPERATOR_OBJECTS & set(files)) or operator == "always"
    config = yaml.safe_load(files["ConfigMap/airflow-config"].read_text())["data"]
    assert config["AIRFLOW__METRICS__STATSD_ON"] == "True"
    assert config["AIRFLOW__METRICS__STATSD_HOST"] == "airflow-statsd.airflow.svc.cluster.local"
    plain = [str(f) for name, f in files.items() if name not in OPERATOR_OBJECTS]
    run = validate_schemas(plain)
    assert run.returncode == 0, run.stdout + run.stderr
    if operator == "always":
        rule = yaml.safe_load(files["PrometheusRule/airflow-statsd"].read_text())
        assert rule["spec"] == yaml.safe_load(RULES.read_text())  # the file promtool checks, unchanged
        monitor = yaml.safe_load(files["ServiceMonitor/airflow-statsd"].read_text())
        service = yaml.safe_load(files["Service/airflow-statsd"].read_text())
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert monitor["spec"]["endpoints"][0]["port"] in [p["name"] for p in service["spec"]["ports"]]
