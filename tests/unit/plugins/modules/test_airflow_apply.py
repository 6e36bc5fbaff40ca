# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The airflow_apply module against an in-memory API server behind the real Kubernetes client.

Only the HTTP layer (urllib3's pool manager) is replaced: the requests go through the kubernetes
client's own serialization and authentication, so paths, query parameters, content types and
bodies are what a real API server would receive. The fake server applies like the real one for
what the module relies on: 404 for an absent object or namespace, a new resourceVersion only when
an apply changes the object, nothing stored on a dry run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from kubernetes import client as k8s_client

from ansible.module_utils.testing import patch_module_args

from ansible_collections.flujo.airflow.plugins.module_utils import _k8s_api
from ansible_collections.flujo.airflow.plugins.modules import airflow_apply
from ansible_collections.flujo.airflow.tests.unit.plugins.modules.module_harness import Exit, did_fail, isolate, run_module, succeeded
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

NS = "airflow-test"
SECRET_VALUE = "s3cr3t-value-never-shown"


class Response(object):
    def __init__(self, status, body):
        self.status, self.reason = status, {200: "OK", 201: "Created", 404: "Not Found", 422: "Unprocessable Entity"}[status]
        self.data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.headers = {"Content-Type": "application/json"}


def selected(obj, selector):
    """Whether obj's labels match a label selector of `key` (exists) and `key=value` terms (pods are
    listed whole: the tests put them without labels)."""
    labels = obj["metadata"].get("labels") or {}
    for term in (selector or "").split(","):
        key, value = (term.split("=", 1) + [""])[:2]
        if term and (key not in labels or (value and labels[key] != value)):
            return False
    return True


class FakeCluster(object):
    """Objects by API path, as an API server keeps them."""

    def __init__(self):
        self.objects = {}
        self.requests = []
        self.rv = 100
        self.on_read = {}  # path -> function(obj) changing its status, as controllers would
        self.reject = {}  # path -> message of a 422

    def put(self, path, obj):
        self.rv += 1
        obj = copy.deepcopy(obj)
        obj["metadata"].update(resourceVersion=str(self.rv), uid="uid-" + obj["metadata"]["name"], generation=1)
        self.objects[path] = obj

    def request(self, method, url, body=None, timeout=None, headers=None, preload_content=True, **kwargs):
        parts = urlsplit(url)
        path, query = parts.path, dict((k, v[0]) for k, v in parse_qs(parts.query).items())
        self.requests.append((method, path, query, headers.get("Content-Type")))
        if method == "GET":
            return self.get(path, query)
        if method == "DELETE":
            if path not in self.objects:
                return Response(404, {"kind": "Status", "message": "%s not found" % path})
            if query.get("dryRun") != "All":
                del self.objects[path]
            return Response(200, {"kind": "Status", "status": "Success"})
        assert method == "PATCH" and headers["Content-Type"] == "application/apply-patch+yaml"
        return self.apply(path, json.loads(body), query)

    def get(self, path, query):
        if path.endswith("/log") and path[:-4] in self.objects:
            return Response(200, self.objects[path[:-4]].get("log", ""))
        if path in self.objects:
            obj = self.objects[path]
            if path in self.on_read:
                self.on_read[path](obj)
            return Response(200, copy.deepcopy(obj))
        if path == "/apis/example.com/v1":
            return Response(200, {"resources": [{"name": "widgets", "kind": "Widget", "namespaced": True},
                                                {"name": "widgets/status", "kind": "Widget", "namespaced": True}]})
        items = [self.get(p, query) for p in sorted(self.objects)
                 if p.rsplit("/", 1)[0] == path
                 and (path.endswith("/pods") or selected(self.objects[p], query.get("labelSelector")))]
        if items or path.endswith(("/deployments", "/statefulsets", "/jobs", "/pods")):
            listed = [json.loads(r.data) for r in items]
            for item in listed:  # as the API server lists them: the list has kind and apiVersion, its items not
                item.pop("kind", None)
                item.pop("apiVersion", None)
            return Response(200, {"kind": "List", "apiVersion": "v1", "items": listed})
        return Response(404, {"kind": "Status", "message": "%s not found" % path})

    def apply(self, path, body, query):
        assert query["fieldManager"] == "flujo.airflow"
        if "/namespaces/" in path and path.split("/namespaces/")[1].count("/"):
            namespace = path.split("/namespaces/")[1].split("/")[0]
            if "/api/v1/namespaces/" + namespace not in self.objects:
                return Response(404, {"kind": "Status", "message": "namespaces \"%s\" not found" % namespace})
        if path in self.reject:
            return Response(422, {"kind": "Status", "message": self.reject[path]})
        old = self.objects.get(path)
        new = copy.deepcopy(old) if old else {"metadata": {}}
        for key, value in body.items():
            if key == "metadata":
                new["metadata"].update(copy.deepcopy(value))
            else:
                new[key] = copy.deepcopy(value)
        if old and new == old:
            return Response(200, copy.deepcopy(old))
        if query.get("dryRun") == "All":
            return Response(200 if old else 201, new)
        self.rv += 1
        new["metadata"].update(resourceVersion=str(self.rv), uid="uid-" + new["metadata"]["name"])
        new["metadata"]["generation"] = (old or {"metadata": {"generation": 0}})["metadata"]["generation"] + (
            1 if not old or old.get("spec") != new.get("spec") else 0)
        new["metadata"]["managedFields"] = [{"manager": query["fieldManager"], "operation": "Apply"}]
        self.objects[path] = new
        return Response(200 if old else 201, copy.deepcopy(new))

    def writes(self):
        return [r for r in self.requests if r[0] in ("PATCH", "DELETE") and r[2].get("dryRun") != "All"]


@pytest.fixture(autouse=True)
def no_ambient_config(monkeypatch, tmp_path):
    isolate(monkeypatch, tmp_path)


def fake_cluster(monkeypatch):
    """A FakeCluster behind a real ApiClient (token auth from K8S_AUTH_* as kubernetes.core reads it):
    what every module built on _k8s_api.connect talks to in these tests."""
    fake = FakeCluster()
    monkeypatch.setenv("K8S_AUTH_HOST", "https://api.invalid:6443")
    monkeypatch.setenv("K8S_AUTH_API_KEY", "token-of-the-test")

    def build(module):
        api_client = fake_cluster.real_build(module)
        assert api_client.configuration.host == "https://api.invalid:6443"
        monkeypatch.setattr(api_client.rest_client.pool_manager, "request", fake.request)
        fake.api_client = api_client
        return api_client

    monkeypatch.setattr(_k8s_api, "build_api_client", build)
    return fake


fake_cluster.real_build = _k8s_api.build_api_client


@pytest.fixture
def cluster(monkeypatch):
    monkeypatch.setattr(airflow_apply.time, "sleep", lambda seconds: None)
    return fake_cluster(monkeypatch)


def namespace():
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}


