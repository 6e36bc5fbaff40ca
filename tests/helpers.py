# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the integration tests, the render tests and the benchmarks share: the settings of the
deployment under test, the one playbook runner, the one REST API client, reading Secrets and
connection passwords. No fixtures here (they are in tests/integration/conftest.py), no pytest.

Importable as `helpers`: pytest.ini puts tests/ on the path; bench/bench.py adds it itself.
Settings (environment): AIRFLOW_KUBE_CONTEXT (default: current context), AIRFLOW_NAMESPACE
(airflow), AIRFLOW_SECRET_NAME, AIRFLOW_REDIS_SECRET_NAME, AIRFLOW_INVENTORY (inventory/kind).
"""

import base64
import json
import os
import re
import subprocess
import time
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import requests

REPO = Path(__file__).resolve().parents[1]
NAMESPACE = os.environ.get("AIRFLOW_NAMESPACE", "airflow")
CONTEXT = os.environ.get("AIRFLOW_KUBE_CONTEXT") or None
SECRET = os.environ.get("AIRFLOW_SECRET_NAME", "airflow-secrets")
REDIS_SECRET = os.environ.get("AIRFLOW_REDIS_SECRET_NAME", "airflow-redis-password")
JWT_SECRET = os.environ.get("AIRFLOW_JWT_SECRET_NAME", "airflow-jwt-secret")
JWT_KEY = "AIRFLOW__API_AUTH__JWT_SECRET"
USERS_SECRET = os.environ.get("AIRFLOW_USERS_SECRET_NAME", "airflow-users")
ALL_SECRETS = (SECRET, REDIS_SECRET, JWT_SECRET, USERS_SECRET)
INVENTORY = os.environ.get("AIRFLOW_INVENTORY", str(REPO / "inventory" / "kind"))


# --- playbooks

def run_playbook(playbook, *extra, inventory=INVENTORY, timeout=1800, env=None):
    """Run a playbook of this checkout (env: variables to add to the environment). Returns
    returncode, stdout, stderr, output (stdout + stderr, colours removed: under Molecule the
    errors go to stderr) and seconds (wall time, not rounded)."""
    overrides, env = env or {}, dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.update(overrides)
    t0 = time.time()
    run = subprocess.run(["ansible-playbook", playbook, "-i", inventory] + list(extra), cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.time() - t0
    output = re.sub(r"\x1b\[[0-9;]*m", "", run.stdout + run.stderr)
    return SimpleNamespace(returncode=run.returncode, stdout=run.stdout, stderr=run.stderr, output=output,
                           seconds=seconds)


def playbook_ok(playbook, *extra, **kwargs):
    """run_playbook, asserting success (the end of the output is the failure message)."""
    run = run_playbook(playbook, *extra, **kwargs)
    assert run.returncode == 0, run.output[-3000:]
    return run



def converge_with(tmp_path, *extra, json_results=False, **variables):
    """site.yml with VARIABLES (any JSON value, through a vars file: no shell quoting), asserted
    successful; json_results: one line of JSON per task result (messages never wrapped)."""
    path = tmp_path / "vars.json"
    path.write_text(json.dumps(variables))
    env = {"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"} if json_results else None
    return playbook_ok("site.yml", "-e", "@%s" % path, *extra, timeout=900, env=env)


def render_site(out, inventory, *extra):
    """Render mode: site.yml with inventory/INVENTORY writes every manifest to OUT, touching no
    cluster; the run (asserted successful)."""
    return playbook_ok("site.yml", "-e", "airflow_render_dir=%s" % out, *extra,
                       inventory=str(REPO / "inventory" / inventory), timeout=300)


def rendered_objects(out):
    """The manifests a render wrote to OUT, by (kind, name)."""
    import yaml
    return {(o["kind"], o["metadata"]["name"]): o for o in (yaml.safe_load(p.read_text()) for p in out.glob("*.yaml"))}


def validate_schemas(paths):
    """kubernetes-validate (Kubernetes 1.35 schemas, strict) of manifest files; the CompletedProcess."""
    return subprocess.run(["kubernetes-validate", "-k", "1.35.0", "--strict", "--quiet"] + [str(p) for p in paths],
                          capture_output=True, text=True, check=False)


def go_module_dir(module, toolchain="local"):
    """The directory of MODULE@VERSION in the Go module cache (downloaded from the proxy when missing)."""
    out = subprocess.run(["go", "mod", "download", "-json", module], capture_output=True, text=True, check=False,
                         env=dict(os.environ, GOFLAGS="-mod=mod", GOTOOLCHAIN=toolchain))
    directory = json.loads(out.stdout or "{}").get("Dir")
    assert directory, out.stdout + out.stderr
    return directory


# --- the cluster

def kubectl(*args, check=True, **kwargs):
    """kubectl in the namespace under test; the CompletedProcess (text, output captured)."""
    cmd = ["kubectl"] + (["--context", CONTEXT] if CONTEXT else []) + ["-n", NAMESPACE] + list(args)
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kwargs)


def core_api():
    """A CoreV1Api for the context under test (for code without the fixtures)."""
    from kubernetes import client, config
    config.load_kube_config(context=CONTEXT)
    return client.CoreV1Api(client.ApiClient())


def pod_of(core, component):
    """The name of a running pod of an Airflow component (its app.kubernetes.io/component label)."""
    pods = core.list_namespaced_pod(
        NAMESPACE, label_selector="app.kubernetes.io/component=%s" % component).items
    running = [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
    assert running, "no running pod for component %s" % component
    return running[0].metadata.name


def psql(core, sql):
    """One query in the PostgreSQL pod (as the airflow user), rows as text."""
    return kubectl("exec", pod_of(core, "metadata-database"), "-c", "postgresql", "--", "sh", "-c",
                   'psql -U "$AIRFLOW_DB_USER" -d "$AIRFLOW_DB_NAME" -tA -c "%s"' % sql).stdout.strip()


class ServerConnections:
    """Samples, twice a second until stop(), the client connections PostgreSQL serves (other than the
    sampler's own) and the addresses they come from, from inside the PostgreSQL pod."""

    QUERY = ("SELECT count(*) || ' ' || coalesce(string_agg(DISTINCT host(client_addr), ','), '') FROM pg_stat_activity "
             "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")

    def __init__(self, core):
        script = 'while :; do psql -U "$AIRFLOW_DB_USER" -d "$AIRFLOW_DB_NAME" -tA -c "%s"; sleep 0.5; done' % self.QUERY
        cmd = (["kubectl"] + (["--context", CONTEXT] if CONTEXT else []) + ["-n", NAMESPACE, "exec", pod_of(core, "metadata-database"),
               "-c", "postgresql", "--", "sh", "-c", script])
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def stop(self):
        """[(connections, {client addresses})] of every sample."""
        self.process.terminate()
        out, _ = self.process.communicate(timeout=30)
        samples = []
        for line in out.splitlines():
            count, _, addresses = line.strip().partition(" ")
            if count.isdigit():
                samples.append((int(count), set(filter(None, addresses.split(",")))))
        return samples


def object_version(meta):
    """What changes when someone changes the object. Workloads: the generation (their spec) and
    their labels and annotations, not resourceVersion, which their controllers bump with every
    status update (a pod turning ready). Everything else: resourceVersion."""
    if meta.generation:
        return meta.generation, str(meta.labels), str(meta.annotations)
    return meta.resource_version


def namespace_snapshot(k8s):
    """Every object of the namespace with its version: equal snapshots mean nothing changed."""
    from kubernetes import client
    core, apps, batch = client.CoreV1Api(k8s), client.AppsV1Api(k8s), client.BatchV1Api(k8s)
    networking, policy = client.NetworkingV1Api(k8s), client.PolicyV1Api(k8s)
    listers = [core.list_namespaced_config_map, core.list_namespaced_secret, core.list_namespaced_service,
               core.list_namespaced_service_account, core.list_namespaced_persistent_volume_claim,
               apps.list_namespaced_deployment, apps.list_namespaced_stateful_set, batch.list_namespaced_job,
               batch.list_namespaced_cron_job, networking.list_namespaced_network_policy,
               networking.list_namespaced_ingress, policy.list_namespaced_pod_disruption_budget]
    return {(lister.__name__, o.metadata.name): object_version(o.metadata)
            for lister in listers for o in lister(NAMESPACE).items}


# --- Secrets

def read_secret(core, name):
    """The decoded data of a Secret of the namespace."""
    obj = core.read_namespaced_secret(name, NAMESPACE)
    return {k: base64.b64decode(v).decode() for k, v in (obj.data or {}).items()}


def admin_password(core):
    return read_secret(core, SECRET)["AIRFLOW_ADMIN_PASSWORD"]


def secret_values(core):
    """Every secret value of our Secrets, and the long parts of comma-separated ones (a Fernet
    key list): what must never appear in output, ConfigMaps or logs."""
    values = set()
    for name in ALL_SECRETS:
        for key, value in read_secret(core, name).items():
            if key != "AIRFLOW_DB_USER":  # the user name is not a secret
                values.add(value)
                values.update(part for part in value.split(",") if len(part) > 8)
    return values


def secret_versions(core, names=ALL_SECRETS):
    """{name: (uid, resourceVersion)} of the Secrets: any write or re-creation changes it."""
    versions = {}
    for name in names:
        meta = core.read_namespaced_secret(name, NAMESPACE).metadata
        versions[name] = (meta.uid, meta.resource_version)
    return versions


def assert_secrets_unchanged(core, before):
    """Each Secret of before (from secret_versions) is the same object, never written since."""
    for name, version in before.items():
        assert secret_versions(core, [name])[name] == version, name


def connection_password(core, conn_id):
    """A connection's password as Airflow decrypts it, read in the scheduler pod."""
    got = kubectl("exec", pod_of(core, "scheduler"), "-c", "scheduler", "--",
                  "airflow", "connections", "get", conn_id, "-o", "json").stdout
    return json.loads(got)[0]["password"]


# --- the REST API

class Api:
    """The Airflow REST API as one user (admin by default).

    call(): JSON calls that ride out restarts: retries connection errors and 5xx for two minutes,
    logs in again on 401; any other client error fails. raw(): one request, its Response as it
    came (for tests of single responses: status codes, refusals, log text)."""

    def __init__(self, url, password=None, user="admin"):
        self.url, self.user, self.password, self.token = url.rstrip("/"), user, password, None

    def login(self, timeout=30):
        """POST /auth/token once; keeps the token on success. Returns the Response."""
        resp = requests.post(self.url + "/auth/token", json={"username": self.user, "password": self.password},
                             timeout=timeout)
        if resp.ok:
            self.token = resp.json()["access_token"]
        return resp

    def headers(self):
        if not self.token:
            resp = self.login()
            assert resp.status_code == 201, resp.text
        return {"Authorization": "Bearer " + self.token}

    def raw(self, method, path, auth=True, timeout=30, **kwargs):
        """One request (with the token unless auth=False); the Response, whatever its status."""
        if auth:
            kwargs["headers"] = dict(kwargs.get("headers") or {}, **self.headers())
        return requests.request(method, self.url + path, timeout=timeout, **kwargs)

    def call(self, method, path, **kwargs):
        """The JSON answer of a request, retried while the api-server or the database restarts."""
        for dummy in range(120):  # the api-server or the database may be restarting
            try:
                if not self.token:
                    self.login(timeout=10).raise_for_status()
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

    def deliver(self, source, *dag_ids, timeout=180):
        """Sync the DAG folder source into the deployment (playbooks/dags.yml), then wait until
        every one of dag_ids is parsed and listed."""
        playbook_ok("playbooks/dags.yml", "-e", "airflow_dags_source=%s" % source)

        def listed(dag_id):  # one DAG at a time: a listing is cut at the API's page limit (100)
            try:
                return self.raw("GET", "/api/v2/dags/%s" % dag_id).status_code == 200
            except requests.RequestException:   # the api-server restarting
                return False
        deadline = time.time() + timeout
        while True:
            missing = sorted(d for d in dag_ids if not listed(d))
            if not missing:
                return
            assert time.time() < deadline, "not parsed after %d s: %s" % (timeout, ", ".join(missing))
            time.sleep(2)

    def trigger(self, dag_id):
        """Start a run of dag_id now; returns the run's API path."""
        run = self.call("POST", "/api/v2/dags/%s/dagRuns" % dag_id, json={"logical_date": None})
        return "/api/v2/dags/%s/dagRuns/%s" % (dag_id, urllib.parse.quote(run["dag_run_id"], safe=""))

    def wait(self, run_path, timeout=600, poll=2):
        """The run's final state (success or failed), or its state when the time is up."""
        deadline = time.time() + timeout
        while True:
            state = self.call("GET", run_path)["state"]
            if state in ("success", "failed") or time.time() > deadline:
                return state
            time.sleep(poll)
