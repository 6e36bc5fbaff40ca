# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The airflow_info module against the in-memory API server of the airflow_apply tests (the real
Kubernetes client; only urllib3's pool manager is replaced)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.flujo.airflow.plugins.module_utils import _k8s_api
from ansible_collections.flujo.airflow.plugins.modules import airflow_info
from ansible_collections.flujo.airflow.tests.unit.plugins.modules.module_harness import did_fail, isolate, run_module, succeeded
from ansible_collections.flujo.airflow.tests.unit.plugins.modules.test_airflow_apply import NS, fake_cluster

POD = "/api/v1/namespaces/%s/pods/%s"


@pytest.fixture(autouse=True)
def no_ambient_config(monkeypatch, tmp_path):
    isolate(monkeypatch, tmp_path)


@pytest.fixture
def cluster(monkeypatch):
    """The apply tests' fake API server, with a namespace and two pods in it."""
    fake = fake_cluster(monkeypatch)
    fake.put("/api/v1/namespaces/%s" % NS, {"metadata": {"name": NS}})
    for name in ("scheduler-1", "worker-0"):
        fake.put(POD % (NS, name), {"metadata": {"name": name, "labels": {"app.kubernetes.io/name": "airflow"}}})
    return fake


def test_lists_the_objects_with_one_request_and_the_label_selector(cluster):
    result = succeeded(run_module(airflow_info.main, dict(kind="Pod", namespace=NS, label_selectors=["a=b", "c"])))
    assert result["changed"] is False
    assert [(r["kind"], r["apiVersion"], r["metadata"]["name"]) for r in result["resources"]] == [
        ("Pod", "v1", "scheduler-1"), ("Pod", "v1", "worker-0")]
    assert [r[:3] for r in cluster.requests] == [("GET", "/api/v1/namespaces/%s/pods" % NS, {"labelSelector": "a=b,c"})]
    assert result["namespace_exists"] is True  # it listed something: no second request


def test_a_namespace_that_does_not_exist_has_nothing(cluster):
    result = succeeded(run_module(airflow_info.main, dict(kind="Job", api_version="batch/v1", namespace="nowhere")))
    assert result["resources"] == []
    assert result["namespace_exists"] is False


def test_an_empty_list_looks_whether_the_namespace_exists(cluster):
    result = succeeded(run_module(airflow_info.main, dict(kind="Job", api_version="batch/v1", namespace=NS)))
    assert (result["resources"], result["namespace_exists"]) == ([], True)
    assert [r[:2] for r in cluster.requests] == [("GET", "/apis/batch/v1/namespaces/%s/jobs" % NS),
                                                 ("GET", "/api/v1/namespaces/%s" % NS)]


def test_an_unreachable_cluster_is_named(monkeypatch, cluster):
    monkeypatch.setenv("K8S_AUTH_HOST", "https://127.0.0.1:1")
    monkeypatch.setattr(_k8s_api, "build_api_client", fake_cluster.real_build)
    out = did_fail(run_module(airflow_info.main, dict(kind="Pod", namespace=NS)))
    assert out.result["msg"].startswith("Cannot list the Pods of namespace %s: cluster unreachable" % NS)
    assert "127.0.0.1" in out.result["msg"]


def test_volume_nodes_names_the_pods_held_back_by_their_volume_s_node(cluster):
    from ansible_collections.flujo.airflow.tests.unit.plugins.modules.test_airflow_apply import put_held_back_pod
    put_held_back_pod(cluster)
    result = succeeded(run_module(airflow_info.main, dict(kind="Pod", namespace=NS, volume_nodes=True)))
    problems = result["volume_node_problems"]
    assert [(p["pod"], p["claim"], p["volume"], p["nodes"]) for p in problems] == [
        ("web-0", "data", "pvc-1", [{"name": "n1", "reasons": ["cordoned (unschedulable, as a drain leaves it)"]}])]
    assert "kubectl uncordon n1" in problems[0]["text"]


def test_volume_nodes_reads_nothing_more_for_pods_without_claims(cluster):
    result = succeeded(run_module(airflow_info.main, dict(kind="Pod", namespace=NS, volume_nodes=True)))
    assert result["volume_node_problems"] == []
    assert len(cluster.requests) == 1
