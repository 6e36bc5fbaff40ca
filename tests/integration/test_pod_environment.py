# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every Airflow container gets besides its image, in one deployment (a converge rolls every
pod, so both features share their converges):

- secret environment: airflow_extra_secret_env (a connection URI, a token) is kept in the Secret
  airflow-extra-env by the airflow_secret module, and airflow_extra_env_from names an existing
  Secret. Both reach the containers (read with printenv in a worker and the api-server); the secret
  values appear in no ConfigMap, no annotation of any object, and not in the playbook's -vvv output.
  A changed value rolls the pods and reaches them; removing the variables takes the environment
  away and empties the Secret.
- airflow_ca_bundle: an HTTPS server in the namespace whose certificate is signed by a CA this test
  generates. Without the bundle a worker refuses it (certificate verify failed); with the bundle a
  DAG task fetches it with requests and with the standard library's default context, both
  verifying; back to the inventory, the pods trust the image's store again."""

import datetime
import json
import secrets

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from helpers import NAMESPACE, REPO, converge_with, kubectl

HERE = REPO / "tests" / "integration"
SERVER = "flujo-tls"
# exit 3: the server was reached and its certificate refused; a connection that fails (the Service
# not routed yet, or the server pod not ready) is tried again for 60 s, then exit 4
FETCH = ("import requests, sys, time\n"
         "for attempt in range(60):\n"
         "    try:\n        print(requests.get('https://%s:8443/', timeout=10).text)\n        break\n"
         "    except requests.exceptions.SSLError as exc:\n        print('SSLError', exc)\n        sys.exit(3)\n"
         "    except requests.exceptions.ConnectionError as exc:\n        error = exc\n        time.sleep(1)\n"
         "else:\n    print('unreachable', error)\n    sys.exit(4)\n" % SERVER)


def pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode()
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def certificates():
    """A CA, and a server certificate it signed for the Service's names."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flujo test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    names = [SERVER, "%s.%s.svc" % (SERVER, NAMESPACE), "%s.%s.svc.cluster.local" % (SERVER, NAMESPACE)]
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return pem(ca), pem(cert), pem(key)


def https_server(image, cert, key):
    """A Secret, a Deployment serving HTTPS on 8443 with Python's http.server, and its Service."""
    labels = {"app.kubernetes.io/name": SERVER}
    server = ("import http.server, ssl\n"
              "class H(http.server.BaseHTTPRequestHandler):\n"
              "    def do_GET(self):\n"
              "        self.send_response(200); self.end_headers(); self.wfile.write(b'hello over verified TLS')\n"
              "s = http.server.HTTPServer(('0.0.0.0', 8443), H)\n"
              "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain('/tls/tls.crt', '/tls/tls.key')\n"
              "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
              "s.serve_forever()\n")
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": SERVER}, "type": "kubernetes.io/tls",
         "stringData": {"tls.crt": cert, "tls.key": key}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": SERVER, "labels": labels},
         "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
             "containers": [{"name": "https", "image": image, "imagePullPolicy": "IfNotPresent",
                             "command": ["python", "-c", server], "ports": [{"containerPort": 8443}],
                             "readinessProbe": {"tcpSocket": {"port": 8443}, "periodSeconds": 1},
                             "volumeMounts": [{"name": "tls", "mountPath": "/tls", "readOnly": True}]}],
             "volumes": [{"name": "tls", "secret": {"secretName": SERVER}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVER},
         "spec": {"selector": labels, "ports": [{"port": 8443, "targetPort": 8443}]}},
    ]


def fetch_in_worker():
    return kubectl("exec", "statefulset/airflow-worker", "-c", "worker", "--", "python", "-c", FETCH, check=False)


NAMES = "configmaps,secrets,services,deployments,statefulsets,jobs,cronjobs,pods,serviceaccounts,networkpolicies"


def env_of(target, *names):
    component = target.split("/")[1].replace("airflow-", "")
    out = kubectl("exec", target, "-c", component, "--", "sh", "-c",
                  " ; ".join('printf "%%s\\n" "${%s:-<unset>}"' % n for n in names))
    return out.stdout.splitlines()


