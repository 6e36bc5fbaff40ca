"""`flujo_load`: 100 short independent tasks, all at once as far as the worker slots allow, for the
connection count under load (test_pgbouncer, bench/bench.py pgbouncer); `flujo_one`: one task."""

import time
from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="flujo_load", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"],
     max_active_tasks=100)
def flujo_load():
    @task(retries=0)
    def short(i):
        time.sleep(1)
        return i

    short.expand(i=list(range(100)))


flujo_load()


@dag(dag_id="flujo_one", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"])
def flujo_one():
    @task(retries=0)
    def one():
        return 1

    one()


flujo_one()
