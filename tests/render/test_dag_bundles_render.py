# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""airflow_dag_bundles without a cluster: the bundle list and storage path in the ConfigMap (never a
token), the git connection from the Secret in the pods that clone (dag-processor, workers and their
pools) and no other, no dags volume or PVC with only git bundles, the volume kept beside them with a
bundle of type volume, and the default render as it always was. That a pushed commit runs is
tests/integration/test_dag_bundles.py."""

import json

from helpers import render_site, rendered_objects, validate_schemas

TOKEN = "render-t0ken-never-shown"
BUNDLE = {"name": "main", "repo_url": "http://git-server.git.svc.cluster.local:8080/dags.git",
          "tracking_ref": "main", "subdir": "dags", "username": "flujo", "password": TOKEN}
CONN = "AIRFLOW_CONN_FLUJO_DAG_BUNDLE_MAIN"


def _pods(objects):
    return {name: o["spec"]["template"]["spec"] for (kind, name), o in objects.items()
            if kind in ("Deployment", "StatefulSet") and o["metadata"]["labels"].get("app.kubernetes.io/name") == "airflow"}


def _render(tmp_path, bundles, *extra):
    out = tmp_path / "m"
    run = render_site(out, "kind", "-e", json.dumps({"airflow_dag_bundles": bundles, "airflow_dag_bundles_refresh_interval": 20,
                                                      "airflow_worker_pools": [{"name": "gpu", "queues": ["gpu"]}]}), *extra)
    return out, run


def test_git_bundle_config_connection_and_no_dags_volume(tmp_path):
    out, run = _render(tmp_path, [BUNDLE])
    assert TOKEN not in run.stdout + run.stderr
    for path in out.glob("*.yaml"):
        assert TOKEN not in path.read_text(), path.name
    objects = rendered_objects(out)
    config = objects[("ConfigMap", "airflow-config")]["data"]
    assert json.loads(config["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"]) == [{
        "name": "main", "classpath": "airflow.providers.git.bundles.git.GitDagBundle",
        "kwargs": {"refresh_interval": 20, "repo_url": BUNDLE["repo_url"], "tracking_ref": "main", "subdir": "dags",
                   "git_conn_id": "flujo_dag_bundle_main"}}]
    assert config["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH"].startswith("/tmp/")
    assert not any(k.startswith("AIRFLOW_CONN_") for k in config)
    assert ("PersistentVolumeClaim", "airflow-dags") not in objects
    cloners = {"airflow-dag-processor", "airflow-worker", "airflow-worker-gpu"}
    for name, pod in _pods(objects).items():
        assert "dags" not in [v["name"] for v in pod["volumes"]], name
        container = pod["containers"][0]
        assert "/opt/airflow/dags" not in [m["mountPath"] for m in container["volumeMounts"]], name
        conns = [e for e in container.get("env", []) if e["name"].startswith("AIRFLOW_CONN_")]
        if name in cloners:
            assert conns == [{"name": CONN, "valueFrom": {"secretKeyRef": {"name": "airflow-dag-bundles", "key": CONN}}}], name
        else:
            assert conns == [], name
    assert set(cloners) <= set(_pods(objects))
    result = validate_schemas(sorted(out.glob("*.yaml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_volume_bundle_keeps_the_dags_volume_beside_git(tmp_path):
    out, _run = _render(tmp_path, [{"name": "public", "repo_url": "https://git.example.com/dags.git"},
                                   {"name": "dags-folder", "type": "volume"}])
    objects = rendered_objects(out)
    assert ("PersistentVolumeClaim", "airflow-dags") in objects
    bundles = json.loads(objects[("ConfigMap", "airflow-config")]["data"]["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"])
    assert [b["name"] for b in bundles] == ["public", "dags-folder"]
    assert bundles[1]["kwargs"]["path"] == "/opt/airflow/dags"
    pods = _pods(objects)
    mounts = {m["name"]: m for m in pods["airflow-dag-processor"]["containers"][0]["volumeMounts"]}
    assert mounts["dags"]["readOnly"] is False   # the delivery still copies through the dag-processor
    assert "dags" in [m["name"] for m in pods["airflow-worker"]["containers"][0]["volumeMounts"]]
    # a public repository: no connection, no Secret to read
    assert not [e for p in pods.values() for e in p["containers"][0].get("env", []) if e["name"].startswith("AIRFLOW_CONN_")]


def test_default_has_no_bundle_settings(plain_render):
    objects = rendered_objects(plain_render("kind")[0])
    config = objects[("ConfigMap", "airflow-config")]["data"]
    assert not [k for k in config if "BUNDLE" in k]
    assert ("PersistentVolumeClaim", "airflow-dags") in objects
    pods = _pods(objects)
    assert "dags" in [v["name"] for v in pods["airflow-worker"]["volumes"]]
    assert not [a for p in pods.values() for a in p.get("metadata", {}).get("annotations", {}) if "bundle" in a]
