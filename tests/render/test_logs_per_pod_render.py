# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Task log storage without a cluster. The default: one shared logs PVC mounted by every Airflow
pod, groomed by a CronJob. airflow_logs_storage.per_pod: no shared PVC and no CronJob; each worker
(every pool) and the triggerer get a claim template `logs` (no version label: an upgrade must not
change it) and a groomer container; the other pods an emptyDir. In both, the log servers admit the
api-server alone, on their own port. That it works on a cluster: tests/integration/test_logs_per_pod.py."""

import json

import pytest

from helpers import render_site, rendered_objects as objects, validate_schemas

PER_POD = {"airflow_logs_storage": {"size": "3Gi", "access_mode": "ReadWriteOnce", "storage_class": "fast", "per_pod": True},
           "airflow_logs_retention_days": 2, "airflow_worker_pools": [{"name": "gpu", "queues": ["gpu"]}]}
LOG_SERVERS = {("StatefulSet", "airflow-worker"), ("StatefulSet", "airflow-worker-gpu"), ("StatefulSet", "airflow-triggerer")}


@pytest.fixture(scope="module")
def per_pod(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("per_pod")
    (tmp / "vars.json").write_text(json.dumps(PER_POD))
    render_site(tmp / "m", "kind", "-e", "@%s" % (tmp / "vars.json"))
    return tmp / "m"


def airflow_pods(found):
    return {key: obj["spec"]["template"]["spec"] for key, obj in found.items()
            if obj["kind"] in ("Deployment", "StatefulSet") and obj["metadata"]["labels"]["app.kubernetes.io/name"] == "airflow"}


def test_by_default_every_airflow_pod_mounts_the_shared_claim(plain_render):
    found = objects(plain_render("kind")[0])
    assert ("PersistentVolumeClaim", "airflow-logs") in found and ("CronJob", "airflow-log-groomer") in found
    for key, pod in airflow_pods(found).items():
        assert not found[key]["spec"].get("volumeClaimTemplates"), key
        logs = [v for v in pod["volumes"] if v["name"] == "logs"]
        assert logs == [{"name": "logs", "persistentVolumeClaim": {"claimName": "airflow-logs"}}], key
        assert len(pod["containers"]) == 1, key   # no log-groomer


def test_per_pod_gives_each_log_server_a_volume_of_its_own_and_a_groomer(per_pod):
    found = objects(per_pod)
    assert ("PersistentVolumeClaim", "airflow-logs") not in found and ("CronJob", "airflow-log-groomer") not in found
    pods = airflow_pods(found)
    assert LOG_SERVERS <= set(pods)
    for key, pod in pods.items():
        mounts = [m for c in pod["containers"] for m in c["volumeMounts"] if m["name"] == "logs"]
        if key in LOG_SERVERS:
            (claim,) = found[key]["spec"]["volumeClaimTemplates"]
            assert claim["metadata"]["name"] == "logs" and "app.kubernetes.io/version" not in claim["metadata"]["labels"]
            assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                                     "resources": {"requests": {"storage": "3Gi"}}}
            assert "logs" not in [v["name"] for v in pod["volumes"]]
            main, groomer = pod["containers"]
            assert groomer["name"] == "log-groomer" and groomer["image"] == main["image"]
            assert groomer["env"] == [{"name": "RETENTION_MINUTES", "value": str(2 * 1440)}]
            assert groomer["securityContext"] == main["securityContext"] and "-mmin" in groomer["command"][2]
            assert len(mounts) == 2   # the main container's and the groomer's
        else:
            assert not found[key]["spec"].get("volumeClaimTemplates"), key
            assert {"name": "logs", "emptyDir": {}} in pod["volumes"] or not mounts, key
    result = validate_schemas(sorted(per_pod.glob("*.yaml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_retention_means_no_groomer_container(tmp_path):
    settings = dict(PER_POD, airflow_logs_retention_days=0)
    (tmp_path / "vars.json").write_text(json.dumps(settings))
    render_site(tmp_path / "m", "kind", "-e", "@%s" % (tmp_path / "vars.json"))
    found = objects(tmp_path / "m")
    for key in LOG_SERVERS:
        assert len(found[key]["spec"]["template"]["spec"]["containers"]) == 1, key   # no log-groomer


def test_the_log_servers_admit_the_api_server_alone(per_pod):
    found = objects(per_pod)
    for name, components, port in (("airflow-worker-logs", ["worker", "worker-gpu"], 8793),
                                   ("airflow-triggerer-logs", ["triggerer"], 8794)):
        spec = found[("NetworkPolicy", name)]["spec"]
        assert spec["podSelector"]["matchExpressions"] == [
            {"key": "app.kubernetes.io/component", "operator": "In", "values": components}]
        (rule,) = spec["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": port}]
        assert [peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in rule["from"]] == ["api-server"]
