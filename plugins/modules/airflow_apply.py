#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: airflow_apply
short_description: Apply a list of manifests by server-side apply and wait for all of them at once
version_added: "0.1.0"
author:
  - flujo.airflow contributors (@flujo)
description:
  - Applies every manifest of O(manifests), in order, with server-side apply under one field
    manager (conflicts are forced, this field manager owns what it applies), with one API client
    for the whole list.
  - Reports a change exactly, per object; an object whose C(resourceVersion) the apply left as it was
    did not change, nor did one with a spec whose C(generation), labels and annotations stayed the
    same (a controller or an autoscaler may have written its status meanwhile).
  - Several lists (O(phases)) are applied in order in the same call.
  - With O(wait=true), waits for every Deployment, StatefulSet and Job of the list at the same time,
    Deployments and StatefulSets until every replica runs the new spec and is ready, Jobs until they
    are complete. A timeout, a failed Job or a Deployment past its progress deadline fails the task
    with the objects concerned and why (the waiting reason of their pods' containers, the last exit,
    why a pod is not scheduled; for a failed Job, the last lines of its log).
  - A pod that cannot run because a claim it mounts is bound to a volume only nodes that cannot take it
    can mount (a node-local ReadWriteOnce volume whose node is cordoned by a drain, NotReady or gone)
    fails the wait within about 20 s, naming the pod, claim, volume, node and what to do, instead of
    at the timeout.
  - A StatefulSet whose C(volumeClaimTemplates) change, which the API server refuses to update, is
    deleted with its pods orphaned and created anew; the new one adopts them and rolls them, except
    the pods without the claims of the new templates, which are deleted (the StatefulSet brings them
    back with their claims). The claims already made stay.
  - The data of a Secret is never returned nor shown in a diff; every value of a Secret in
    O(manifests) is masked in the output.
