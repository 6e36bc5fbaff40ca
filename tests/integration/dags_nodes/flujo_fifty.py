"""Node-fault DAG: 50 tasks of 30 s (tests/integration/test_node_faults.py), as many at a time as the
workers take, so the run spans a node lost without warning and a drain. A task whose worker's node
went away is failed by the scheduler once its heartbeat is overdue ([scheduler]
task_instance_heartbeat_timeout) and runs again after a short delay."""
import socket
import time
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["flujo", "faults"],
     is_paused_upon_creation=False, max_active_tasks=16,
     default_args={"retries": 3, "retry_delay": timedelta(seconds=5)})
def flujo_fifty():
    @task
    def step(i):
        time.sleep(30)
        return socket.gethostname()

    step.expand(i=list(range(50)))


flujo_fifty()
