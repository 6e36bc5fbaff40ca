# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The REST API with a real client: auth is enforced, and a DAG run succeeds on a Celery worker."""

import time
import urllib.parse

from helpers import REPO, Api, kubectl, pod_of

EXAMPLE_DAG = REPO / "examples" / "dags" / "flujo_hello.py"


def test_api_refuses_requests_without_a_token(api_url):
    assert Api(api_url).raw("GET", "/api/v2/dags", auth=False).status_code == 401
    assert Api(api_url, "wrong").login().status_code == 401


def test_health_reports_every_component_healthy(api_url):
    health = Api(api_url).raw("GET", "/api/v2/monitor/health", auth=False).json()
    for component in ("metadatabase", "scheduler", "triggerer", "dag_processor"):
        assert health[component]["status"] == "healthy", health


def deliver_example_dag(core):
    """Copy the example DAG into the dags volume through the dag-processor and parse it at once."""
    pod = pod_of(core, "dag-processor")
    kubectl("cp", "-c", "dag-processor", str(EXAMPLE_DAG), "%s:/opt/airflow/dags/%s" % (pod, EXAMPLE_DAG.name))
    kubectl("exec", pod, "-c", "dag-processor", "--", "airflow", "dags", "reserialize")


def test_a_triggered_dag_run_succeeds_on_a_celery_worker(core, airflow_api, api):
    from airflow_client.client.api.dag_api import DAGApi
    from airflow_client.client.api.dag_run_api import DagRunApi
    from airflow_client.client.api.task_instance_api import TaskInstanceApi
    from airflow_client.client.models.trigger_dag_run_post_body import TriggerDAGRunPostBody

    deliver_example_dag(core)
    dags = DAGApi(airflow_api)
    deadline = time.time() + 120
    while "flujo_hello" not in [d.dag_id for d in dags.get_dags().dags]:
        assert time.time() < deadline, "flujo_hello was not parsed"
        time.sleep(2)
    runs = DagRunApi(airflow_api)
    run = runs.trigger_dag_run("flujo_hello", TriggerDAGRunPostBody(logical_date=None))
    deadline = time.time() + 300
    while True:
        state = str(runs.get_dag_run("flujo_hello", run.dag_run_id).state.value)
        if state in ("success", "failed"):
            break
        assert time.time() < deadline, "run still %s" % state
        time.sleep(2)
    assert state == "success"
    tis = TaskInstanceApi(airflow_api).get_task_instances("flujo_hello", run.dag_run_id).task_instances
    assert {t.task_id for t in tis} == {"where_am_i", "add"}
    for ti in tis:
        assert str(ti.state.value) == "success"
        assert ti.hostname.startswith("airflow-worker-"), ti.hostname
    # the task's log is readable through the API (shared logs volume, matching [api] secret_key)
    resp = api.raw("GET", "/api/v2/dags/flujo_hello/dagRuns/%s/taskInstances/where_am_i/logs/1"
                   % urllib.parse.quote(run.dag_run_id, safe=""), params={"full_content": "true"}, timeout=60)
    assert resp.status_code == 200 and "flujo_hello running on" in resp.text
