# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retention on the converged deployment (inventory/kind: task logs kept 15 days, database history
30 days): a run of each CronJob, started by hand as its schedule would, removes the log files and
the database rows older than the window and keeps the newer ones; the API still lists the recent
runs. "Older" is made by moving files' mtimes and rows' dates back, as time would."""

import json
import urllib.parse
import uuid

import pytest

from helpers import REPO, kubectl, playbook_ok, pod_of

DAG = "flujo_hello"
LOGS = "/opt/airflow/logs/flujo-retention-test"


def run_cronjob(cronjob, timeout=300):
    """Start a Job from the CronJob's template, wait for it, return its log."""
    job = "%s-test-%s" % (cronjob, uuid.uuid4().hex[:5])
    kubectl("create", "job", job, "--from=cronjob/%s" % cronjob)
    try:
        done = kubectl("wait", "--for=condition=Complete", "job/" + job, "--timeout=%ds" % timeout, check=False)
        log = kubectl("logs", "job/" + job, "--all-containers=false", check=False).stdout
        assert done.returncode == 0, (done.stderr, log[-3000:])
        return log
    finally:
        kubectl("delete", "job", job, "--wait=false", check=False)


def in_worker(core, script):
    return kubectl("exec", pod_of(core, "worker"), "-c", "worker", "--", "bash", "-ec", script).stdout


def test_the_log_groomer_removes_files_older_than_the_window_and_keeps_newer(core):
    in_worker(core, """
        rm -rf {d}; mkdir -p {d}/old {d}/new {d}/empty-old
        echo old > {d}/old/attempt=1.log; touch -d '20 days ago' {d}/old/attempt=1.log
        echo recent > {d}/new/attempt=1.log; touch -d '14 days ago' {d}/new/attempt=1.log
        echo now > {d}/new/attempt=2.log
        touch -d '2 hours ago' {d}/empty-old
    """.format(d=LOGS))
    kept_before = in_worker(core, "find /opt/airflow/logs -type f -mmin -21600 | sort").split()
    log = run_cronjob("airflow-log-groomer")
    print(log)
    assert "log files older than 15 days" in log and int(log.split("removed ")[1].split()[0]) >= 1, log
    left = in_worker(core, "find %s | sort" % LOGS).split()
    assert "%s/old/attempt=1.log" % LOGS not in left
    assert "%s/empty-old" % LOGS not in left  # an empty folder an hour old goes too
    assert {"%s/new/attempt=1.log" % LOGS, "%s/new/attempt=2.log" % LOGS} <= set(left)
    # every file younger than the window is still there (the real task logs among them)
    assert set(kept_before) <= set(in_worker(core, "find /opt/airflow/logs -type f | sort").split())
    in_worker(core, "rm -rf %s" % LOGS)


SQL = """
import json, os, sys
import sqlalchemy as sa
engine = sa.create_engine(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
with engine.begin() as conn:
    for statement in json.loads(sys.argv[1]):
        rows = conn.execute(sa.text(statement))
        print(json.dumps([list(r) for r in rows] if rows.returns_rows else rows.rowcount, default=str))
"""


def sql(core, *statements):
    """Run statements in one transaction in the scheduler pod; the rows (or counts) of each."""
    out = kubectl("exec", pod_of(core, "scheduler"), "-c", "scheduler", "--", "python", "-c", SQL,
                  json.dumps(statements)).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def runs(api):
    """At least three finished runs of the example DAG, oldest first (run ids)."""
    playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % (REPO / "examples" / "dags"))
    existing = api.call("GET", "/api/v2/dags/%s/dagRuns" % DAG, params={"order_by": "start_date"})["dag_runs"]
    for dummy in range(max(0, 3 - len(existing))):
        assert api.wait(api.trigger(DAG)) == "success"
    got = api.call("GET", "/api/v2/dags/%s/dagRuns" % DAG, params={"order_by": "start_date"})["dag_runs"]
    return [r["dag_run_id"] for r in got]


def test_db_clean_removes_rows_older_than_the_window_and_keeps_newer(core, api, runs):
    old, recent = runs[:-1], runs[-1]
    ids = ", ".join("'%s'" % r.replace("'", "''") for r in old)
    aged = sql(core,
               "UPDATE dag_run SET start_date = start_date - interval '60 days', end_date = end_date - interval '60 days'"
               " WHERE dag_id = '%s' AND run_id IN (%s)" % (DAG, ids),
               "UPDATE task_instance SET start_date = start_date - interval '60 days', end_date = end_date - interval "
               "'60 days' WHERE dag_id = '%s' AND run_id IN (%s)" % (DAG, ids),
               "UPDATE log SET dttm = dttm - interval '60 days' WHERE id IN (SELECT id FROM log ORDER BY id LIMIT 5)",
               "SELECT count(*) FROM log WHERE dttm > now() - interval '30 days'")
    assert aged[0] == len(old) and aged[2] == 5, aged
    recent_logs = aged[3][0][0]
    log = run_cronjob("airflow-db-clean")
    print(log[-2000:])
    left = [r["dag_run_id"] for r in api.call("GET", "/api/v2/dags/%s/dagRuns" % DAG)["dag_runs"]]
    assert recent in left and not set(old) & set(left), (old, recent, left)
    tis = api.call("GET", "/api/v2/dags/%s/dagRuns/%s/taskInstances" % (DAG, urllib.parse.quote(recent, safe="")))
    tis = tis["task_instances"]
    assert {t["task_id"] for t in tis} == {"where_am_i", "add"}
    counts = sql(core, "SELECT count(*) FROM log WHERE dttm < now() - interval '30 days'",
                 "SELECT count(*) FROM log WHERE dttm > now() - interval '30 days'",
                 "SELECT count(*) FROM task_instance WHERE dag_id = '%s' AND run_id IN (%s)" % (DAG, ids))
    assert counts[0] == [[0]] and counts[2] == [[0]], counts
    assert counts[1][0][0] >= recent_logs  # newer audit rows stay (and the API calls above add some)
    # no archive tables are left behind (--skip-archive)
    archives = sql(core, "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE '\\_airflow\\_deleted\\_\\_%'")
    assert archives == [[[0]]], archives
