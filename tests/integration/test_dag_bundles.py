# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DAGs without a shared volume: a git DAG bundle (airflow_dag_bundles) served by a real git server
in the cluster (local/git-server:1, hack/images/git-server: git http-backend behind basic auth).

Pushes commits with a new DAG over HTTP, measures the time from the push to the DAG listed at the
pushed commit (runnable: a trigger creates a run of that version) and to its run's success, and
checks that the run's bundle version is the commit and that its tasks ran on workers of two
different nodes. Then converges back to the inventory (the dags volume again).

Needs a cluster of two worker nodes and two workers (inventory/kind-multinode, marker multinode:
molecule/multinode runs it) for the node check; on one node set FLUJO_BUNDLE_NODES=1 and -m
multinode. FLUJO_BUNDLE_PUSHES (3) pushes are measured with a refresh interval of
FLUJO_BUNDLE_REFRESH (10) s; the figures go to the file FLUJO_BUNDLE_RESULTS names, if any
(bench/results/dag_bundles.json holds the last measured ones)."""

import base64
import json
import os
import secrets
import statistics
import subprocess
import time
import urllib.parse

import pytest

from helpers import CONTEXT, REPO, converge_with, kubectl, run_playbook

pytestmark = pytest.mark.multinode

GIT_NS = "flujo-git"
GIT_USER = "flujo"
BUNDLE = "flujo-git"
REFRESH = int(os.environ.get("FLUJO_BUNDLE_REFRESH", "10"))
PUSHES = int(os.environ.get("FLUJO_BUNDLE_PUSHES", "3"))
NODES = int(os.environ.get("FLUJO_BUNDLE_NODES", "2"))
REPO_URL = "http://git-server.%s.svc.cluster.local:8080/dags.git" % GIT_NS

DAG = '''\
import socket
import time
from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False,
     is_paused_upon_creation=False, tags=["flujo-bundle"])
def probe():
    @task(retries=0)
    def where(i):
        time.sleep(4)
        print("{dag_id} part %d on %s" % (i, socket.gethostname()))
        return socket.gethostname()

    where.expand(i=list(range(6)))


probe()
'''


def git_kubectl(*args, **kwargs):
    cmd = ["kubectl"] + (["--context", CONTEXT] if CONTEXT else []) + ["-n", GIT_NS] + list(args)
    return subprocess.run(cmd, check=kwargs.pop("check", True), capture_output=True, text=True, **kwargs)


def git_server(password):
    labels = {"app.kubernetes.io/name": "git-server"}
    return {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": GIT_NS}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "git-server", "namespace": GIT_NS},
         "stringData": {"user": GIT_USER, "password": password}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "git-server", "namespace": GIT_NS, "labels": labels},
         "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
             "automountServiceAccountToken": False,
             "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 0, "fsGroup": 0,
                                 "seccompProfile": {"type": "RuntimeDefault"}},
             "containers": [{
                 "name": "git-server", "image": "local/git-server:1", "imagePullPolicy": "Never",
                 "env": [{"name": "GIT_SERVER_REPOS", "value": "dags"},
                         {"name": "GIT_SERVER_USER", "valueFrom": {"secretKeyRef": {"name": "git-server", "key": "user"}}},
                         {"name": "GIT_SERVER_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "git-server", "key": "password"}}}],
                 "ports": [{"containerPort": 8080}],
                 "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 2},
                 "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                     "capabilities": {"drop": ["ALL"]}},
                 "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "256Mi"}},
                 "volumeMounts": [{"name": "repos", "mountPath": "/srv/git"}, {"name": "tmp", "mountPath": "/tmp"}]}],
             "volumes": [{"name": "repos", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "git-server", "namespace": GIT_NS},
         "spec": {"selector": labels, "ports": [{"port": 8080, "targetPort": 8080}]}},
    ]}


class Hidden(str):
    """A password that pytest's tracebacks show as *** (they print the fixtures' values)."""

    def __repr__(self):
        return "'***'"


@pytest.fixture
def git_password():
    """The git server, up with an empty repository dags.git; its password (characters a URI must
    quote). Removed afterwards."""
    password = Hidden(secrets.token_urlsafe(18) + "/+@:")
    git_kubectl("wait", "--for=delete", "namespace/%s" % GIT_NS, "--timeout=180s", check=False)  # an earlier run's
    git_kubectl("apply", "-f", "-", input=json.dumps(git_server(password)))
    try:
        git_kubectl("rollout", "status", "deployment/git-server", "--timeout=180s")
        yield password
    finally:
        git_kubectl("delete", "namespace", GIT_NS, "--ignore-not-found", "--timeout=180s", check=False)


@pytest.fixture
def git_remote(git_password, tmp_path):
    """A local clone's push(): commit a new DAG file, push it over HTTP with basic auth (through a
    port-forward to the server), return its commit. The password travels in a header, never a URL."""
    port_forward = subprocess.Popen(["kubectl"] + (["--context", CONTEXT] if CONTEXT else []) + [
        "-n", GIT_NS, "port-forward", "svc/git-server", "0:8080"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = port_forward.stdout.readline()   # Forwarding from 127.0.0.1:PORT -> 8080
    port = int(line.split("127.0.0.1:")[1].split()[0])
    work = tmp_path / "dags-repo"
    header = "Authorization: Basic " + base64.b64encode(("%s:%s" % (GIT_USER, git_password)).encode()).decode()

    def git(*args):
        run = subprocess.run(["git", "-C", str(work), "-c", "http.extraHeader=" + header, "-c", "user.name=flujo test",
                              "-c", "user.email=test@flujo.invalid"] + list(args), capture_output=True, text=True, check=False)
        assert run.returncode == 0, (args[0], run.stderr.replace(git_password, "***"))
        return run.stdout.strip()

    (work / "dags").mkdir(parents=True)
    git("init", "-q", "--initial-branch=main")
    git("remote", "add", "origin", "http://127.0.0.1:%d/dags.git" % port)

    def push(dag_id):
        (work / "dags" / ("%s.py" % dag_id)).write_text(DAG.format(dag_id=dag_id))
        git("add", "-A")
        git("commit", "-q", "-m", "add %s" % dag_id)
        git("push", "-q", "origin", "main")
        return git("rev-parse", "HEAD")
    try:
        yield push
    finally:
        port_forward.terminate()


def converge(tmp_path, password, **variables):
    """site.yml with VARIABLES (a vars file: the password in no command line); on a failure the
    message from its first failed task on (never the password)."""
    path = tmp_path / "bundle-vars.json"
    path.write_text(json.dumps(variables))
    run = run_playbook("site.yml", "-e", "@%s" % path, timeout=900)
    failed = run.stdout.find("fatal:")
    assert run.returncode == 0, (run.stdout[failed:failed + 4000] if failed >= 0 else run.output[-4000:]).replace(password, "***")
    return run


def wait_listed(api, dag_id, commit, timeout=300):
    """Seconds until the API lists dag_id at the given bundle version (polls every 0.5 s)."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        resp = api.raw("GET", "/api/v2/dags/%s" % dag_id)
        if resp.status_code == 200 and resp.json().get("bundle_version") == commit:
            return time.time() - t0
        time.sleep(0.5)
    raise AssertionError("%s at %s not listed after %d s" % (dag_id, commit[:12], timeout))


