"""Bench DAG: 200 short independent tasks, for task throughput through Celery."""
import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["flujo", "bench"],
     max_active_tasks=64)
def bench_fanout():
    @task
    def short(i):
        return i

    short.expand(i=list(range(200)))


bench_fanout()
