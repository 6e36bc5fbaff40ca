# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Malformed inventories fail with a message naming the problem, and leave the cluster as it was."""

import json
import textwrap

import pytest

from conftest import NAMESPACE, run_playbook

CASES = [
    # (id, extra vars, words the failure must contain)
    ("negative replicas", {"airflow_worker_replicas": -1}, "airflow_worker_replicas: must be a whole number >= 0"),
    ("replicas not a number", {"airflow_scheduler_replicas": "three"}, "airflow_scheduler_replicas"),
    ("unknown executor", {"airflow_executor": "KubernetesExecutor"}, "airflow_executor"),
    ("invalid image repository", {"airflow_image": {"repository": "Apache/Airflow", "tag": "3.3.2"}},
     "airflow_image.repository"),
    ("invalid image tag", {"airflow_worker_image": {"repository": "apache/airflow", "tag": "3.3.2 beta"}},
     "airflow_worker_image.tag"),
    ("invalid image digest", {"airflow_image": {"repository": "apache/airflow", "tag": "3.3.2", "digest": "latest"}},
     "airflow_image.digest"),
    ("unknown pull policy", {"airflow_redis_image": {"repository": "redis", "tag": "7", "pull_policy": "Sometimes"}},
     "pull_policy"),
    ("bad storage size", {"airflow_logs_storage": {"size": "5 GB", "access_mode": "ReadWriteOnce"}},
     "airflow_logs_storage.size"),
    ("negative storage size", {"airflow_postgresql_storage": {"size": "-1Gi"}}, "airflow_postgresql_storage.size"),
    ("unknown access mode", {"airflow_dags_storage": {"size": "1Gi", "access_mode": "RWX"}}, "access_mode"),
    ("bad resource quantity", {"airflow_worker_resources": {"requests": {"memory": "lots"}}},
     "airflow_worker_resources.requests.memory"),
    ("invalid fernet key", {"airflow_fernet_key": "not-a-fernet-key"}, "airflow_fernet_key: not a valid Fernet key"),
    ("invalid namespace", {"airflow_namespace": "Airflow_Prod"}, "airflow_namespace"),
    ("name too long", {"airflow_instance": "a" * 70}, "airflow_instance"),
    ("unknown service type", {"airflow_api_server_service_type": "Ingress"}, "airflow_api_server_service_type"),
    ("node port out of range", {"airflow_api_server_node_port": 80}, "airflow_api_server_node_port"),
    ("base url without scheme", {"airflow_base_url": "airflow.example.com"}, "airflow_base_url"),
    ("zero concurrency", {"airflow_worker_concurrency": 0}, "airflow_worker_concurrency"),
    ("config not a mapping", {"airflow_config": "parallelism=3"}, "airflow_config"),
    ("database port not a number", {"airflow_database": {"host": "", "port": "five"}}, "port"),
    ("timeout not a number", {"airflow_wait_timeout": "soon"}, "airflow_wait_timeout"),
    ("tolerations not a list", {"airflow_tolerations": "all"}, "airflow_tolerations"),
    ("missing kubeconfig", {"airflow_kubeconfig": "/nonexistent/kubeconfig"}, "airflow_kubeconfig: no kubeconfig"),
]


def version(meta):
    """What changes when someone changes the object. Workloads: the generation (their spec) and
    their labels and annotations, not resourceVersion, which their controllers bump with every
    status update (a pod turning ready). Everything else: resourceVersion."""
    if meta.generation:
        return meta.generation, str(meta.labels), str(meta.annotations)
    return meta.resource_version


def snapshot(k8s):
    """Every object of the namespace with its version."""
    from kubernetes import client
    core, apps, batch = client.CoreV1Api(k8s), client.AppsV1Api(k8s), client.BatchV1Api(k8s)
    listers = [core.list_namespaced_config_map, core.list_namespaced_secret, core.list_namespaced_service,
               core.list_namespaced_persistent_volume_claim, apps.list_namespaced_deployment,
               apps.list_namespaced_stateful_set, batch.list_namespaced_job]
    return {(lister.__name__, o.metadata.name): version(o.metadata)
            for lister in listers for o in lister(NAMESPACE).items}


def run_site(extra):
    """Return code and the whole output, whitespace folded (messages wrap)."""
    run = run_playbook("site.yml", "-e", json.dumps(extra), timeout=300)
    return run.returncode, " ".join(run.output.split())


@pytest.fixture(scope="module")
def before(k8s):
    return snapshot(k8s)


@pytest.mark.parametrize("extra, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_fails_naming_the_problem_and_changes_nothing(k8s, before, extra, words):
    returncode, output = run_site(extra)
    assert returncode != 0
    assert words in output, output[-2000:]
    assert "changed=0" in output
    assert snapshot(k8s) == before


def test_an_unreachable_cluster_fails_without_changes(k8s, before, tmp_path):
    kubeconfig = tmp_path / "unreachable"
    kubeconfig.write_text(textwrap.dedent("""\
        apiVersion: v1
        kind: Config
        clusters: [{name: gone, cluster: {server: "https://127.0.0.1:1"}}]
        users: [{name: u, user: {token: t}}]
        contexts: [{name: gone, context: {cluster: gone, user: u}}]
        current-context: gone
        """))
    returncode, output = run_site({"airflow_kubeconfig": str(kubeconfig), "airflow_kube_context": "gone"})
    assert returncode != 0
    assert "127.0.0.1" in output and ("refused" in output.lower() or "Max retries" in output), output[-2000:]
    assert snapshot(k8s) == before


def test_a_context_that_does_not_exist_is_named(k8s, before):
    returncode, output = run_site({"airflow_kube_context": "no-such-context"})
    assert returncode != 0 and "no-such-context" in output, output[-2000:]
    assert snapshot(k8s) == before
