# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pods held back by a node-local volume whose node is cordoned, NotReady or gone."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.flujo.airflow.plugins.module_utils._volume_nodes import (
    node_matches, tolerated, volume_node_problems, why_not)

NS = "airflow"
CONTROL_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


class Denied(Exception):
    def __init__(self, status):
        super(Denied, self).__init__("%s" % status)
        self.status = status


class Api(object):
    def __init__(self, objects, deny=()):
        self.objects, self.deny, self.requests = objects, deny, []

    def request(self, method, path):
        self.requests.append(path)
        if path in self.deny:
            raise Denied(403)
        if path not in self.objects:
            raise Denied(404)
        return self.objects[path]


def node(name, ready=True, unschedulable=False, taints=(), labels=None):
    obj = {"metadata": {"name": name, "labels": dict({"kubernetes.io/hostname": name}, **(labels or {}))},
           "spec": {"taints": list(taints)},
           "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "Unknown",
                                      "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                                      "message": "" if ready else "Kubelet stopped posting node status."}]}}
    if unschedulable:
        obj["spec"]["unschedulable"] = True
        obj["spec"]["taints"].append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    if not ready:
        obj["spec"]["taints"].append({"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"})
    return obj


def pod(name="airflow-postgresql-0", component="metadata-database", claim="postgresql-data", ready=False, **spec):
    return {"metadata": {"name": name, "labels": {"app.kubernetes.io/component": component}},
            "spec": dict({"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}},
                                      {"name": "tmp", "emptyDir": {}}]}, **spec),
            "status": {"phase": "Running" if ready else "Pending",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def cluster(nodes, on="worker", claim="postgresql-data", volume="pvc-1", affinity=True):
    pv = {"metadata": {"name": volume}, "spec": {}}
    if affinity:
        pv["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [on]}]}]}}
    return {"/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (NS, claim): {"spec": {"volumeName": volume}},
            "/api/v1/persistentvolumes/%s" % volume: pv,
            "/api/v1/nodes": {"items": nodes}}


def test_a_ready_pod_costs_no_request():
    api = Api(cluster([node("worker", unschedulable=True)]))
    assert volume_node_problems(api, NS, [pod(ready=True)]) == []
    assert api.requests == []


def test_the_volume_of_a_drained_node_is_named_with_what_to_do():
    api = Api(cluster([node("control-plane", taints=[CONTROL_TAINT]), node("worker", unschedulable=True), node("worker2")]))
    problems = volume_node_problems(api, NS, [pod()])
    assert [(p["pod"], p["claim"], p["volume"], p["nodes"]) for p in problems] == [
        ("airflow-postgresql-0", "postgresql-data", "pvc-1",
         [{"name": "worker", "reasons": ["cordoned (unschedulable, as a drain leaves it)"]}])]
    text = problems[0]["text"]
    assert text.startswith("pod airflow-postgresql-0 (PostgreSQL, Airflow's metadata database: every Airflow component "
                           "waits for it) cannot run: its claim postgresql-data is bound to volume pvc-1, which only node "
                           "worker can mount, and node worker is cordoned (unschedulable, as a drain leaves it)")
    assert "kubectl uncordon worker" in text and "playbooks/restore.yml" in text


def test_a_lost_node_is_said_notready_with_the_kubelet_s_reason():
    api = Api(cluster([node("worker", ready=False), node("worker2")]))
    pending = pod()
    pending["spec"]["nodeName"] = "worker"  # still bound to the lost node, as a StatefulSet pod stays
    problems = volume_node_problems(api, NS, [pending])
    assert problems[0]["nodes"] == [{"name": "worker", "reasons": [
        "NotReady (NodeStatusUnknown, Kubelet stopped posting node status.)"]}]


def test_a_node_that_can_take_the_pod_is_no_problem_of_the_volume():
    api = Api(cluster([node("worker")]))
    assert volume_node_problems(api, NS, [pod()]) == []


def test_a_volume_without_node_affinity_or_an_unbound_claim_is_never_a_problem():
    assert volume_node_problems(Api(cluster([node("worker", unschedulable=True)], affinity=False)), NS, [pod()]) == []
    unbound = cluster([node("worker", unschedulable=True)])
    unbound["/api/v1/namespaces/%s/persistentvolumeclaims/postgresql-data" % NS] = {"spec": {}}
    assert volume_node_problems(Api(unbound), NS, [pod()]) == []


def test_a_missing_claim_is_not_this_problem():
    api = Api({"/api/v1/nodes": {"items": []}})
    assert volume_node_problems(api, NS, [pod()]) == []


def test_a_removed_node_is_said_so():
    api = Api(cluster([node("worker2")], claim="redis-data"))
    problems = volume_node_problems(api, NS, [pod(name="airflow-redis-0", component="celery-broker", claim="redis-data")])
    assert problems[0]["nodes"] == []
    assert "matches no node of the cluster: its node was removed" in problems[0]["text"]
    assert "Redis, the Celery broker" in problems[0]["text"]


def test_a_node_outside_the_pod_s_selector_or_with_a_taint_it_does_not_tolerate():
    api = Api(cluster([node("worker", taints=[CONTROL_TAINT])]))
    problems = volume_node_problems(api, NS, [pod(nodeSelector={"disk": "ssd"})])
    assert problems[0]["nodes"][0]["reasons"] == [
        "outside the pod's nodeSelector (disk=ssd)",
        "tainted node-role.kubernetes.io/control-plane:NoSchedule, not tolerated by the pod"]
    tolerant = pod(tolerations=[{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}])
    assert volume_node_problems(api, NS, [tolerant]) == []


def test_without_permission_to_read_volumes_or_nodes_nothing_is_said():
    objects = cluster([node("worker", unschedulable=True)])
    assert volume_node_problems(Api(objects, deny=("/api/v1/nodes",)), NS, [pod()]) == []
    assert volume_node_problems(Api(objects, deny=("/api/v1/persistentvolumes/pvc-1",)), NS, [pod()]) == []


def test_other_errors_are_raised():
    class Broken(Api):
        def request(self, method, path):
            raise Denied(500)
    with pytest.raises(Denied):
        volume_node_problems(Broken({}), NS, [pod()])


def test_each_claim_volume_and_the_nodes_are_read_once():
    api = Api(cluster([node("worker", unschedulable=True)]))
    problems = volume_node_problems(api, NS, [pod(), pod(name="airflow-postgresql-1")])
    assert len(problems) == 2
    assert sorted(set(api.requests)) == sorted(api.requests)


def test_succeeded_pods_are_skipped():
    done = pod()
    done["status"]["phase"] = "Succeeded"
    assert volume_node_problems(Api(cluster([node("worker", unschedulable=True)])), NS, [done]) == []


@pytest.mark.parametrize("terms, matched", [
    ([], True),
    ([{}], False),
    ([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}], True),
    ([{"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}], False),
    ([{"matchExpressions": [{"key": "zone", "operator": "Exists"}]}], True),
    ([{"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}], False),
    ([{"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["2"]}]}], True),
    ([{"matchExpressions": [{"key": "cores", "operator": "Lt", "values": ["x"]}]}], False),
    ([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}], True),
    ([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]},
      {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}], True),
])
def test_node_selector_terms(terms, matched):
    assert node_matches({"metadata": {"name": "n1", "labels": {"zone": "a", "cores": "4"}}}, terms) is matched


def test_tolerations():
    taint = {"key": "k", "value": "v", "effect": "NoSchedule"}
    assert tolerated(taint, [{"operator": "Exists"}])
    assert tolerated(taint, [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}])
    assert tolerated(taint, [{"key": "k", "value": "v"}])
    assert not tolerated(taint, [{"key": "k", "value": "w"}])
    assert not tolerated(taint, [{"key": "k", "operator": "Exists", "effect": "NoExecute"}])
    assert not tolerated(taint, [])


def test_a_cordoned_notready_node_says_both_without_its_implied_taints():
    reasons = why_not(node("worker", ready=False, unschedulable=True), pod())
    assert reasons == ["cordoned (unschedulable, as a drain leaves it)",
                       "NotReady (NodeStatusUnknown, Kubelet stopped posting node status.)"]