def nodes_of_run(api, run_path):
    """{pod: node} of the workers that ran the run's tasks."""
    tis = api.call("GET", run_path + "/taskInstances?limit=100")["task_instances"]
    pods = {ti["hostname"].split(".")[0] for ti in tis if ti.get("hostname")}   # the pod's FQDN (its Service)
    return {pod: kubectl("get", "pod", pod, "-o", "jsonpath={.spec.nodeName}").stdout for pod in sorted(pods)}


def test_git_bundle_push_to_runnable_on_two_nodes(api, tmp_path, git_password, git_remote):
    first = git_remote("flujo_bundle_0")   # the branch exists before the bundle's first clone
    bundle = {"name": BUNDLE, "repo_url": REPO_URL, "tracking_ref": "main", "subdir": "dags",
              "username": GIT_USER, "password": git_password}
    results = {"refresh_interval": REFRESH, "pushes": []}
    try:
        run = converge(tmp_path, git_password, airflow_dag_bundles=[bundle], airflow_dag_bundles_refresh_interval=REFRESH)
        assert git_password not in run.output and urllib.parse.quote(git_password, safe="") not in run.output
        results["converge_seconds"] = round(run.seconds, 1)

        # the connection only in the Secret, only in the pods that clone; no dags volume anywhere
        assert git_password not in kubectl("get", "configmap", "airflow-config", "-o", "json").stdout
        pods = json.loads(kubectl("get", "pods", "-l", "app.kubernetes.io/name=airflow", "-o", "json").stdout)["items"]
        for pod in pods:
            component = pod["metadata"]["labels"].get("app.kubernetes.io/component", "")
            if pod["status"].get("phase") != "Running" or "job-name" in pod["metadata"]["labels"]:
                continue
            conns = [e["name"] for c in pod["spec"]["containers"] for e in c.get("env", []) if e["name"].startswith("AIRFLOW_CONN_FLUJO_DAG")]
            assert bool(conns) == (component in ("dag-processor", "worker")), (pod["metadata"]["name"], conns)
            assert not [v for v in pod["spec"]["volumes"] if v["name"] == "dags"], pod["metadata"]["name"]

        wait_listed(api, "flujo_bundle_0", first, timeout=300)   # the first clone, at the dag-processor's start
        nodes = {}
        for index in range(1, PUSHES + 1):
            dag_id = "flujo_bundle_%d" % index
            t_push = time.time()
            commit = git_remote(dag_id)
            pushed = time.time() - t_push
            listed = wait_listed(api, dag_id, commit)
            t_trigger = time.time()
            run_path = api.trigger(dag_id)
            state = api.wait(run_path, timeout=600, poll=1)
            done = time.time() - t_trigger
            assert state == "success", (dag_id, state)
            dag_run = api.call("GET", run_path)
            assert dag_run["bundle_version"] == commit, (dag_run["bundle_version"], commit)
            ran_on = nodes_of_run(api, run_path)
            nodes.update(ran_on)
            # from the start of the push (commit and git push through the port-forward: about 2 s)
            results["pushes"].append({"dag_id": dag_id, "commit": commit[:12], "push_seconds": round(pushed, 2),
                                      "push_to_runnable_seconds": round(pushed + listed, 1),
                                      "pushed_to_runnable_seconds": round(listed, 1),
                                      "trigger_to_success_seconds": round(done, 1),
                                      "push_to_success_seconds": round(pushed + listed + done, 1), "workers": ran_on})
        results["push_to_runnable_median_seconds"] = statistics.median(p["push_to_runnable_seconds"] for p in results["pushes"])
        results["worker_nodes"] = sorted(set(nodes.values()))
        print(json.dumps(results, indent=1))
        assert len(set(nodes.values())) >= NODES, nodes

        # dags.yml: with only git bundles a source is refused before anything is copied; without one
        # it fetches and parses the bundles at once and reports the commit
        bundle_vars = "@%s" % (tmp_path / "bundle-vars.json")   # the inventory of this deployment
        refused = run_playbook("playbooks/dags.yml", "-e", bundle_vars, "-e", "airflow_dags_source=%s" % (REPO / "examples" / "dags"))
        assert refused.returncode != 0 and "has no dags volume to copy into" in refused.output, refused.output[-1500:]
        # and an inventory that does not know the bundles finds the pod without the volume
        unaware = run_playbook("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % (REPO / "examples" / "dags"))
        assert unaware.returncode != 0 and "mounts no dags volume" in unaware.output, unaware.output[-1500:]
        dag_id = "flujo_bundle_%d" % (PUSHES + 1)
        t_push = time.time()
        commit = git_remote(dag_id)
        refreshed = run_playbook("playbooks/dags.yml", "-e", bundle_vars)
        assert refreshed.returncode == 0, refreshed.output[-3000:]
        assert "%s at %s" % (BUNDLE, commit[:12]) in refreshed.output and dag_id in refreshed.output, refreshed.output[-2000:]
        assert git_password not in refreshed.output
        results["dags_yml_push_to_listed_seconds"] = round(time.time() - t_push, 1)
        if os.environ.get("FLUJO_BUNDLE_RESULTS"):
            with open(os.environ["FLUJO_BUNDLE_RESULTS"], "w", encoding="utf-8") as out:
                json.dump(results, out, indent=1)
    finally:
        converge_with(tmp_path)   # back to the inventory: the dags volume, the bundles' Secret removed
    assert kubectl("get", "secret", "airflow-dag-bundles", check=False).returncode != 0
