# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""airflow_pgbouncer_enabled on the cluster: while 3 workers run 100 tasks, every connection
PostgreSQL serves comes from PgBouncer and there are never more than its two pools' sizes; the
exporter reports the pools; the migration Job connected directly. Switched off again, the components
roll back to the direct URL before PgBouncer and its Secret are deleted. (The same load without
PgBouncer, for the comparison: bench/bench.py pgbouncer.)"""

import json
import urllib.request

from helpers import NAMESPACE, REPO, ServerConnections, converge_with, kubectl, playbook_ok

DAGS = REPO / "tests" / "integration" / "dags_load"
POOLS = {"airflow_pgbouncer_metadata_pool_size": 6, "airflow_pgbouncer_result_backend_pool_size": 3}


def pgbouncer_pods(core):
    return [p for p in core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/name=pgbouncer").items
            if p.status.phase == "Running" and not p.metadata.deletion_timestamp]


def exporter_metrics(core, pod):
    """The exporter's /metrics, read through the API server's pod proxy."""
    text = core.connect_get_namespaced_pod_proxy_with_path(pod + ":9127", NAMESPACE, "metrics", _preload_content=False).data
    return text.decode()


def test_every_server_connection_goes_through_the_pools(api, core, tmp_path):
    try:
        converge_with(tmp_path, airflow_pgbouncer_enabled=True, airflow_worker_replicas=3, **POOLS)
        pods = pgbouncer_pods(core)
        assert len(pods) == 1
        pooler_ip = pods[0].status.pod_ip
        playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % DAGS)

        sampler = ServerConnections(core)
        run_path = api.trigger("flujo_load")
        state = api.wait(run_path, timeout=600)
        samples = sampler.stop()
        assert state == "success"
        tis = api.call("GET", run_path + "/taskInstances?limit=200")["task_instances"]
        assert len(tis) == 100 and {t["state"] for t in tis} == {"success"}
        assert len({t["hostname"] for t in tis}) == 3, "the tasks did not spread over the 3 workers"

        assert len(samples) > 20, samples
        peak = max(count for count, _ in samples)
        sources = set().union(*(addresses for _, addresses in samples))
        print("server connections through PgBouncer: peak %d over %d samples (pools %d + %d), from %s"
              % (peak, len(samples), POOLS["airflow_pgbouncer_metadata_pool_size"],
                 POOLS["airflow_pgbouncer_result_backend_pool_size"], sorted(sources)))
        assert sources == {pooler_ip}, "a component connected to PostgreSQL around PgBouncer: %s" % sources
        assert 2 <= peak <= sum(POOLS.values()), samples

        # the exporter sees both pools, each within its size
        metrics = exporter_metrics(core, pods[0].metadata.name)
        active = {line.split('database="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
                  for line in metrics.splitlines() if line.startswith("pgbouncer_pools_server_active_connections{")}
        assert set(active) == {"airflow-metadata", "airflow-result-backend"}, metrics[:2000]
        config = json.loads(kubectl("get", "configmap", "airflow-pgbouncer", "-o", "json").stdout)["data"]["pgbouncer.ini"]
        assert "pool_mode = transaction" in config and "password" not in config.lower()

        # the migration Job (and its wait) took the direct URL; the components the pooled one
        job = json.loads(kubectl("get", "jobs", "-l", "app.kubernetes.io/component=migrate", "-o", "json").stdout)["items"][-1]
        refs = [e["valueFrom"]["secretKeyRef"]["key"] for c in job["spec"]["template"]["spec"]["containers"]
                for e in c.get("env", []) if e["name"] == "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert refs == ["AIRFLOW_DB_DIRECT_CONN"], refs
    finally:
        converge_with(tmp_path)
    # switched off: back to the direct URL, PgBouncer and its Secret gone, and Airflow still works
    assert pgbouncer_pods(core) == []
    assert kubectl("get", "secret", "airflow-pgbouncer", check=False).returncode != 0
    assert api.wait(api.trigger("flujo_one"), timeout=300) == "success"
