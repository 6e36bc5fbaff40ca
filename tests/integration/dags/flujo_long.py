"""Scale-down DAG: 8 tasks of 45 s at once, enough to keep two workers of 4 slots busy."""
import socket
import time

import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["flujo", "faults"],
     max_active_tasks=16)
def flujo_long():
    @task
    def long_step(i):
        time.sleep(45)
        return socket.gethostname()

    long_step.expand(i=list(range(8)))


flujo_long()
