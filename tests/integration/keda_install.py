# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real KEDA on the kind cluster, for the autoscaling test: its operator and metrics API server as
built from the Go module proxy by hack/kind/45-addon-images.sh (local/keda, local/keda-adapter), with
the CRDs of the same release (kept beside the binaries). The operator makes its own certificates
(kedaorg-certs) and puts their CA into the external metrics APIService.

A test stand-in, not an install guide: its ServiceAccount is bound to cluster-admin, where KEDA's
own chart grants a narrower role. Installed once per cluster and left there."""

import glob
import json
import os
import subprocess

from helpers import CONTEXT, REPO

NAMESPACE = "keda"
OPERATOR_LABELS = {"app": "keda-operator"}          # what KEDA's own manifests and chart label the operator with
ADAPTER_LABELS = {"app": "keda-metrics-apiserver"}


def keda_kubectl(*args, **kwargs):
    cmd = ["kubectl"] + (["--context", CONTEXT] if CONTEXT else []) + list(args)
    return subprocess.run(cmd, check=kwargs.pop("check", True), capture_output=True, text=True, **kwargs)


def build_dir():
    """$BIN_DIR/keda-VERSION of hack/kind: the version built there, and its CRDs."""
    bin_dir = subprocess.run(["bash", "-c", "source hack/kind/lib.sh; echo $BIN_DIR"], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout.strip()
    built = sorted(d for d in glob.glob(os.path.join(bin_dir, "keda-v*")) if os.path.exists(os.path.join(d, ".done")))
    assert built, "KEDA is not built: run hack/kind/45-addon-images.sh"
    return built[-1]


def container(name, image, args, port, probe_scheme):
    probe = {"httpGet": {"path": "/readyz", "port": port, "scheme": probe_scheme}, "periodSeconds": 5}
    return {"name": name, "image": image, "imagePullPolicy": "Never", "args": args,
            "env": [{"name": "WATCH_NAMESPACE", "value": ""},
                    {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
            "readinessProbe": probe,
            "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}},
            "volumeMounts": [{"name": "certs", "mountPath": "/certs", "readOnly": True},
                             {"name": "tmp", "mountPath": "/tmp"}]}


def deployment(name, labels, main):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "serviceAccountName": "keda-operator",
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [main],
                "volumes": [{"name": "certs", "secret": {"secretName": "kedaorg-certs", "optional": True}},
                            {"name": "tmp", "emptyDir": {}}]}}}}


def manifests(version):
    operator = container("keda-operator", "local/keda:%s" % version,
                         ["--leader-elect=false", "--enable-cert-rotation=true", "--enable-webhook-patching=false",
                          "--zap-log-level=info"], 8081, "HTTP")
    adapter = container("keda-metrics-apiserver", "local/keda-adapter:%s" % version,
                        ["--secure-port=6443", "--cert-dir=/certs", "--client-ca-file=/certs/ca.crt",
                         "--tls-cert-file=/certs/tls.crt", "--tls-private-key-file=/certs/tls.key"], 6443, "HTTPS")
    return {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "keda-operator", "namespace": NAMESPACE}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "flujo-keda-stand-in"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "ServiceAccount", "name": "keda-operator", "namespace": NAMESPACE}]},
        deployment("keda-operator", OPERATOR_LABELS, operator),
        deployment("keda-metrics-apiserver", ADAPTER_LABELS, adapter),
        # the metrics API server asks the operator for the scalers' values (gRPC, port 9666)
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "keda-operator", "namespace": NAMESPACE},
         "spec": {"selector": OPERATOR_LABELS, "ports": [{"name": "metricsservice", "port": 9666, "targetPort": 9666}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "keda-metrics-apiserver", "namespace": NAMESPACE},
         "spec": {"selector": ADAPTER_LABELS, "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}},
        {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "v1beta1.external.metrics.k8s.io"},
         "spec": {"service": {"name": "keda-metrics-apiserver", "namespace": NAMESPACE}, "group": "external.metrics.k8s.io",
                  "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100}},
    ]}


def install():
    """KEDA's CRDs, operator and metrics API server, Ready (again: nothing changes when they are);
    the version."""
    built = build_dir()
    version = os.path.basename(built)[len("keda-"):]
    keda_kubectl("apply", "--server-side", "--force-conflicts", "-f", os.path.join(built, "crds"))
    objects = manifests(version)["items"]
    keda_kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects[:-1]}))
    for name in ("keda-operator", "keda-metrics-apiserver"):
        keda_kubectl("-n", NAMESPACE, "rollout", "status", "deployment/" + name, "--timeout=300s")
    # The APIService once the metrics API server serves: checked while that server was still starting,
    # it was seen answering 404 to the API server's checks until the API server restarted (1.35.4)
    keda_kubectl("apply", "-f", "-", input=json.dumps(objects[-1]))
    waited = keda_kubectl("wait", "--for=condition=Available", "apiservice/v1beta1.external.metrics.k8s.io",
                          "--timeout=180s", check=False)
    if waited.returncode:  # say why (the API server's last check), not just that the wait timed out
        why = keda_kubectl("get", "apiservice/v1beta1.external.metrics.k8s.io", "-o",
                           "jsonpath={.status.conditions[0].message}", check=False).stdout
        raise AssertionError("KEDA's external metrics APIService is not Available after 180 s: %s" % why)
    return version


def remove_scaled_object_api():
    """Take KEDA's ScaledObject API away (its CRD), as on a cluster without KEDA; install() brings it
    back (the operator's watch picks it up again). KEDA itself stays: its external metrics APIService,
    deleted and made again, was seen to stay unavailable (the API server's checks answered 404) until
    the API server restarted (1.35.4)."""
    keda_kubectl("delete", "crd", "scaledobjects.keda.sh", "--ignore-not-found", "--timeout=180s")