def configmap(value="1"):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": NS}, "data": {"A": value}}


def secret():
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec", "namespace": NS},
            "data": {"PASSWORD": base64.b64encode(SECRET_VALUE.encode()).decode()}}


def deployment(name="web", image="img:1", replicas=1):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"spec": {"containers": [{"name": "c", "image": image}]}}}}


def job(name="migrate"):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": {"matchLabels": {"job": name}}, "template": {"spec": {"containers": [{"name": "m"}]}}}}


DEPLOY_PATH = "/apis/apps/v1/namespaces/%s/deployments/web" % NS
JOB_PATH = "/apis/batch/v1/namespaces/%s/jobs/migrate" % NS
CM_PATH = "/api/v1/namespaces/%s/configmaps/cfg" % NS


def run(manifests=None, check=False, diff=False, **params):
    args = dict(field_manager="flujo.airflow", **copy.deepcopy(params))
    if manifests is not None:
        args["manifests"] = copy.deepcopy(manifests)
    return run_module(airflow_apply.main, args, check, diff)


def ok(*args, **kwargs):
    return succeeded(run(*args, **kwargs))


def failed(*args, **kwargs):
    return did_fail(run(*args, **kwargs))


def ready(obj):
    """What the Deployment controller reports once the pods of the current spec are available."""
    want = obj["spec"]["replicas"]
    obj["status"] = {"observedGeneration": obj["metadata"]["generation"], "replicas": want,
                     "updatedReplicas": want, "readyReplicas": want, "availableReplicas": want}


def test_creates_everything_with_server_side_apply_under_the_field_manager(cluster):
    result = ok([namespace(), configmap(), deployment()])
    assert result["changed"] is True
    assert [o["action"] for o in result["objects"]] == ["created"] * 3
    assert [r[:2] for r in cluster.writes()] == [
        ("PATCH", "/api/v1/namespaces/%s" % NS), ("PATCH", "/api/v1/namespaces/%s/configmaps/cfg" % NS),
        ("PATCH", DEPLOY_PATH)]
    for method, path, query, content_type in cluster.writes():
        assert query == {"fieldManager": "flujo.airflow", "force": "true"}
        assert content_type == "application/apply-patch+yaml"
    assert cluster.objects[DEPLOY_PATH]["spec"]["template"]["spec"]["containers"][0]["image"] == "img:1"


def test_the_requests_carry_the_credentials_kubernetes_core_configured(cluster):
    ok([namespace()])
    assert cluster.api_client.configuration.api_key == {"authorization": "Bearer token-of-the-test"}


def test_a_second_run_is_unchanged_and_reads_no_api_discovery(cluster):
    ok([namespace(), configmap(), deployment()])
    before = dict((p, o["metadata"]["resourceVersion"]) for p, o in cluster.objects.items())
    del cluster.requests[:]
    result = ok([namespace(), configmap(), deployment()])
    assert result["changed"] is False
    assert [o["action"] for o in result["objects"]] == ["unchanged"] * 3
    assert dict((p, o["metadata"]["resourceVersion"]) for p, o in cluster.objects.items()) == before
    assert not [r for r in cluster.requests if r[1] in ("/api", "/apis", "/version")]
    assert len(cluster.requests) == 6  # one read and one apply per object


