# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for verifying a deployed flujo.airflow on any cluster.

Run by Molecule's testinfra verifier, or directly:
  AIRFLOW_KUBE_CONTEXT=kind-flujo AIRFLOW_NAMESPACE=airflow pytest tests/integration
Settings (environment): AIRFLOW_KUBE_CONTEXT (default: current context), AIRFLOW_NAMESPACE
(airflow), AIRFLOW_URL (default: a kubectl port-forward to the api-server Service),
AIRFLOW_INVENTORY (inventory for the tests that run playbooks, default inventory/kind).
"""

import base64
import os
import re
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import testinfra
from kubernetes import client, config

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = os.environ.get("AIRFLOW_NAMESPACE", "airflow")
CONTEXT = os.environ.get("AIRFLOW_KUBE_CONTEXT") or None
SECRET = os.environ.get("AIRFLOW_SECRET_NAME", "airflow-secrets")
REDIS_SECRET = os.environ.get("AIRFLOW_REDIS_SECRET_NAME", "airflow-redis-password")
INVENTORY = os.environ.get("AIRFLOW_INVENTORY", str(REPO / "inventory" / "kind"))


def run_playbook(playbook, *extra, inventory=INVENTORY, timeout=1800):
    """Run a playbook of this checkout. Returns returncode, output (stdout + stderr, colours removed:
    under Molecule the errors go to stderr) and seconds."""
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    t0 = time.time()
    run = subprocess.run(["ansible-playbook", playbook, "-i", inventory] + list(extra), cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=timeout, check=False)
    output = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + run.stderr)
    return SimpleNamespace(returncode=run.returncode, output=output, seconds=round(time.time() - t0, 1))


def playbook_ok(playbook, *extra, **kwargs):
    """run_playbook, asserting success (the end of the output is the failure message)."""
    run = run_playbook(playbook, *extra, **kwargs)
    assert run.returncode == 0, run.output[-3000:]
    return run


def kubectl(*args, check=True, **kwargs):
    cmd = ["kubectl"] + (["--context", CONTEXT] if CONTEXT else []) + ["-n", NAMESPACE] + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kwargs)


class Api:
    """The REST API as admin, riding out restarts: retries connection errors and 5xx for two minutes."""
    def __init__(self, url, password):
        self.url, self.password, self.token = url, password, None

    def call(self, method, path, **kwargs):
        for dummy in range(120):  # the api-server or the database may be restarting
            try:
                if not self.token:
                    resp = requests.post(self.url + "/auth/token", json={"username": "admin", "password": self.password},
                                         timeout=10)
                    resp.raise_for_status()
                    self.token = resp.json()["access_token"]
                resp = requests.request(method, self.url + path, headers={"Authorization": "Bearer " + self.token},
                                        timeout=10, **kwargs)
            except requests.RequestException:
                time.sleep(1)
                continue
            if resp.status_code == 401:  # a token from before a restore or a key change: log in again
                self.token = None
            elif resp.status_code >= 500:
                time.sleep(1)
            else:
                resp.raise_for_status()  # any other client error is the test's failure
                return resp.json() if resp.content else None
        raise RuntimeError("%s %s kept failing" % (method, path))

    def trigger(self, dag_id):
        """Start a run of dag_id now; returns the run's API path."""
        run = self.call("POST", "/api/v2/dags/%s/dagRuns" % dag_id, json={"logical_date": None})
        return "/api/v2/dags/%s/dagRuns/%s" % (dag_id, urllib.parse.quote(run["dag_run_id"], safe=""))

    def wait(self, run_path, timeout=600):
        """The run's final state (success or failed), or its state when the time is up."""
        deadline = time.time() + timeout
        while True:
            state = self.call("GET", run_path)["state"]
            if state in ("success", "failed") or time.time() > deadline:
                return state
            time.sleep(2)


@pytest.fixture(scope="session")
def k8s():
    config.load_kube_config(context=CONTEXT)
    return client.ApiClient()


@pytest.fixture(scope="session")
def core(k8s):
    return client.CoreV1Api(k8s)


@pytest.fixture(scope="session")
def apps(k8s):
    return client.AppsV1Api(k8s)


def read_secret(core, name):
    obj = core.read_namespaced_secret(name, NAMESPACE)
    return {k: base64.b64decode(v).decode() for k, v in (obj.data or {}).items()}


@pytest.fixture
def secrets(core):
    return {SECRET: read_secret(core, SECRET), REDIS_SECRET: read_secret(core, REDIS_SECRET)}


def pod_of(core, component):
    pods = core.list_namespaced_pod(
        NAMESPACE, label_selector="app.kubernetes.io/component=%s" % component).items
    running = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
    assert running, "no running pod for component %s" % component
    return running[0].metadata.name


@pytest.fixture(scope="session")
def pod_host(core):
    """pod_host(component, container) -> a testinfra host inside that component's pod."""
    def get(component, container=None):
        url = "kubectl://%s?namespace=%s&container=%s" % (pod_of(core, component), NAMESPACE, container or component)
        if CONTEXT:
            url += "&context=%s" % CONTEXT
        return testinfra.get_host(url)
    return get


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def api_url():
    if os.environ.get("AIRFLOW_URL"):
        yield os.environ["AIRFLOW_URL"].rstrip("/")
        return
    port = free_port()
    cmd = ["kubectl"] + (["--context", CONTEXT] if CONTEXT else []) + [
        "-n", NAMESPACE, "port-forward", "svc/airflow-api-server", "%d:8080" % port]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port
    for dummy in range(60):
        try:
            requests.get(url + "/api/v2/version", timeout=2)
            break
        except requests.RequestException:
            time.sleep(0.5)
    yield url
    proc.terminate()


@pytest.fixture
def admin(secrets):
    return "admin", secrets[SECRET]["AIRFLOW_ADMIN_PASSWORD"]


@pytest.fixture
def token(api_url, admin):
    resp = requests.post(api_url + "/auth/token", json={"username": admin[0], "password": admin[1]}, timeout=30)
    assert resp.status_code == 201, resp.text
    return resp.json()["access_token"]


@pytest.fixture
def airflow_api(api_url, token):
    import airflow_client.client as af
    conf = af.Configuration(host=api_url, access_token=token)
    return af.ApiClient(conf)
