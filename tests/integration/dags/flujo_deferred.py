"""A deferrable wait on the triggerer, then a task on a worker: the paths of a task's token
(scheduler signs, api-server checks, worker and triggerer only carry it)."""

import datetime

import pendulum
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["flujo"])
def flujo_deferred():
    wait = TimeDeltaSensor(task_id="wait", delta=datetime.timedelta(seconds=3), deferrable=True)

    @task
    def after():
        print("flujo_deferred resumed after the triggerer")

    wait >> after()


flujo_deferred()