def test_only_the_object_that_differs_is_updated(cluster):
    ok([namespace(), configmap(), deployment()])
    result = ok([namespace(), configmap("2"), deployment()])
    assert [o["action"] for o in result["objects"]] == ["unchanged", "updated", "unchanged"]
    assert result["changed"] is True


def test_a_namespaced_object_without_namespace_takes_the_option(cluster):
    ok([namespace()])
    obj = configmap()
    del obj["metadata"]["namespace"]
    assert ok([obj], namespace=NS)["objects"][0]["namespace"] == NS
    out = failed([obj])
    assert out.result["msg"] == "ConfigMap cfg needs metadata.namespace or the namespace option"


def test_a_manifest_without_kind_is_named_by_its_index(cluster):
    out = failed([namespace(), {"apiVersion": "v1", "metadata": {"name": "x"}}])
    assert out.result["msg"] == "manifests[1]: apiVersion, kind and metadata.name are required"
    assert not cluster.requests


def test_a_kind_outside_the_static_map_is_found_in_its_group(cluster):
    ok([namespace()])
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": NS}, "spec": {}}
    result = ok([widget, dict(widget, metadata={"name": "w2", "namespace": NS})])
    assert [o["action"] for o in result["objects"]] == ["created", "created"]
    assert "/apis/example.com/v1/namespaces/%s/widgets/w" % NS in cluster.objects
    assert len([r for r in cluster.requests if r[1] == "/apis/example.com/v1"]) == 1


def test_check_mode_on_an_empty_cluster_writes_nothing_and_reports_every_object_to_be_created(cluster):
    result = ok([namespace(), configmap(), deployment()], check=True)
    assert result["changed"] is True
    assert [o["action"] for o in result["objects"]] == ["created"] * 3
    assert not cluster.objects and not cluster.writes()
    # the namespace itself is dry-run; nothing is sent into the namespace that does not exist
    dry = [r[1] for r in cluster.requests if r[0] == "PATCH"]
    assert dry == ["/api/v1/namespaces/%s" % NS]


def test_check_mode_on_a_converged_cluster_dry_runs_and_is_exact(cluster):
    ok([namespace(), configmap(), deployment()])
    assert ok([namespace(), configmap(), deployment()], check=True)["changed"] is False
    result = ok([namespace(), configmap(), deployment(image="img:2")], check=True)
    assert [o["action"] for o in result["objects"]] == ["unchanged", "unchanged", "updated"]
    assert cluster.objects[DEPLOY_PATH]["spec"]["template"]["spec"]["containers"][0]["image"] == "img:1"
    assert all(r[2].get("dryRun") == "All" for r in cluster.requests[-3:] if r[0] == "PATCH")


def test_check_mode_never_waits(cluster):
    ok([namespace()])
    result = ok([deployment()], check=True, wait=True)
    assert result["wait_seconds"] == 0


def test_diff_shows_changed_objects_without_managed_fields_or_secret_values(cluster):
    ok([namespace(), configmap()])
    result = ok([namespace(), configmap("2"), secret()], diff=True)
    headers = [d["before_header"] for d in result["diff"]]
    assert headers == ["ConfigMap %s/cfg" % NS, "Secret %s/sec" % NS]
    cm = result["diff"][0]
    assert cm["before"]["data"] == {"A": "1"} and cm["after"]["data"] == {"A": "2"}
    assert "managedFields" not in cm["after"]["metadata"]
    assert result["diff"][1]["after"]["data"] == {"PASSWORD": "VALUE_HIDDEN"}
    assert result["diff"][1]["before"] == {}
    text = json.dumps(result)
    assert SECRET_VALUE not in text and base64.b64encode(SECRET_VALUE.encode()).decode() not in text


def test_every_secret_value_is_masked_by_ansible(cluster):
    ok([namespace()])
    out = run([secret()])
    assert {SECRET_VALUE, base64.b64encode(SECRET_VALUE.encode()).decode()} <= out.no_log_values


def test_without_diff_mode_there_is_no_diff(cluster):
    assert "diff" not in ok([namespace()])


def test_an_apply_the_server_rejects_names_the_object_and_says_why(cluster):
    ok([namespace()])
    cluster.reject["/api/v1/namespaces/%s/configmaps/cfg" % NS] = "data: Invalid value"
    out = failed([configmap()])
    assert out.result["msg"] == "Cannot apply ConfigMap %s/cfg: 422 Unprocessable Entity: data: Invalid value" % NS


def test_a_rejected_secret_does_not_repeat_the_server_message(cluster):
    ok([namespace()])
    cluster.reject["/api/v1/namespaces/%s/secrets/sec" % NS] = "data[PASSWORD]: Invalid value: \"x\""
    out = failed([secret()])
    assert out.result["msg"] == "Cannot apply Secret %s/sec: 422 Unprocessable Entity" % NS


