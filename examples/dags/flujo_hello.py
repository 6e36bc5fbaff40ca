"""Example DAG shipped with flujo.airflow: proves a task runs on a Celery worker.

`where_am_i` prints the worker's hostname and uid; `add` returns a value through XCom, so a run
exercises the Execution API, the broker and the result backend.
"""

import os
import socket

import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["flujo"])
def flujo_hello():
    @task
    def where_am_i():
        info = {"hostname": socket.gethostname(), "uid": os.getuid()}
        print("flujo_hello running on %s" % info)
        return info

    @task
    def add(info, a=20, b=22):
        print("worker %s computed %d" % (info["hostname"], a + b))
        return a + b

    add(where_am_i())


flujo_hello()
