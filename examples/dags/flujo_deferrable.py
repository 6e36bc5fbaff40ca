"""Example DAG shipped with flujo.airflow: a deferrable sensor, run by the triggerer.

`wait` defers for a minute: it hands a DateTimeTrigger to the triggerer and frees its worker slot
(its state is `deferred` meanwhile). When the trigger fires, `wait` resumes on a Celery worker and
succeeds, then `after` runs there too. Without a running triggerer, `wait` would stay deferred.
"""

import socket
from datetime import timedelta

import pendulum
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["flujo"])
def flujo_deferrable():
    wait = TimeDeltaSensor(task_id="wait", delta=timedelta(seconds=60), deferrable=True)

    @task
    def after():
        print("flujo_deferrable resumed on %s" % socket.gethostname())
        return socket.gethostname()

    wait >> after()


flujo_deferrable()