def test_an_unreachable_cluster_is_said_so(cluster, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")
    built = []

    previous = _k8s_api.build_api_client

    def build(module):
        api_client = previous(module)
        monkeypatch.setattr(api_client.rest_client.pool_manager, "request", refuse)
        built.append(api_client)
        return api_client
    monkeypatch.setattr(_k8s_api, "build_api_client", build)
    out = failed([namespace()])
    assert out.result["msg"].startswith("Cannot read Namespace %s: cluster unreachable (ConnectionRefusedError)" % NS)


def test_a_bad_configuration_fails_before_any_request(monkeypatch, tmp_path):
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    out = failed([namespace()])
    assert out.result["msg"].startswith("Could not create API client: ")


def test_wait_returns_once_every_rollout_is_done(cluster):
    ok([namespace()])
    looks = []

    def controller(obj):
        looks.append(1)
        if len(looks) >= 2:
            ready(obj)
    cluster.on_read[DEPLOY_PATH] = controller
    result = ok([deployment()], wait=True)
    assert result["changed"] is True
    lists = [r for r in cluster.requests if r[1] == "/apis/apps/v1/namespaces/%s/deployments" % NS]
    assert len(lists) == 2  # the first list finds it rolling out, the second ready


def test_wait_on_a_converged_cluster_needs_no_request_after_the_apply(cluster):
    ok([namespace()])
    cluster.on_read[DEPLOY_PATH] = ready
    ok([deployment()], wait=True)
    del cluster.requests[:]
    result = ok([deployment()], wait=True)
    assert result["changed"] is False
    assert len(cluster.requests) == 2


def test_a_deployment_scaled_to_zero_is_ready(cluster):
    ok([namespace()])
    cluster.on_read[DEPLOY_PATH] = lambda obj: obj.update(status={"observedGeneration": obj["metadata"]["generation"]})
    ok([deployment(replicas=0)], wait=True)


def test_a_failed_job_fails_with_its_reason_and_the_reason_of_its_pod(cluster):
    ok([namespace()])
    cluster.on_read[JOB_PATH] = lambda obj: obj.update(status={"failed": 1, "conditions": [
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
    cluster.put("/api/v1/namespaces/%s/pods/migrate-x" % NS, {"metadata": {"name": "migrate-x", "labels": {"job": "migrate"}},
                "status": {"containerStatuses": [{"name": "m", "ready": False, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]},
                "log": "Traceback (most recent call last):\n  ...\nOperationalError: could not connect to server\n"})
    out = failed([job()], wait=True)
    assert out.result["msg"] == (
        "Job %s/migrate failed: BackoffLimitExceeded Job has reached the specified backoff limit: pod migrate-x: m exited 1 (Error), last lines of its log: "
        "Traceback (most recent call last): | ... | OperationalError: could not connect to server" % NS)
    logs = [r for r in cluster.requests if r[1].endswith("/log")]
    assert logs[0][2] == {"container": "m", "tailLines": "15"}
    pods = [r for r in cluster.requests if r[1] == "/api/v1/namespaces/%s/pods" % NS]
    assert pods[0][2] == {"labelSelector": "job=migrate"}


def test_a_timeout_names_each_object_not_ready_and_why(cluster):
    ok([namespace()])
    cluster.put("/api/v1/namespaces/%s/pods/web-1" % NS, {"metadata": {"name": "web-1"}, "status": {
        "initContainerStatuses": [{"name": "wait", "ready": True, "state": {"terminated": {"exitCode": 0}}}],
        "containerStatuses": [{"name": "c", "ready": False, "restartCount": 4,
                               "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                               "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}})
    cluster.put("/api/v1/namespaces/%s/pods/web-2" % NS, {"metadata": {"name": "web-2"}, "status": {
        "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/1 nodes are available: Insufficient memory."}]}})
    cluster.put(DEPLOY_PATH, deployment(replicas=2))  # there already, so the read before the apply sees a status
    cluster.put(JOB_PATH, job())
    cluster.on_read[JOB_PATH] = lambda obj: obj.update(status={"active": 1})
    cluster.on_read[DEPLOY_PATH] = lambda obj: obj.update(status={"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2})
    out = failed([deployment(replicas=2), job()], wait=True, wait_timeout=0)
    msg = out.result["msg"]
    assert msg.startswith("Timed out after 0 s waiting for: Deployment %s/web (0 of 2 replicas ready, 2 updated): " % NS)
    assert ("pod web-1: c waiting: CrashLoopBackOff (back-off 40s), last exit 2 (Error), 4 restarts | "
            "pod web-2: not scheduled: 0/1 nodes are available: Insufficient memory.") in msg
    assert "; Job %s/migrate (not complete (1 active, 0 failed pods))" % NS in msg


def test_a_deployment_past_its_progress_deadline_fails_at_once(cluster):
    ok([namespace()])
    cluster.on_read[DEPLOY_PATH] = lambda obj: obj.update(status={"observedGeneration": 1, "conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "web has timed out progressing."}]})
    out = failed([deployment()], wait=True)
    assert out.result["msg"].startswith("Deployment %s/web rollout stuck: web has timed out progressing." % NS)


@pytest.mark.parametrize("status, done", [
    ({"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
      "currentRevision": "a", "updateRevision": "a"}, True),
    ({"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
      "currentRevision": "a", "updateRevision": "b"}, False),  # the old pod still runs
    ({"observedGeneration": 0, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
      "currentRevision": "a", "updateRevision": "a"}, False),  # the controller has not seen the spec
    ({"observedGeneration": 1, "replicas": 2, "readyReplicas": 1, "updatedReplicas": 1,
      "currentRevision": "a", "updateRevision": "a"}, False),  # scaling down: one pod too many
])
def test_statefulset_readiness(status, done):
    obj = {"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 1}, "status": status}
    assert airflow_apply.rollout(obj)[0] is done


def test_the_argument_spec_takes_kubernetes_core_auth_options():
    with patch_module_args(dict(manifests=[], field_manager="m")):
        with pytest.raises(Exit):
            with pytest.MonkeyPatch.context() as patcher:
                seen = {}

                def module_class(**kwargs):
                    seen.update(kwargs)
                    raise Exit(False, {}, ())
                patcher.setattr(airflow_apply, "AnsibleK8SModule", module_class)
                airflow_apply.main()
    for name, option in AUTH_ARG_SPEC.items():
        assert seen["argument_spec"][name] == option
    assert seen["supports_check_mode"] is True


def test_the_kinds_the_roles_render_need_no_discovery():
    assert k8s_client is not None
    api = _k8s_api.Api(None)
    assert api.path("apps/v1", "StatefulSet", "ns", "x") == "/apis/apps/v1/namespaces/ns/statefulsets/x"
    assert api.path("v1", "Namespace", None, "ns") == "/api/v1/namespaces/ns"
    assert api.path("networking.k8s.io/v1", "NetworkPolicy", "ns") == "/apis/networking.k8s.io/v1/namespaces/ns/networkpolicies"


def phases(*pairs):
    return [{"name": name, "manifests": manifests, "wait": True} for name, manifests in pairs]


def statefulset(name="db"):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {}}}


STS_PATH = "/apis/apps/v1/namespaces/%s/statefulsets/db" % NS


def sts_ready(obj):
    obj["status"] = {"observedGeneration": obj["metadata"]["generation"], "replicas": 1, "readyReplicas": 1,
                     "updatedReplicas": 1, "currentRevision": "r", "updateRevision": "r"}


def job_complete(obj):
    obj["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}


def order_of(cluster):
    """The applies and the waits (lists) in the order the server saw them."""
    return [("apply " if r[0] == "PATCH" else "list ") + r[1].rsplit("/", 2)[-2 if r[0] == "PATCH" else -1]
            for r in cluster.requests if r[0] == "PATCH" or r[1].endswith(("statefulsets", "jobs", "deployments"))]


def test_phases_apply_in_order_and_each_waits_before_the_next(cluster):
    ok([namespace()])
    cluster.put(STS_PATH, statefulset())  # an upgrade: the data store and the component run already
    cluster.put(DEPLOY_PATH, deployment())
    cluster.on_read[STS_PATH] = sts_ready
    cluster.on_read[DEPLOY_PATH] = ready
    cluster.on_read[JOB_PATH] = job_complete
    del cluster.requests[:]
    result = ok(phases=phases(("datastores", [statefulset()]), ("migrate", [job()]), ("components", [deployment(image="img:2")])),
                concurrent_when_new=True)
    assert order_of(cluster) == ["apply statefulsets", "apply jobs", "list jobs", "apply deployments", "list deployments"]
    assert result["phases"]["migrate"]["changed"] is True and result["phases"]["datastores"]["changed"] is False
    assert [o["phase"] for o in result["objects"]] == ["datastores", "migrate", "components"]


def test_on_a_new_deployment_every_phase_is_applied_at_once_and_waited_for_together(cluster):
    ok([namespace()])
    cluster.on_read[STS_PATH] = sts_ready
    cluster.on_read[DEPLOY_PATH] = ready
    cluster.on_read[JOB_PATH] = job_complete
    del cluster.requests[:]
    ok(phases=phases(("datastores", [statefulset()]), ("migrate", [job()]), ("components", [deployment()])),
       concurrent_when_new=True)
    order = order_of(cluster)
    assert order[:3] == ["apply statefulsets", "apply jobs", "apply deployments"]
    assert sorted(order[3:]) == ["list deployments", "list jobs", "list statefulsets"]


def test_without_concurrent_when_new_a_new_deployment_waits_phase_by_phase(cluster):
    ok([namespace()])
    cluster.on_read[STS_PATH] = sts_ready
    cluster.on_read[JOB_PATH] = job_complete
    del cluster.requests[:]
    ok(phases=phases(("datastores", [statefulset()]), ("migrate", [job()])))
    assert order_of(cluster) == ["apply statefulsets", "list statefulsets", "apply jobs", "list jobs"]


def test_what_a_phase_retires_is_deleted_after_its_new_objects_are_ready(cluster):
    # a pooler switched off: the pods rolling away from it keep it until the new ones are ready
    ok([namespace()])
    cluster.put(DEPLOY_PATH, deployment())
    cluster.put(CM_PATH, configmap())
    cluster.on_read[DEPLOY_PATH] = ready
    del cluster.requests[:]
    retired = {"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg", "namespace": NS}
    result = ok(phases=[{"name": "components", "manifests": [deployment(image="img:2")], "wait": True,
                         "absent": [retired]}])
    steps = [(r[0], r[1].rsplit("/", 1)[-1]) for r in cluster.requests if r[0] in ("PATCH", "DELETE")
             or r[1].endswith("deployments")]
    assert steps == [("PATCH", "web"), ("GET", "deployments"), ("DELETE", "cfg")]
    assert CM_PATH not in cluster.objects and result["objects"][-1]["action"] == "deleted"


def test_a_status_written_between_the_read_and_the_apply_is_no_change(cluster):
    # an autoscaler or a controller writes the status meanwhile: a new resourceVersion, not a change of ours
    ok([namespace(), deployment()])
    apply = cluster.apply

    def status_written_first(path, body, query):
        if path == DEPLOY_PATH:
            cluster.objects[path]["status"] = {"replicas": 3}
            cluster.rv += 1
            cluster.objects[path]["metadata"]["resourceVersion"] = str(cluster.rv)
        return apply(path, body, query)
    cluster.apply = status_written_first
    assert ok([namespace(), deployment()])["changed"] is False
    result = ok([namespace(), deployment(image="img:2")])
    assert [o["action"] for o in result["objects"]] == ["unchanged", "updated"]
    labelled = deployment()
    labelled["metadata"]["labels"] = {"team": "data"}
    assert ok([namespace(), labelled])["objects"][1]["action"] == "updated"


def test_manifests_and_phases_are_exclusive(cluster):
    out = failed([namespace()], phases=phases(("a", [namespace()])))
    assert "mutually exclusive" in out.result["msg"]


def test_an_unreachable_cluster_in_check_mode_names_the_address(cluster, monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused to 127.0.0.1")

    previous = _k8s_api.build_api_client

    def build(module):
        api_client = previous(module)
        monkeypatch.setattr(api_client.rest_client.pool_manager, "request", refuse)
        return api_client
    monkeypatch.setattr(_k8s_api, "build_api_client", build)
    out = failed([namespace(), configmap()], check=True)
    assert out.result["msg"] == (
        "Cannot read Namespace %s: cluster unreachable (ConnectionRefusedError): [Errno 111] Connection refused to 127.0.0.1" % NS)


PDB = {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "name": "web", "namespace": NS}
PDB_PATH = "/apis/policy/v1/namespaces/%s/poddisruptionbudgets/web" % NS


def pdb():
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": NS},
            "spec": {"maxUnavailable": 1}}


def phase(manifests, absent=()):
    return [{"name": "components", "manifests": manifests, "absent": list(absent)}]


def test_an_object_no_longer_rendered_is_deleted_once(cluster):
    ok(phases=phase([namespace(), deployment(), pdb()]))
    result = ok(phases=phase([namespace(), deployment()], [PDB]))
    assert PDB_PATH not in cluster.objects
    assert result["changed"] is True
    assert result["objects"][-1] == {"kind": "PodDisruptionBudget", "name": "web", "namespace": NS,
                                     "action": "deleted", "phase": "components"}
    assert ("DELETE", PDB_PATH, {"propagationPolicy": "Background"}) in [r[:3] for r in cluster.writes()]
    del cluster.requests[:]
    again = ok(phases=phase([namespace(), deployment()], [PDB]))
    assert again["changed"] is False and [o["action"] for o in again["objects"]] == ["unchanged"] * 2
    assert [r[:2] for r in cluster.requests if r[1] == PDB_PATH] == [("GET", PDB_PATH)]


def test_check_mode_reports_the_deletion_and_deletes_nothing(cluster):
    ok(phases=phase([namespace(), pdb()]))
    result = ok(phases=phase([namespace()], [PDB]), check=True)
    assert result["changed"] is True and result["objects"][-1]["action"] == "deleted"
    assert PDB_PATH in cluster.objects
    assert [r[2] for r in cluster.requests if r[0] == "DELETE"] == [{"propagationPolicy": "Background", "dryRun": "All"}]


def test_an_absent_kind_the_cluster_does_not_serve_is_nothing_to_delete(cluster):
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "name": "m", "namespace": NS}
    ok([namespace()])
    result = ok(phases=phase([namespace()], [monitor]))
    assert result["changed"] is False and len(result["objects"]) == 1


def test_an_absent_entry_without_a_kind_is_named(cluster):
    out = failed(phases=phase([namespace()], [{"apiVersion": "v1", "name": "x"}]))
    assert out.result["msg"].startswith("phases[components].absent: apiVersion, kind and name are required")


def widget(name="w"):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": NS}, "spec": {}}


def test_an_object_if_served_is_applied_when_its_kind_is_served(cluster):
    ok([namespace()])
    result = ok(phases=[{"name": "components", "manifests": [configmap()], "if_served": [widget()]}])
    assert [o["action"] for o in result["objects"]] == ["created", "created"]
    assert "/apis/example.com/v1/namespaces/%s/widgets/w" % NS in cluster.objects


def test_an_object_if_served_is_left_out_when_its_kind_is_not(cluster):
    ok([namespace()])
    monitor = {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "m", "namespace": NS}}
    result = ok(phases=[{"name": "components", "manifests": [configmap()], "if_served": [monitor]}])
    assert [(o["kind"], o["action"]) for o in result["objects"]] == [("ConfigMap", "created")]
    assert not [r for r in cluster.requests if "monitoring.coreos.com" in r[1] and r[0] != "GET"]


def pool(name, labelled=True):
    obj = statefulset(name)
    obj["metadata"]["labels"] = {"flujo.airflow/worker-pool": name, "app.kubernetes.io/instance": "a"} if labelled else {}
    return obj


PRUNE = [{"apiVersion": "apps/v1", "kind": "StatefulSet", "namespace": NS,
          "label_selector": "flujo.airflow/worker-pool,app.kubernetes.io/instance=a"}]


def test_what_the_prune_selector_lists_and_the_phase_does_not_render_is_deleted(cluster):
    ok(phases=[{"name": "components", "manifests": [namespace(), pool("io"), pool("gpu"), pool("db", labelled=False)]}])
    sts = "/apis/apps/v1/namespaces/%s/statefulsets/" % NS
    result = ok(phases=[{"name": "components", "manifests": [namespace(), pool("io")], "prune": PRUNE}])
    assert sts + "gpu" not in cluster.objects and sts + "io" in cluster.objects and sts + "db" in cluster.objects
    assert result["changed"] is True and result["objects"][-1] == {
        "kind": "StatefulSet", "name": "gpu", "namespace": NS, "action": "deleted", "phase": "components"}
    del cluster.requests[:]
    again = ok(phases=[{"name": "components", "manifests": [namespace(), pool("io")], "prune": PRUNE}])
    assert again["changed"] is False
    assert [r[:3] for r in cluster.requests if r[1] == sts.rstrip("/")] == [
        ("GET", sts.rstrip("/"), {"labelSelector": PRUNE[0]["label_selector"]})]


def test_check_mode_reports_the_pruning_and_deletes_nothing(cluster):
    ok(phases=[{"name": "components", "manifests": [namespace(), pool("io"), pool("gpu")]}])
    result = ok(phases=[{"name": "components", "manifests": [namespace(), pool("io")], "prune": PRUNE}], check=True)
    assert result["changed"] is True and result["objects"][-1]["action"] == "deleted"
    assert "/apis/apps/v1/namespaces/%s/statefulsets/gpu" % NS in cluster.objects


def test_a_prune_entry_without_a_selector_is_named(cluster):
    out = failed(phases=[{"name": "components", "manifests": [namespace()],
                          "prune": [{"apiVersion": "apps/v1", "kind": "StatefulSet"}]}])
    assert out.result["msg"].startswith("phases[components].prune: apiVersion, kind, label_selector and namespace")


def failed_job():
    obj = job()
    obj["status"] = {"failed": 1, "conditions": [{"type": "Failed", "status": "True", "reason": "PodFailurePolicy"}]}
    return obj


def test_a_job_that_failed_before_runs_again(cluster):
    ok([namespace()])
    cluster.put(JOB_PATH, failed_job())
    result = ok([job()])
    assert result["objects"][0]["action"] == "created"
    writes = [r[:2] for r in cluster.writes()]
    assert writes[-2:] == [("DELETE", JOB_PATH), ("PATCH", JOB_PATH)]
    assert "status" not in cluster.objects[JOB_PATH]   # the new Job, not the failed one


def test_in_check_mode_a_failed_job_is_reported_and_kept(cluster):
    ok([namespace()])
    cluster.put(JOB_PATH, failed_job())
    result = ok([job()], check=True)
    assert result["changed"] is True and result["objects"][0]["action"] == "created"
    assert cluster.objects[JOB_PATH]["status"]["failed"] == 1


def with_claims(obj, *names, size="1Gi"):
    obj["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": n}, "spec": {"accessModes": ["ReadWriteOnce"],
                                           "resources": {"requests": {"storage": size}}}} for n in names]
    return obj


def test_a_statefulset_whose_claim_templates_change_is_replaced_keeping_its_pods(cluster):
    ok([namespace(), statefulset()])
    pods = "/api/v1/namespaces/%s/pods/" % NS
    cluster.put(pods + "db-0", {"metadata": {"name": "db-0"}, "spec": {"volumes": [{"name": "tmp", "emptyDir": {}}]}})
    cluster.put(pods + "db-1", {"metadata": {"name": "db-1"}, "spec": {"volumes": [
        {"name": "logs", "persistentVolumeClaim": {"claimName": "logs-db-1"}}]}})
    # the API server refuses a changed claim template in place: the module deletes (pods orphaned), then
    # creates; the pod without its claim (which the new StatefulSet could neither update nor roll) is deleted
    result = ok([with_claims(statefulset(), "logs")])
    assert [o["action"] for o in result["objects"]] == ["created"]
    deletes = [r[:3] for r in cluster.writes() if r[0] == "DELETE"]
    assert deletes == [("DELETE", STS_PATH, {"propagationPolicy": "Orphan"}), ("DELETE", pods + "db-0", {})]
    assert pods + "db-1" in cluster.objects
    assert cluster.objects[STS_PATH]["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "logs"
    # the same templates again: nothing deleted; another size of the same claim: replaced
    assert ok([with_claims(statefulset(), "logs")])["changed"] is False
    ok([with_claims(statefulset(), "logs", size="2Gi")])
    assert [r[1] for r in cluster.writes() if r[0] == "DELETE"][2:] == [STS_PATH]   # db-1 has its claim: kept


def test_check_mode_reports_the_replacement_and_deletes_nothing(cluster):
    ok([namespace(), statefulset()])
    result = ok([with_claims(statefulset(), "logs")], check=True)
    assert [o["action"] for o in result["objects"]] == ["updated"]
    assert "volumeClaimTemplates" not in cluster.objects[STS_PATH]["spec"]
    assert [r[2].get("dryRun") for r in cluster.requests if r[0] == "DELETE"] == ["All"]


def test_other_kinds_and_unchanged_templates_are_applied_in_place(cluster):
    ok([namespace(), with_claims(statefulset(), "data"), deployment()])
    ok([with_claims(statefulset(), "data"), deployment(image="img:2")])
    assert not [r for r in cluster.requests if r[0] == "DELETE"]


# --- a pod held back by its volume's node (a drained or lost node): fails at once, not at the timeout

def put_held_back_pod(cluster, ready_pod=False):
    """web-0 mounts claim data, bound to pvc-1 that only node n1 can mount; n1 is cordoned."""
    cluster.put("/api/v1/namespaces/%s/pods/web-0" % NS, {
        "metadata": {"name": "web-0", "labels": {"app": "web", "app.kubernetes.io/component": "metadata-database"}},
        "spec": {"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/2 nodes are available"},
                                                      {"type": "Ready", "status": "True" if ready_pod else "False"}]}})
    cluster.put("/api/v1/namespaces/%s/persistentvolumeclaims/data" % NS, {"metadata": {"name": "data"}, "spec": {"volumeName": "pvc-1"}})
    cluster.put("/api/v1/persistentvolumes/pvc-1", {"metadata": {"name": "pvc-1"}, "spec": {"nodeAffinity": {"required": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]}]}}}})
    for name, cordoned in (("n1", True), ("n2", False)):
        cluster.put("/api/v1/nodes/%s" % name, {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                                                "spec": {"unschedulable": cordoned},
                                                "status": {"conditions": [{"type": "Ready", "status": "True"}]}})


