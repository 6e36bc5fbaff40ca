# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pods held back by a volume bound to a node that cannot take them.

A ReadWriteOnce volume of a node-local class (local-path, local PVs, a zonal disk) carries a node
affinity: its pod can only run where the volume is. When that node is cordoned (a drain), NotReady
(lost, stopped) or gone, the pod is evicted or stays where it is, and cannot start anywhere else:
the StatefulSet's pod is Pending for good, and a rollout waiting for it would wait out its timeout.
This module finds that case with what the API server says, so the playbooks can name the pod, the
claim, the node and what to do instead of hanging. Shared by airflow_info (the preflight) and
airflow_apply (its wait). Private to the collection: the leading underscore says it is not an API.

`api` is anything with request(method, path) returning JSON and raising an exception with a
`status` attribute (_k8s_api.Api); nothing is read for a pod that is ready.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# taints the node controller puts on a cordoned or NotReady node: said in words instead
IMPLIED_TAINTS = ("node.kubernetes.io/unschedulable", "node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")
# what each component's pod holds on its volume, and what to do about it
COMPONENT_HINTS = {
    "metadata-database": "PostgreSQL, Airflow's metadata database: every Airflow component waits for it",
    "celery-broker": "Redis, the Celery broker: no task is queued or picked up until it is back",
    "worker": "a worker's own task logs (airflow_logs_storage.per_pod)",
    "triggerer": "the triggerer's own task logs (airflow_logs_storage.per_pod)",
}


def pod_ready(pod):
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def pod_claims(pod):
    return [v["persistentVolumeClaim"]["claimName"] for v in (pod.get("spec") or {}).get("volumes") or []
            if (v.get("persistentVolumeClaim") or {}).get("claimName")]


def _requirement_met(requirement, values):
    """One node selector requirement against the node's labels (or fields), as the scheduler reads it."""
    key, operator, wanted = requirement.get("key"), requirement.get("operator"), requirement.get("values") or []
    if operator == "In":
        return key in values and values[key] in wanted
    if operator == "NotIn":
        return key not in values or values[key] not in wanted
    if operator == "Exists":
        return key in values
    if operator == "DoesNotExist":
        return key not in values
    if operator in ("Gt", "Lt") and key in values and wanted:
        try:
            have, limit = int(values[key]), int(wanted[0])
        except ValueError:
            return False
        return have > limit if operator == "Gt" else have < limit
    return False


def node_matches(node, terms):
    """Whether a node is among those of node selector terms (the terms are ORed, each term's
    requirements ANDed); no terms: every node."""
    if not terms:
        return True
    labels = (node.get("metadata") or {}).get("labels") or {}
    fields = {"metadata.name": (node.get("metadata") or {}).get("name")}
    for term in terms:
        expressions, field_reqs = term.get("matchExpressions") or [], term.get("matchFields") or []
        if not expressions and not field_reqs:
            continue  # an empty term matches nothing
        if all(_requirement_met(r, labels) for r in expressions) and all(_requirement_met(r, fields) for r in field_reqs):
            return True
    return False


