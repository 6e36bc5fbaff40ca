# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for verifying a deployed flujo.airflow on any cluster (what they share without
fixtures is in tests/helpers.py).

Run by Molecule's testinfra verifier, or directly:
  AIRFLOW_KUBE_CONTEXT=kind-flujo AIRFLOW_NAMESPACE=airflow pytest tests/integration
Settings (environment): AIRFLOW_KUBE_CONTEXT (default: current context), AIRFLOW_NAMESPACE
(airflow), AIRFLOW_URL (default: a kubectl port-forward to the api-server Service),
AIRFLOW_INVENTORY (inventory for the tests that run playbooks, default inventory/kind),
FLUJO_TEST_FAILURES (a file each failed test appends a line to, for hack/test.sh's last lines).
"""

import os
import socket
import subprocess
import time

import pytest
import requests
import testinfra
from kubernetes import client, config

from helpers import CONTEXT, NAMESPACE, REDIS_SECRET, SECRET, Api, admin_password, pod_of, read_secret


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


@pytest.fixture
def secrets(core):
    return {SECRET: read_secret(core, SECRET), REDIS_SECRET: read_secret(core, REDIS_SECRET)}


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
    resp = Api(api_url, admin[1], user=admin[0]).login()
    assert resp.status_code == 201, resp.text
    return resp.json()["access_token"]


@pytest.fixture(scope="module")
def api(api_url, core):
    """helpers.Api as admin, logged in at its first request."""
    return Api(api_url, admin_password(core))


@pytest.fixture
def airflow_api(api_url, token):
    import airflow_client.client as af
    conf = af.Configuration(host=api_url, access_token=token)
    return af.ApiClient(conf)


def pytest_runtest_logreport(report):
    """A failed test appends its name and the first line of its error to $FLUJO_TEST_FAILURES:
    hack/test.sh prints them as its last lines, where a CI log cut to its tail still shows them."""
    path = os.environ.get("FLUJO_TEST_FAILURES")
    if not path or not report.failed:
        return
    crash = getattr(report.longrepr, "reprcrash", None)
    message = (crash.message if crash else str(report.longrepr)).strip().splitlines() or [""]
    scenario = os.environ.get("MOLECULE_SCENARIO_NAME", "pytest")
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{scenario}: {report.nodeid} ({report.when}): {message[0][:300]}\n")
