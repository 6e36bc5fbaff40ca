"""Fault-injection DAG: 40 tasks of 3 s, at most 4 at a time, so a run lasts minutes and spans every
pod deletion of tests/integration/test_faults.py. Retries let a task whose worker or database
vanished run again, as a production DAG would."""
import time
from datetime import timedelta

import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["flujo", "faults"],
     max_active_tasks=4, default_args={"retries": 3, "retry_delay": timedelta(seconds=5)})
def flujo_faults():
    @task
    def step(i):
        time.sleep(3)
        return i

    step.expand(i=list(range(40)))


flujo_faults()