def tolerated(taint, tolerations):
    for tol in tolerations or []:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists":
            if not tol.get("key") or tol["key"] == taint.get("key"):
                return True
        elif tol.get("key") == taint.get("key") and (tol.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def why_not(node, pod):
    """Why NODE cannot run POD (empty: it can, as far as the volume's node is concerned)."""
    reasons = []
    spec = node.get("spec") or {}
    if spec.get("unschedulable"):
        reasons.append("cordoned (unschedulable, as a drain leaves it)")
    ready = [c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"]
    if not ready or ready[0].get("status") != "True":
        cond = ready[0] if ready else {}
        detail = ", ".join(x for x in (cond.get("reason"), cond.get("message")) if x)
        reasons.append("NotReady%s" % (" (%s)" % detail if detail else ""))
    labels = (node.get("metadata") or {}).get("labels") or {}
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    unmatched = sorted("%s=%s" % kv for kv in selector.items() if labels.get(kv[0]) != kv[1])
    if unmatched:
        reasons.append("outside the pod's nodeSelector (%s)" % ", ".join(unmatched))
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    for taint in spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and taint.get("key") not in IMPLIED_TAINTS \
                and not tolerated(taint, tolerations):
            reasons.append("tainted %s%s:%s, not tolerated by the pod" % (
                taint.get("key"), "=" + taint["value"] if taint.get("value") else "", taint.get("effect")))
    return reasons


class _Reader(object):
    """Reads each claim, volume and the node list at most once; None when it cannot be read."""

    def __init__(self, api, namespace):
        self.api, self.namespace, self.cache = api, namespace, {}
        self.blind = False  # no permission to read volumes or nodes: nothing can be said

    def get(self, path):
        if path not in self.cache:
            try:
                self.cache[path] = self.api.request("GET", path)
            except Exception as exc:  # pylint: disable=broad-except
                if getattr(exc, "status", None) in (401, 403):
                    self.blind = True
                elif getattr(exc, "status", None) != 404:
                    raise
                self.cache[path] = None
        return self.cache[path]


def volume_node_problems(api, namespace, pods):
    """For each pod that is not ready, the claims it mounts whose volume is bound to nodes none of
    which can run it: a list of dicts (pod, component, claim, volume, nodes: [{name, reasons}], text).
    Nothing is read for ready pods; without the permission to read volumes or nodes, nothing is said."""
    reader = _Reader(api, namespace)
    problems = []
    for pod in pods:
        if pod_ready(pod) or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for claim_name in pod_claims(pod):
            claim = reader.get("/api/v1/namespaces/%s/persistentvolumeclaims/%s" % (namespace, claim_name))
            volume_name = ((claim or {}).get("spec") or {}).get("volumeName")
            if not volume_name:
                continue  # not bound yet: the volume will be made where the pod goes
            volume = reader.get("/api/v1/persistentvolumes/%s" % volume_name)
            terms = ((((volume or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get(
                "nodeSelectorTerms")
            if not terms:
                continue  # a network volume any node can mount
            nodes = reader.get("/api/v1/nodes")
            if reader.blind or nodes is None:
                return []
            candidates = [n for n in nodes.get("items") or [] if node_matches(n, terms)]
            verdicts = [{"name": n["metadata"]["name"], "reasons": why_not(n, pod)} for n in candidates]
            if any(not v["reasons"] for v in verdicts):
                continue  # a node of the volume can take the pod: something else holds it back
            labels = (pod.get("metadata") or {}).get("labels") or {}
            problem = {"pod": pod["metadata"]["name"], "component": labels.get("app.kubernetes.io/component", ""),
                       "claim": claim_name, "volume": volume_name, "nodes": verdicts}
            problem["text"] = describe(problem, terms)
            problems.append(problem)
        if reader.blind:
            return []
    return problems


def describe(problem, terms=None):
    """One sentence: the pod, what its volume holds, the node(s) and why each cannot run it, what to do."""
    hint = COMPONENT_HINTS.get(problem["component"])
    head = "pod %s%s cannot run: its claim %s is bound to volume %s" % (
        problem["pod"], " (%s)" % hint if hint else "", problem["claim"], problem["volume"])
    if not problem["nodes"]:
        return ("%s, whose node affinity (%s) matches no node of the cluster: its node was removed. It will not "
                "start elsewhere: for PostgreSQL, restore your last backup with playbooks/restore.yml, "
                "into another namespace or cluster" % (head, terms or ""))
    names = [n["name"] for n in problem["nodes"]]
    return ("%s, which only %s %s can mount, and %s. It will not start on another node: uncordon it (kubectl "
            "uncordon %s) or bring it back (a NotReady node: start it again), or give up the data on that node "
            "(for PostgreSQL: restore your last backup with playbooks/restore.yml, into another namespace or cluster)" % (
                head, "node" if len(names) == 1 else "nodes", ", ".join(names),
                "; ".join("node %s is %s" % (n["name"], " and ".join(n["reasons"])) for n in problem["nodes"]),
                " ".join(names)))