def test_a_pod_whose_volume_s_node_is_cordoned_fails_the_wait_at_once_saying_what_to_do(cluster, monkeypatch):
    monkeypatch.setattr(airflow_apply, "VOLUME_CHECK_EVERY", 0)
    ok([namespace()])
    put_held_back_pod(cluster)
    cluster.on_read[DEPLOY_PATH] = lambda obj: obj.update(status={"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1})
    out = failed([deployment()], wait=True, wait_timeout=600, wait_interval=0)
    msg = out.result["msg"]
    assert msg.startswith("Deployment %s/web cannot become ready: pod web-0 (PostgreSQL, " % NS)
    assert "its claim data is bound to volume pvc-1, which only node n1 can mount, and node n1 is cordoned" in msg
    assert "kubectl uncordon n1" in msg
    # two looks at the pods, the claim, volume and nodes read at each
    assert len([r for r in cluster.requests if r[1] == "/api/v1/nodes"]) == 2


def test_a_held_back_pod_seen_once_does_not_fail_the_wait(cluster, monkeypatch):
    monkeypatch.setattr(airflow_apply, "VOLUME_CHECK_EVERY", 0)
    ok([namespace()])
    put_held_back_pod(cluster)
    looks = []

    def uncordoned_later(obj):  # the node is uncordoned after the first look
        looks.append(1)
        if len(looks) > 1:
            obj["spec"]["unschedulable"] = False
    cluster.on_read["/api/v1/nodes/n1"] = uncordoned_later
    reads = []

    def controller(obj):
        reads.append(1)
        if len(reads) >= 4:
            ready(obj)
        else:
            obj.update(status={"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1})
    cluster.on_read[DEPLOY_PATH] = controller
    ok([deployment()], wait=True, wait_timeout=600, wait_interval=0)


def test_a_ready_rollout_never_looks_at_volumes(cluster, monkeypatch):
    monkeypatch.setattr(airflow_apply, "VOLUME_CHECK_EVERY", 0)
    ok([namespace()])
    put_held_back_pod(cluster, ready_pod=True)
    cluster.on_read[DEPLOY_PATH] = ready
    ok([deployment()], wait=True, wait_interval=0)
    assert not [r for r in cluster.requests if "/persistent" in r[1] or r[1] == "/api/v1/nodes"]
