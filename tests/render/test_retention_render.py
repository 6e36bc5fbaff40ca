# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The retention CronJobs without a cluster: a retention of 0 renders no CronJob; the database
cleanup's dry run and archive switches reach its command; the log groomer is an Airflow pod
without the Secret. That they remove what is old on a cluster is tests/integration/test_retention.py."""

import yaml

from helpers import render_site


def test_switches_reach_the_cronjobs_and_zero_renders_none(tmp_path):
    out = tmp_path / "m"
    render_site(out, "production", "-e", "airflow_logs_retention_days=0", "-e", "airflow_db_clean_retention_days=7",
                "-e", "airflow_db_clean_dry_run=true", "-e", "airflow_db_clean_skip_archive=false")
    docs = [yaml.safe_load(f.read_text()) for f in out.glob("*.yaml")]
    cronjobs = {d["metadata"]["name"]: d for d in docs if d["kind"] == "CronJob"}
    assert set(cronjobs) == {"airflow-db-clean"}  # airflow_logs_retention_days=0: no groomer
    pod = cronjobs["airflow-db-clean"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    env = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}
    assert env == {"RETENTION_DAYS": "7", "FLAGS": "--dry-run"}
    assert [c["name"] for c in pod["initContainers"]] == ["wait-for-migrations"]


def test_the_log_groomer_is_an_airflow_pod_without_secrets(plain_render):
    out = plain_render("kind")[0]
    groomer = yaml.safe_load(next(out.glob("*-cronjob-airflow-log-groomer.yaml")).read_text())
    pod = groomer["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    scheduler = yaml.safe_load(next(out.glob("*-deployment-airflow-scheduler.yaml")).read_text())["spec"]["template"]["spec"]
    assert pod["securityContext"] == scheduler["securityContext"]
    container = pod["containers"][0]
    assert container["securityContext"] == scheduler["containers"][0]["securityContext"]
    assert container["envFrom"] == [] and "initContainers" not in pod
    assert {"name": "logs", "mountPath": "/opt/airflow/logs"} in container["volumeMounts"]
    assert {e["name"]: e["value"] for e in container["env"]} == {"RETENTION_MINUTES": str(15 * 1440)}
    assert groomer["spec"]["concurrencyPolicy"] == "Forbid"