@pytest.fixture
def existing_secret():
    kubectl("create", "secret", "generic", "flujo-test-existing", "--from-literal=FLUJO_FROM_EXISTING=from-an-existing-secret")
    yield "flujo-test-existing"
    kubectl("delete", "secret", "flujo-test-existing", "--ignore-not-found")


@pytest.fixture
def https_server_signed_by_a_new_ca():
    """The server, up, and the PEM of the CA that signed its certificate. Removed afterwards."""
    ca, cert, key = certificates()
    image = json.loads(kubectl("get", "statefulset/airflow-worker", "-o", "json").stdout)["spec"]["template"]["spec"][
        "containers"][0]["image"]
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": https_server(image, cert, key)}))
    try:
        kubectl("rollout", "status", "deployment/%s" % SERVER, "--timeout=180s")
        yield ca
    finally:
        kubectl("delete", "deployment,service,secret", SERVER, "--ignore-not-found")


def test_secret_environment_and_ca_bundle_reach_the_pods_and_nothing_else(api, tmp_path, existing_secret,
                                                                           https_server_signed_by_a_new_ca):
    ca = https_server_signed_by_a_new_ca
    refused = fetch_in_worker()
    assert refused.returncode == 3 and "CERTIFICATE_VERIFY_FAILED" in refused.stdout, refused.stdout + refused.stderr

    token, password = secrets.token_hex(16), secrets.token_hex(12)
    conn = "postgres://warehouse:%s@warehouse.invalid:5432/sales" % password

    def features(token):
        return dict(airflow_extra_secret_env={"AIRFLOW_CONN_WAREHOUSE": conn, "FLUJO_TOKEN": token},
                    airflow_extra_env_from=[{"secret": existing_secret}], airflow_ca_bundle={"pem": ca})
    run = converge_with(tmp_path, "-vvv", **features(token))
    try:
        for value in (token, password):
            assert value not in run.output   # -vvv: module arguments, results, diffs
        objects = json.loads(kubectl("get", NAMES, "-o", "json").stdout)["items"]
        configmaps = [o for o in objects if o["kind"] == "ConfigMap"]
        annotations = json.dumps([o["metadata"].get("annotations") for o in objects]
                                 + [((o.get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations")
                                    for o in objects])
        for value in (token, password):
            assert value not in json.dumps(configmaps) and value not in annotations
        for target in ("statefulset/airflow-worker", "deployment/airflow-api-server"):
            assert env_of(target, "FLUJO_TOKEN", "AIRFLOW_CONN_WAREHOUSE", "FLUJO_FROM_EXISTING") == [
                token, conn, "from-an-existing-secret"], target

        trusted = fetch_in_worker()
        assert trusted.returncode == 0 and "hello over verified TLS" in trusted.stdout, trusted.stdout + trusted.stderr
        api.deliver(HERE / "dags_ca", "flujo_ca_check")
        run_path = api.trigger("flujo_ca_check")
        assert api.wait(run_path, timeout=300) == "success"

        # a new value is written and the pods roll onto it
        token2 = secrets.token_hex(16)
        run = converge_with(tmp_path, **features(token2))
        assert token2 not in run.output
        assert env_of("statefulset/airflow-worker", "FLUJO_TOKEN") == [token2]
    finally:
        # back to the inventory: the environment leaves the pods, the Secret keeps no value, no bundle
        converge_with(tmp_path)
    assert env_of("statefulset/airflow-worker", "FLUJO_TOKEN", "AIRFLOW_CONN_WAREHOUSE", "FLUJO_FROM_EXISTING") == ["<unset>"] * 3
    assert json.loads(kubectl("get", "secret/airflow-extra-env", "-o", "json").stdout).get("data") in (None, {})
    untrusted = fetch_in_worker()
    assert untrusted.returncode == 3, untrusted.stdout + untrusted.stderr   # the image's own trust store again
