# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetworkPolicies admit only Airflow pods to PostgreSQL and Redis: a pod outside that set cannot
open a TCP connection to either, a pod with the Airflow client labels can. The log servers of the
workers and the triggerer admit the api-server alone (it reads task logs there), not another Airflow
pod. Needs a CNI that enforces NetworkPolicy (kube-router on our kind cluster)."""

import time
import uuid

import pytest
from kubernetes import client

from helpers import NAMESPACE, kubectl

TARGETS = {"airflow-postgresql": 5432, "airflow-redis": 6379}
LOG_SERVERS = {"airflow-worker-0.airflow-worker": 8793, "airflow-triggerer-0.airflow-triggerer": 8794}
# A new pod is admitted only once the CNI has added it to the policy (a few seconds with kube-router):
# each target is tried for WINDOW seconds; "open" at the first connection, "closed" if none succeeded.
# The control case (an Airflow pod gets "open") shows the window is long enough to be fair.
WINDOW = 30
PROBE = """
import socket, sys, time
window = int(sys.argv[1])
for arg in sys.argv[2:]:
    host, port = arg.split(":")
    deadline, state = time.time() + window, "closed"
    while time.time() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
            state = "open"
            break
        except OSError:
            time.sleep(1)
    print(host, state)
"""


def allowed_client_labels(k8s):
    """The labels the NetworkPolicy of each target admits, read from the cluster."""
    net = client.NetworkingV1Api(k8s)
    labels = {}
    for name in TARGETS:
        policy = net.read_namespaced_network_policy(name, NAMESPACE)
        peers = [peer for rule in policy.spec.ingress for peer in rule._from]
        # the Airflow pods come first (PostgreSQL's policy also names PgBouncer's pods and KEDA's operator)
        assert peers and peers[0].pod_selector.match_labels and not peers[0].namespace_selector, (name, peers)
        labels.update(peers[0].pod_selector.match_labels)
    return labels


def probe(core, apps, labels):
    """Run a short-lived pod with these labels; return {service: 'open'|'closed'}."""
    scheduler = apps.read_namespaced_deployment("airflow-scheduler", NAMESPACE).spec.template.spec.containers[0]
    name = "flujo-netpol-probe-" + uuid.uuid4().hex[:6]
    args = ["%s:%d" % target for target in TARGETS.items()]
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=dict(labels, **{"flujo.airflow/test": "netpol"})),
        spec=client.V1PodSpec(
            restart_policy="Never",
            security_context=client.V1PodSecurityContext(run_as_non_root=True, run_as_user=50000),
            containers=[client.V1Container(
                name="probe", image=scheduler.image, image_pull_policy=scheduler.image_pull_policy,
                command=["python", "-c", PROBE, str(WINDOW)] + args,
                security_context=client.V1SecurityContext(
                    allow_privilege_escalation=False, read_only_root_filesystem=True,
                    capabilities=client.V1Capabilities(drop=["ALL"])))]))
    core.create_namespaced_pod(NAMESPACE, pod)
    try:
        deadline = time.time() + 120 + WINDOW * len(TARGETS)
        while core.read_namespaced_pod(name, NAMESPACE).status.phase not in ("Succeeded", "Failed"):
            assert time.time() < deadline, "probe pod %s did not finish" % name
            time.sleep(1)
        out = core.read_namespaced_pod_log(name, NAMESPACE)
    finally:
        core.delete_namespaced_pod(name, NAMESPACE, grace_period_seconds=0)
    return dict(line.split() for line in out.splitlines() if line.strip())


@pytest.fixture(scope="module")
def client_labels(k8s):
    return allowed_client_labels(k8s)


def test_a_pod_outside_airflow_cannot_reach_postgresql_or_redis(core, apps):
    assert probe(core, apps, {"app.kubernetes.io/name": "outsider"}) == {name: "closed" for name in TARGETS}


def test_an_airflow_pod_reaches_postgresql_and_redis(core, apps, client_labels):
    # the control case: without it, "closed" above could mean the services are simply down
    assert probe(core, apps, client_labels) == {name: "open" for name in TARGETS}


def probe_from(deployment):
    """PROBE run in a running pod of the deployment (a real Airflow pod, with its own labels)."""
    out = kubectl("exec", "deployment/" + deployment, "--", "python", "-c", PROBE, str(WINDOW),
                  *("%s:%d" % target for target in LOG_SERVERS.items())).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


def test_only_the_api_server_reaches_the_log_servers():
    assert probe_from("airflow-scheduler") == {host: "closed" for host in LOG_SERVERS}
    assert probe_from("airflow-api-server") == {host: "open" for host in LOG_SERVERS}   # and they are up