options:
  manifests:
    description:
      - The objects to apply, each a full manifest with C(apiVersion), C(kind) and C(metadata.name).
      - A namespaced object without C(metadata.namespace) goes to O(namespace).
      - One phase named V(apply), waited for with O(wait). Exclusive with O(phases); one of them is required.
    type: list
    elements: dict
  phases:
    description:
      - Lists of manifests applied one after the other in one call. A phase with O(phases[].wait=true) is
        ready before the next one is applied, unless O(concurrent_when_new) says otherwise.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the phase, the key of its result in RV(phases).
        type: str
        required: true
      manifests:
        description: The objects of the phase, as in O(manifests).
        type: list
        elements: dict
        required: true
      wait:
        description: Wait until its Deployments and StatefulSets are ready and its Jobs complete.
        type: bool
        default: false
      wait_timeout:
        description: Seconds to wait for it, instead of O(wait_timeout).
        type: int
      if_served:
        description:
          - Objects applied with the phase only when the cluster serves their kind (for example a
            ServiceMonitor, when the Prometheus Operator's CRD is installed); otherwise left out without
            a word. One read of the API group per group, no task of its own.
        type: list
        elements: dict
        default: []
      absent:
        description:
          - Objects this phase no longer renders (a PodDisruptionBudget once a component is down to one
            replica, a feature switched off), each with C(apiVersion), C(kind), C(name) and
            C(namespace) (O(namespace) when none). Those that exist are deleted; the others cost one read.
          - Deleted after the phase's wait, so pods still rolling away keep what they use until then.
          - A kind the cluster does not serve (a CRD never installed) counts as absent.
        type: list
        elements: dict
        default: []
      prune:
        description:
          - Kinds of namespaced objects a setting names freely (a worker pool per list entry), each with
            C(apiVersion), C(kind), C(label_selector) and C(namespace) (O(namespace) when none).
          - The objects of that kind the selector lists that the phase does not render are deleted, in
            the background (pods get their grace period). One list request per entry.
        type: list
        elements: dict
        default: []
  concurrent_when_new:
    description:
      - When no Deployment or StatefulSet of the later phases exists yet (a new deployment), do not wait
        for a phase before applying the next ones, wait for all of them at the end. Nothing runs yet
        that the order would protect, and pods that need an earlier phase wait for it themselves.
      - Once any of them exists (an upgrade), every phase is ready before the next one is applied.
    type: bool
    default: false
  namespace:
    description: Namespace of the namespaced objects that name none.
    type: str
  field_manager:
    description: The field manager of server-side apply.
    type: str
    required: true
  force_conflicts:
    description: Take over fields another manager owns, instead of failing on a conflict.
    type: bool
    default: true
  wait:
    description: Wait until every Deployment, StatefulSet and Job of O(manifests) is ready (Jobs complete).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for all the objects of one wait together.
    type: int
    default: 300
  wait_interval:
    description: Seconds between two looks at the objects waited for.
    type: float
    default: 1.0
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - flujo.airflow.light_connection
notes:
  - Supports check mode (server-side dry run; objects of a namespace that does not exist yet are
    reported as to be created, since the API server cannot dry-run them) and diff mode (before and
    after of each changed object, without C(managedFields), Secret data hidden).
  - Reaches the cluster with the connection options of kubernetes.core and its configuration code,
    so the same options, the same C(K8S_AUTH_*) environment variables and the same order apply as
    for its modules; the kinds a deployment of Airflow uses are mapped to their API paths without
    the discovery of every API group that kubernetes.core's dynamic client does, other kinds are
    looked up in their group.
  - "Belongs to the action group C(flujo.airflow.k8s), which extends C(kubernetes.core.k8s): one
    C(module_defaults: {group/flujo.airflow.k8s: {kubeconfig: ..., context: ...}}) reaches this module
    and the kubernetes.core modules alike."
requirements:
  - python >= 3.9
  - kubernetes >= 31.0.0, < 38 (the Python client)
  - the kubernetes.core collection (>= 2.4.0, as galaxy.yml says), whose client configuration and authentication options are used
"""

EXAMPLES = r"""
- name: Apply the data stores and wait until both are ready
  flujo.airflow.airflow_apply:
    field_manager: flujo-airflow
    manifests:
      - "{{ lookup('ansible.builtin.template', 'statefulset.yaml.j2') | from_yaml }}"
      - "{{ lookup('ansible.builtin.template', 'service.yaml.j2') | from_yaml }}"
    wait: true
    wait_timeout: 600
"""

RETURN = r"""
objects:
  description: What happened to each object, in the order applied.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: Kind of the object.
      type: str
      sample: StatefulSet
    name:
      description: Name of the object.
      type: str
      sample: airflow-postgresql
    namespace:
      description: Namespace of the object (empty for a cluster-scoped one).
      type: str
      sample: airflow
    action:
      description: V(created), V(updated), V(unchanged) or V(deleted) (in check mode, what would happen).
      type: str
      sample: unchanged
    phase:
      description: Name of its phase.
      type: str
      sample: datastores
phases:
  description: By phase name, whether it changed and its objects (as in RV(objects)).
  returned: always
  type: dict
  sample: {"migrate": {"changed": false, "objects": []}}
wait_seconds:
  description: Seconds spent waiting until everything was ready (0 without O(wait)).
  returned: always
  type: float
  sample: 12.4
"""

import base64
import copy
import time

from ansible_collections.flujo.airflow.plugins.module_utils._k8s_api import ApiError, connect
from ansible_collections.flujo.airflow.plugins.module_utils._volume_nodes import volume_node_problems
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule

HIDDEN = "VALUE_HIDDEN"
WAITED_KINDS = ("Deployment", "StatefulSet", "Job")


VOLUME_CHECK_EVERY = 10  # seconds between two looks at pods held back by their volume's node


def identity(obj):
    meta = obj.get("metadata") or {}
    return obj.get("kind"), meta.get("name"), meta.get("namespace") or ""


def label(obj):
    kind, name, namespace = identity(obj)
    return "%s %s/%s" % (kind, namespace, name) if namespace else "%s %s" % (kind, name)


def secret_values(manifests):
    """Every value of every Secret manifest, as given and decoded, for no_log_values."""
    values = set()
    for obj in manifests:
        if obj.get("kind") != "Secret":
            continue
        for value in (obj.get("stringData") or {}).values():
            values.add(str(value))
        for value in (obj.get("data") or {}).values():
            values.add(str(value))
            try:
                values.add(base64.b64decode(value).decode("utf-8"))
            except (TypeError, ValueError):
                pass
    return set(v for v in values if v)


def shown(obj):
    """An object as a diff may show it: no managedFields, no Secret value."""
    if obj is None:
        return {}
    obj = copy.deepcopy(obj)
    meta = obj.get("metadata") or {}
    meta.pop("managedFields", None)
    if obj.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if obj.get(field):
                obj[field] = dict((key, HIDDEN) for key in obj[field])
        annotations = meta.get("annotations") or {}
        if "kubectl.kubernetes.io/last-applied-configuration" in annotations:
            annotations["kubectl.kubernetes.io/last-applied-configuration"] = HIDDEN
    return obj


def comparable(obj):
    """What a dry run changes, when something would change: all but the bookkeeping of a write."""
    obj = shown(obj)
    meta = obj.get("metadata") or {}
    for field in ("resourceVersion", "generation"):
        meta.pop(field, None)
    return obj


def api_fail(module, action, obj, exc):
    text = "Cannot %s %s: %s" % (action, label(obj), exc)
    # a Secret's validation message may quote a value; those are masked anyway, but say less
    if exc.message and obj.get("kind") != "Secret":
        text += ": %s" % exc.message
    module.fail_json(msg=text)


def missing_namespaces(module, api, manifests):
    """Check mode: the namespaces that do not exist yet (the API server cannot dry-run into them)."""
    missing = set()
    for namespace in sorted(set(obj["metadata"]["namespace"] for obj in manifests if obj["metadata"].get("namespace"))):
        try:
            api.request("GET", "/api/v1/namespaces/%s" % namespace)
        except ApiError as exc:
            if exc.status != 404:
                api_fail(module, "read", {"kind": "Namespace", "metadata": {"name": namespace}}, exc)
            missing.add(namespace)
    return missing


def read_all(module, api, manifests, missing):
    """The objects as they are now (None when absent), by identity."""
    before = {}
    for obj in manifests:
        kind, name, namespace = identity(obj)
        if namespace in missing:
            before[identity(obj)] = None
            continue
        try:
            before[identity(obj)] = api.request("GET", api.path(obj["apiVersion"], kind, namespace, name))
        except ApiError as exc:
            if exc.status != 404:
                api_fail(module, "read", obj, exc)
            before[identity(obj)] = None
    return before


def rerun_failed_job(module, api, obj, before, query):
    """A Job that failed before (a migration while the database was down, a remote logging check
    before the bucket existed) runs again: deleted, then created anew. A Job's spec cannot change,
    and a failed one is never retried by its controller. Returns the state to apply over."""
    if obj["kind"] != "Job" or before is None or condition(before, "Failed").get("status") != "True":
        return before
    kind, name, namespace = identity(obj)
    path = api.path(obj["apiVersion"], kind, namespace, name)
    if "dryRun" in query:
        api.request("DELETE", path, query={"propagationPolicy": "Background", "dryRun": "All"})
        return None
    try:
        api.request("DELETE", path, query={"propagationPolicy": "Background"})
        deadline = time.time() + 60
        while time.time() < deadline:
            api.request("GET", path)
            time.sleep(0.5)
        module.fail_json(msg="%s failed before and is still being deleted after 60 s: run again later" % label(obj))
    except ApiError as exc:
        if exc.status != 404:
            api_fail(module, "delete (and see gone) the failed", obj, exc)
    return None


def claim_templates(obj):
    """What of a StatefulSet's volumeClaimTemplates the API server refuses to change: per template,
    its name, labels, access modes, class and size."""
    return [(t["metadata"]["name"], sorted(((t["metadata"].get("labels") or {}).items())),
             sorted(t["spec"].get("accessModes") or []), t["spec"].get("storageClassName"),
             str(((t["spec"].get("resources") or {}).get("requests") or {}).get("storage")))
            for t in (obj.get("spec") or {}).get("volumeClaimTemplates") or []]


def replace_statefulset(module, api, obj, before, query):
    """A StatefulSet whose volumeClaimTemplates change (task logs switched to a volume per pod, or
    back) is deleted with its pods orphaned, then created anew by the apply: the API server refuses
    the change in place. Returns the state to apply over, or "dry-run" in check mode (the object
    still exists there, so an apply would be refused)."""
    kind, name, namespace = identity(obj)
    path = api.path(obj["apiVersion"], kind, namespace, name)
    if "dryRun" in query:
        api.request("DELETE", path, query={"propagationPolicy": "Orphan", "dryRun": "All"})
        return "dry-run"
    try:
        api.request("DELETE", path, query={"propagationPolicy": "Orphan"})
        deadline = time.time() + 60
        while time.time() < deadline:
            api.request("GET", path)
            time.sleep(0.5)
        module.fail_json(msg="%s: its volumeClaimTemplates changed, and after 60 s it is still being deleted "
                             "(its pods are kept): run again later" % label(obj))
    except ApiError as exc:
        if exc.status != 404:
            api_fail(module, "delete (pods kept), to replace with new volumeClaimTemplates,", obj, exc)
    return None


def restart_pods_without_claims(module, api, obj):
    """The new StatefulSet adopts the running pods, but one whose volumes lack a claim of its
    templates it can neither update (a pod's volumes are immutable) nor roll (its controller stops
    at the failed update): those pods are deleted, and come back with their claims. Each stops as
    its grace period allows (a worker warm, running tasks finishing)."""
    kind, name, namespace = identity(obj)
    selector = obj["spec"]["selector"]["matchLabels"]
    pods = api.request("GET", "/api/v1/namespaces/%s/pods" % namespace,
                       query={"labelSelector": ",".join("%s=%s" % kv for kv in sorted(selector.items()))})
    for pod in pods.get("items", []):
        pod_name = pod["metadata"]["name"]
        claims = set(v["persistentVolumeClaim"]["claimName"] for v in pod["spec"].get("volumes") or []
                     if v.get("persistentVolumeClaim"))
        wanted = set("%s-%s" % (t[0], pod_name) for t in claim_templates(obj))
        if not wanted <= claims:
            try:
                api.request("DELETE", "/api/v1/namespaces/%s/pods/%s" % (namespace, pod_name))
            except ApiError as exc:
                if exc.status != 404:
                    module.fail_json(msg="%s was replaced with new volumeClaimTemplates, but its pod %s could not be "
                                         "deleted to take them: %s" % (label(obj), pod_name, exc))


def apply_one(module, api, obj, before, query, missing):
    """Apply (or dry-run) one manifest; return (action, the object as the server returned it)."""
    kind, name, namespace = identity(obj)
    if namespace in missing:
        return "created", obj
    before = rerun_failed_job(module, api, obj, before, query)
    replaced = kind == "StatefulSet" and before is not None and claim_templates(before) != claim_templates(obj)
    if replaced:
        before = replace_statefulset(module, api, obj, before, query)
        if before == "dry-run":
            return "updated", obj
    try:
        after = api.request("PATCH", api.path(obj["apiVersion"], kind, namespace, name), body=obj, query=query,
                            content_type="application/apply-patch+yaml")
    except ApiError as exc:
        api_fail(module, "dry-run the apply of" if "dryRun" in query else "apply", obj, exc)
    if replaced:
        restart_pods_without_claims(module, api, after)
    if before is None:
        return "created", after
    if "dryRun" in query:
        return ("unchanged" if comparable(before) == comparable(after) else "updated"), after
    return ("unchanged" if unchanged(before, after) else "updated"), after


def unchanged(before, after):
    """The apply wrote nothing: the same resourceVersion; or, for an object whose spec has a generation,
    the same generation, labels and annotations (its status may have been written meanwhile by a
    controller or an autoscaler, which moves the resourceVersion, not the generation)."""
    was, now = before["metadata"], after["metadata"]
    if was.get("resourceVersion") == now.get("resourceVersion"):
        return True
    return ("spec" in after and bool(was.get("generation"))
            and all(was.get(field) == now.get(field) for field in ("generation", "labels", "annotations")))


def retired(module, api, phase, query):
    """Delete (or dry-run the deletion of) the objects of O(phases[].absent) that exist; their report entries."""
    objects = []
    for entry in phase["absent"] or []:
        obj = {"apiVersion": entry.get("apiVersion"), "kind": entry.get("kind"),
               "metadata": {"name": entry.get("name"), "namespace": entry.get("namespace") or module.params["namespace"]}}
        if not obj["apiVersion"] or not obj["kind"] or not obj["metadata"]["name"]:
            module.fail_json(msg="phases[%s].absent: apiVersion, kind and name are required, got %s" % (phase["name"], entry))
        kind, name, namespace = identity(obj)
        try:
            path = api.path(obj["apiVersion"], kind, namespace, name)
            api.request("GET", path)
        except ApiError as exc:
            if exc.status == 404:  # gone already, or a kind the cluster does not serve
                continue
            api_fail(module, "read", obj, exc)
        delete_query = dict(propagationPolicy="Background", **({"dryRun": "All"} if "dryRun" in query else {}))
        try:
            api.request("DELETE", path, query=delete_query)
        except ApiError as exc:
            if exc.status != 404:
                api_fail(module, "delete", obj, exc)
        objects.append({"kind": kind, "name": name, "namespace": namespace, "action": "deleted", "phase": phase["name"]})
    return objects


def pruned(module, api, phase, query):
    """Delete (or dry-run the deletion of) the objects O(phases[].prune) lists that the phase does not
    render; their report entries."""
    keep = {identity(obj) for obj in phase["manifests"]}
    objects = []
    for entry in phase["prune"] or []:
        api_version, kind, selector = entry.get("apiVersion"), entry.get("kind"), entry.get("label_selector")
        namespace = entry.get("namespace") or module.params["namespace"]
        if not api_version or not kind or not selector or not namespace:
            module.fail_json(msg="phases[%s].prune: apiVersion, kind, label_selector and namespace (or the namespace "
                                 "option) are required, got %s" % (phase["name"], entry))
        probe = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "", "namespace": namespace}}
        try:
            items = api.request("GET", api.path(api_version, kind, namespace), query={"labelSelector": selector})["items"]
        except ApiError as exc:
            if exc.status == 404:  # a kind the cluster does not serve, or no namespace yet: nothing to prune
                continue
            api_fail(module, "list", probe, exc)
        for item in items:
            name = item["metadata"]["name"]
            if (kind, name, namespace) in keep:
                continue
            obj = dict(probe, metadata={"name": name, "namespace": namespace})
            try:
                api.request("DELETE", api.path(api_version, kind, namespace, name),
                            query=dict(propagationPolicy="Background", **({"dryRun": "All"} if "dryRun" in query else {})))
            except ApiError as exc:
                if exc.status != 404:
                    api_fail(module, "delete", obj, exc)
            objects.append({"kind": kind, "name": name, "namespace": namespace, "action": "deleted", "phase": phase["name"]})
    return objects


def served(module, api, obj):
    """Whether the cluster serves the kind of obj (its group and version list it)."""
    try:
        api.resource(obj.get("apiVersion"), obj.get("kind"))
    except ApiError as exc:
        if exc.status == 404:
            return False
        api_fail(module, "look up the kind of", obj, exc)
    return True


def condition(obj, kind):
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return {}


def rollout(obj):
    """(done, failure or None, what is missing) of a Deployment, StatefulSet or Job as last seen."""
    kind = obj["kind"]
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "Job":
        failed = condition(obj, "Failed")
        if failed.get("status") == "True":
            return False, "failed: %s %s" % (failed.get("reason", ""), failed.get("message", "")), ""
        if condition(obj, "Complete").get("status") == "True":
            return True, None, ""
        return False, None, "not complete (%d active, %d failed pods)" % (status.get("active", 0), status.get("failed", 0))
    if status.get("observedGeneration", 0) < obj["metadata"].get("generation", 0):
        return False, None, "the controller has not seen the new spec yet"
    want = spec.get("replicas", 1)
    ready, updated = status.get("readyReplicas", 0), status.get("updatedReplicas", 0)
    if kind == "Deployment":
        progressing = condition(obj, "Progressing")
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            return False, "rollout stuck: %s" % progressing.get("message", ""), ""
        total = status.get("replicas", 0)
        done = updated >= want and total == updated and status.get("availableReplicas", 0) >= want
    else:
        on_delete = (spec.get("updateStrategy") or {}).get("type") == "OnDelete"
        done = ready >= want and status.get("replicas", 0) <= want and (
            on_delete or want == 0 or (updated >= want and status.get("currentRevision") == status.get("updateRevision")))
    return done, None, "" if done else "%d of %d replicas ready, %d updated" % (ready, want, updated)


def pod_problems(api, obj):
    """Why the pods of an object are not ready: waiting reasons, last exits, scheduling."""
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not selector:
        return ""
    try:
        pods = api.request("GET", "/api/v1/namespaces/%s/pods" % obj["metadata"]["namespace"],
                           query={"labelSelector": ",".join("%s=%s" % kv for kv in sorted(selector.items()))})
    except ApiError as exc:
        return "its pods could not be listed (%s)" % exc
    problems = []
    for pod in pods.get("items", []):
        status = pod.get("status") or {}
        what = []
        scheduled = [c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"]
        if scheduled and scheduled[0].get("status") == "False":
            what.append("not scheduled: %s" % scheduled[0].get("message", scheduled[0].get("reason", "")))
        for container in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            if container.get("ready"):
                continue
            state, last = container.get("state") or {}, (container.get("lastState") or {}).get("terminated")
            if "waiting" in state:
                text = "%s waiting: %s" % (container["name"], state["waiting"].get("reason", ""))
                if state["waiting"].get("message"):
                    text += " (%s)" % state["waiting"]["message"][:300]
            elif "terminated" in state:
                text = "%s exited %s (%s)" % (container["name"], state["terminated"].get("exitCode"),
                                              state["terminated"].get("reason", ""))
                if state["terminated"].get("exitCode") == 0:
                    continue  # a completed init container or Job pod
                if obj["kind"] == "Job":
                    text += log_tail(api, obj["metadata"]["namespace"], pod["metadata"]["name"], container["name"])
            else:
                text = "%s running, not ready" % container["name"]
            if last:
                text += ", last exit %s (%s), %d restarts" % (last.get("exitCode"), last.get("reason", ""),
                                                              container.get("restartCount", 0))
            what.append(text)
        if what:
            problems.append("pod %s: %s" % (pod["metadata"]["name"], "; ".join(what)))
    return " | ".join(problems)


def log_tail(api, namespace, pod, container, lines=15):
    """The last lines of a failed container's log, on one line (a failed Job says why in it)."""
    try:
        log = api.request("GET", "/api/v1/namespaces/%s/pods/%s/log" % (namespace, pod),
                          query={"container": container, "tailLines": str(lines)}, text=True)
    except ApiError:
        return ""
    log = " | ".join(line.strip() for line in log.splitlines() if line.strip())
    return ", last lines of its log: %s" % log if log else ""


def pods_of(api, obj):
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    if not selector:
        return []
    listed = api.request("GET", "/api/v1/namespaces/%s/pods" % obj["metadata"]["namespace"],
                         query={"labelSelector": ",".join("%s=%s" % kv for kv in sorted(selector.items()))})
    return listed.get("items") or []


def held_by_volume_nodes(api, current, pending):
    """{(object key, pod, claim): sentence} for the pending Deployments and StatefulSets whose pods cannot
    run because their volume is bound to a node that cannot take them (cordoned, NotReady, gone)."""
    held = {}
    for key in pending:
        if key[0] not in ("Deployment", "StatefulSet"):
            continue
        try:
            problems = volume_node_problems(api, key[2], pods_of(api, current[key]))
        except ApiError:
            continue  # the timeout still says what is wrong
        for problem in problems:
            held[(key, problem["pod"], problem["claim"])] = problem["text"]
    return held


def wait_all(module, api, live, timeout):
    """Poll every object until all are ready; objects of one kind and namespace are read with one list.
    A pod that cannot run because its volume is bound to a node that cannot take it (seen twice,
    VOLUME_CHECK_EVERY seconds apart) fails the wait at once, saying so, instead of at the timeout."""
    interval = module.params["wait_interval"]
    start = time.time()
    current = dict((identity(obj), obj) for obj in live)
    next_volume_check, held_before = start + VOLUME_CHECK_EVERY, {}
    while True:
        states = dict((key, rollout(obj)) for key, obj in current.items())
        failed = [(key, state[1]) for key, state in states.items() if state[1]]
        pending = [key for key, state in states.items() if not state[0]]
        if failed:
            module.fail_json(msg="; ".join("%s %s/%s %s%s" % (key[0], key[2], key[1], why, explain(api, current[key]))
                                           for key, why in failed))
        if not pending:
            return round(time.time() - start, 2)
        if time.time() >= next_volume_check:
            held = held_by_volume_nodes(api, current, pending)
            stuck = sorted(k for k in held if k in held_before)
            if stuck:
                module.fail_json(msg="; ".join("%s %s/%s cannot become ready: %s" % (k[0][0], k[0][2], k[0][1], held[k])
                                               for k in stuck))
            held_before, next_volume_check = held, time.time() + VOLUME_CHECK_EVERY
        if time.time() - start >= timeout:
            module.fail_json(msg="Timed out after %d s waiting for: %s" % (timeout, "; ".join(
                "%s %s/%s (%s)%s" % (key[0], key[2], key[1], states[key][2], explain(api, current[key])) for key in pending)))
        time.sleep(interval)
        for kind, namespace in sorted(set((key[0], key[2]) for key in pending)):
            sample = current[[key for key in pending if key[0] == kind and key[2] == namespace][0]]
            try:
                listed = api.request("GET", api.path(sample["apiVersion"], kind, namespace))
            except ApiError as exc:
                module.fail_json(msg="Cannot read the %ss in namespace %s while waiting: %s" % (kind, namespace, exc))
            for item in listed.get("items", []):
                item.update(kind=kind, apiVersion=sample["apiVersion"])  # the items of a list name neither
                key = (kind, item["metadata"]["name"], namespace)
                if key in current:
                    current[key] = item


def explain(api, obj):
    problems = pod_problems(api, obj)
    return ": " + problems if problems else ""


def main():
    phase_spec = dict(
        name=dict(type="str", required=True),
        manifests=dict(type="list", elements="dict", required=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int"),
        if_served=dict(type="list", elements="dict", default=[]),
        absent=dict(type="list", elements="dict", default=[]),
        prune=dict(type="list", elements="dict", default=[]),
    )
    argument_spec = copy.deepcopy(AUTH_ARG_SPEC)
    argument_spec.update(
        manifests=dict(type="list", elements="dict"),
        phases=dict(type="list", elements="dict", options=phase_spec),
        namespace=dict(type="str"),
        field_manager=dict(type="str", required=True),
        force_conflicts=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        wait_interval=dict(type="float", default=1.0),
        concurrent_when_new=dict(type="bool", default=False),
    )
    # check_k8s/check_pyyaml import the kubernetes package (0.5-1 s): connect() needs it only for what the light path cannot do
    module = AnsibleK8SModule(argument_spec=argument_spec, supports_check_mode=True, check_k8s=False, check_pyyaml=False,
                              mutually_exclusive=[("manifests", "phases")], required_one_of=[("manifests", "phases")])
    params = module.params
    single = dict(name="apply", manifests=params["manifests"], wait=params["wait"], wait_timeout=None, if_served=[], absent=[], prune=[])
    phases = params["phases"] or [single]
    manifests = [obj for phase in phases for obj in phase["manifests"] + (phase["if_served"] or [])]
    module._module.no_log_values.update(secret_values(manifests))
    for index, obj in enumerate(manifests):
        if not obj.get("apiVersion") or not obj.get("kind") or not (obj.get("metadata") or {}).get("name"):
            module.fail_json(msg="manifests[%d]: apiVersion, kind and metadata.name are required" % index)
    api = connect(module)

    for phase in phases:
        phase["manifests"] = phase["manifests"] + [obj for obj in phase["if_served"] or [] if served(module, api, obj)]
    manifests = [obj for phase in phases for obj in phase["manifests"]]

    check_mode = module.check_mode
    query = {"fieldManager": params["field_manager"]}
    if params["force_conflicts"]:
        query["force"] = "true"
    if check_mode:
        query["dryRun"] = "All"
    report, diffs, per_phase, waited, pending_wait, timeout = [], [], {}, 0.0, [], 0
    try:
        for obj in manifests:
            if api.is_namespaced(obj["apiVersion"], obj["kind"]) and not obj["metadata"].get("namespace"):
                if not params["namespace"]:
                    module.fail_json(msg="%s needs metadata.namespace or the namespace option" % label(obj))
                obj["metadata"]["namespace"] = params["namespace"]
        missing = missing_namespaces(module, api, manifests) if check_mode else set()
        before = read_all(module, api, manifests, missing)
        for index, phase in enumerate(phases):
            objects = []
            for obj in phase["manifests"]:
                action, after = apply_one(module, api, obj, before[identity(obj)], query, missing)
                kind, name, namespace = identity(obj)
                objects.append({"kind": kind, "name": name, "namespace": namespace, "action": action, "phase": phase["name"]})
                if action != "unchanged" and module._diff:
                    diffs.append({"before": shown(before[identity(obj)]), "after": shown(after),
                                  "before_header": label(obj), "after_header": label(obj)})
                if phase["wait"] and kind in WAITED_KINDS:
                    pending_wait.append(after)
                    timeout = max(timeout, phase["wait_timeout"] or params["wait_timeout"])
            # On a new deployment nothing of the later phases runs yet: nothing to protect by waiting
            # here, the pods of the later phases wait for what they need themselves (init containers)
            later = [obj for p in phases[index + 1:] for obj in p["manifests"] if obj["kind"] in ("Deployment", "StatefulSet")]
            defer = params["concurrent_when_new"] and later and all(before[identity(obj)] is None for obj in later)
            if pending_wait and not check_mode and (index == len(phases) - 1 or not defer):
                waited += wait_all(module, api, pending_wait, timeout)
                pending_wait, timeout = [], 0
            # What the phase no longer renders goes once its new objects are ready: pods still rolling
            # away may use it (a connection pooler, a Secret, a network policy)
            objects += retired(module, api, phase, query) + pruned(module, api, phase, query)
            report += objects
            per_phase[phase["name"]] = {"changed": any(o["action"] != "unchanged" for o in objects), "objects": objects}
    except ApiError as exc:
        module.fail_json(msg="Cannot reach the Kubernetes API: %s" % exc)
    result = dict(changed=any(o["action"] != "unchanged" for o in report), objects=report, phases=per_phase,
                  wait_seconds=round(waited, 2))
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
