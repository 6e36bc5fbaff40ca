"""Tasks that name a Celery queue: `flujo_pools` runs one task on the default queue and one on
`flujo-io` (the worker pool `io` of test_worker_pools); `flujo_pool_drain` runs a minute-long task on
`flujo-io`, long enough to still be running when its pool is removed."""

import socket
import time
from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="flujo_pools", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"])
def flujo_pools():
    @task(retries=0)
    def on_default_queue():
        return socket.gethostname()

    @task(queue="flujo-io", retries=0)
    def on_io_queue():
        return socket.gethostname()

    on_default_queue()
    on_io_queue()


@dag(dag_id="flujo_pool_drain", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"])
def flujo_pool_drain():
    @task(queue="flujo-io", retries=0)
    def a_minute_on_io():
        time.sleep(60)
        print("finished on %s" % socket.gethostname())

    a_minute_on_io()


flujo_pools()
flujo_pool_drain()
