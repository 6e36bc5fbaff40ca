# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The light path of _k8s_api: which connections the standard library makes (and which it leaves to
the kubernetes client), and a real TLS server on loopback that requires the client certificate."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import http.server
import json
import os
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.flujo.airflow.plugins.module_utils import _k8s_api


class FakeModule(object):
    """What connect() and light_settings() use of an AnsibleK8SModule."""

    def __init__(self, **params):
        self.params = dict((name, None) for name in ("kubeconfig", "context", "host", "api_key", "username", "password",
                                                     "validate_certs", "ca_cert", "client_cert", "client_key", "proxy",
                                                     "no_proxy", "persist_config", "impersonate_user",
                                                     "impersonate_groups"))
        self.params.update(params)
        self.required = []

    def requires(self, dependency):
        self.required.append(dependency)

    def fail_json(self, **result):
        raise AssertionError(result["msg"])


@pytest.fixture(autouse=True)
def no_ambient_config(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("K8S_AUTH_") or name.startswith("KUBERNETES_SERVICE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("KUBECONFIG", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy",
                 "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def kubeconfig(tmp_path, user, cluster=None, name="config"):
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
              "clusters": [{"name": "k", "cluster": dict({"server": "https://127.0.0.1:6443"}, **(cluster or {}))}],
              "users": [{"name": "u", "user": user}],
              "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}
    path = tmp_path / name
    path.write_text(json.dumps(config))
    return str(path)


# --- which path ---------------------------------------------------------------------------------

def test_a_token_kubeconfig_from_kubeconfig_takes_the_light_path(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, {"token": "t"}, {"certificate-authority": "ca.pem"}))
    settings = _k8s_api.light_settings(FakeModule())
    assert settings == {"server": "https://127.0.0.1:6443", "insecure": False, "token": "t",
                        "ca_file": str(tmp_path / "ca.pem")}  # relative to the kubeconfig's directory, as the client reads it


def test_the_default_kubeconfig_is_home_kube_config(tmp_path):
    (tmp_path / "home" / ".kube").mkdir(parents=True)
    kubeconfig(tmp_path / "home" / ".kube", {"token": "home"})
    assert _k8s_api.light_settings(FakeModule())["token"] == "home"


@pytest.mark.parametrize("user,cluster", [
    ({"exec": {"command": "aws", "apiVersion": "client.authentication.k8s.io/v1"}}, None),
    ({"auth-provider": {"name": "oidc"}}, None),
    ({"username": "admin", "password": "secret"}, None),
    ({"token": "t", "as": "someone"}, None),
    ({"token": "t"}, {"proxy-url": "http://proxy:3128"}),
    ({"token": "t"}, {"tls-server-name": "kubernetes"}),
], ids=["exec", "auth-provider", "basic", "impersonation", "proxy-url", "tls-server-name"])
def test_what_the_standard_library_cannot_do_is_left_to_the_kubernetes_client(monkeypatch, tmp_path, user, cluster):
    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, user, cluster))
    assert _k8s_api.light_settings(FakeModule()) is None


@pytest.mark.parametrize("env", [
    {"K8S_AUTH_HOST": "https://elsewhere:6443"}, {"K8S_AUTH_API_KEY": "k"}, {"K8S_AUTH_VALIDATE_CERTS": "false"},
    {"K8S_AUTH_PROXY": "http://proxy:3128"}, {"K8S_AUTH_IMPERSONATE_USER": "deployer"},
    {"K8S_AUTH_PROXY_HEADERS_USER_AGENT": "x"}])
def test_any_other_connection_option_is_left_to_kubernetes_core(monkeypatch, tmp_path, env):
    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, {"token": "t"}))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _k8s_api.light_settings(FakeModule()) is None


def test_several_kubeconfig_files_are_merged_by_the_client_not_here(monkeypatch, tmp_path):
    first, second = kubeconfig(tmp_path, {"token": "a"}, name="a"), kubeconfig(tmp_path, {"token": "b"}, name="b")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([first, second]))
    assert _k8s_api.light_settings(FakeModule()) is None


def test_a_missing_kubeconfig_is_left_to_kubernetes_core_which_says_what_is_wrong(tmp_path):
    assert _k8s_api.light_settings(FakeModule(kubeconfig=str(tmp_path / "missing"))) is None


def test_the_parameter_and_context_win_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", kubeconfig(tmp_path, {"token": "env"}, name="env"))
    param = tmp_path / "param"
    config = json.loads(open(kubeconfig(tmp_path, {"token": "param"}, name="param")).read())
    config["contexts"].append({"name": "other", "context": {"cluster": "k", "user": "u2"}})
    config["users"].append({"name": "u2", "user": {"token": "other"}})
    param.write_text(json.dumps(config))
    assert _k8s_api.light_settings(FakeModule(kubeconfig=str(param), context="other"))["token"] == "other"


def test_a_kubeconfig_given_as_a_dict(tmp_path):
    config = json.loads(open(kubeconfig(tmp_path, {"token": "d"})).read())
    assert _k8s_api.light_settings(FakeModule(kubeconfig=config))["token"] == "d"


def test_in_cluster_first_when_no_kubeconfig_or_context_is_given(monkeypatch, tmp_path):
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("pod-token\n")
    (account / "ca.crt").write_text("pem")
    monkeypatch.setattr(_k8s_api, "IN_CLUSTER_DIR", str(account))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, {"token": "t"}))
    assert _k8s_api.light_settings(FakeModule()) == {
        "server": "https://[fd00::1]:443", "ca_file": str(account / "ca.crt"), "token": "pod-token"}


# --- a real TLS server that requires the client's certificate ------------------------------------

def _certificate(subject, issuer_key, issuer_name, key, ca=False, server=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(hours=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        import ipaddress
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                        critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def b64(data):
    return base64.b64encode(data).decode()


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS server on loopback, signed by a CA of the test, that requires a client certificate of
    the same CA; it answers a GET with the client's common name and closes the connection after each
    second request (a kept-alive connection the server dropped)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    ca = _certificate("test-ca", ca_key, ca_name, ca_key, ca=True)
    server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    server = _certificate("127.0.0.1", ca_key, ca_name, server_key, server=True)
    client = _certificate("deployer", ca_key, ca_name, client_key)
    for name, obj in (("ca.pem", ca), ("server.pem", server), ("server-key.pem", server_key)):
        (tmp_path / name).write_bytes(_pem(obj))
    served = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            served.append(self.path)
            peer = self.connection.getpeercert()
            common_name = dict(x[0] for x in peer["subject"])["commonName"]
            status = 404 if self.path.startswith("/missing") or "/exec?" in self.path else 200
            body = json.dumps({"message": "not here"} if status == 404 else {"you": common_name, "path": self.path}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if len(served) % 2 == 0:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca.pem"))
    context.load_cert_chain(str(tmp_path / "server.pem"), str(tmp_path / "server-key.pem"))
    context.verify_mode = ssl.CERT_REQUIRED
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield {"port": httpd.server_address[1], "ca": _pem(ca), "cert": _pem(client), "key": _pem(client_key),
           "served": served}
    httpd.shutdown()
    httpd.server_close()


def test_client_certificate_data_over_real_tls(monkeypatch, tmp_path, tls_server):
    monkeypatch.setenv("KUBECONFIG", kubeconfig(
        tmp_path, {"client-certificate-data": b64(tls_server["cert"]), "client-key-data": b64(tls_server["key"])},
        {"server": "https://127.0.0.1:%d" % tls_server["port"], "certificate-authority-data": b64(tls_server["ca"])}))
    module = FakeModule()
    api = _k8s_api.connect(module)
    assert isinstance(api.transport, _k8s_api.LightTransport)
    assert module.required == []  # the kubernetes package was not needed
    # three requests: the second response closes the connection, the third opens a new one
    for attempt in range(3):
        assert api.request("GET", "/api/v1/namespaces/x", query={"limit": 1}) == {
            "you": "deployer", "path": "/api/v1/namespaces/x?limit=1"}
    with pytest.raises(_k8s_api.ApiError) as error:
        api.request("GET", "/missing")
    assert (error.value.status, error.value.message) == (404, "not here")
    assert len(tls_server["served"]) == 4


def test_a_server_certificate_of_another_ca_is_refused(monkeypatch, tmp_path, tls_server):
    other_key = ec.generate_private_key(ec.SECP256R1())
    other = _certificate("other-ca", other_key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "other-ca")]),
                         other_key, ca=True)
    (tmp_path / "other.pem").write_bytes(_pem(other))
    (tmp_path / "cert.pem").write_bytes(tls_server["cert"])
    (tmp_path / "key.pem").write_bytes(tls_server["key"])
    monkeypatch.setenv("KUBECONFIG", kubeconfig(
        tmp_path, {"client-certificate": "cert.pem", "client-key": "key.pem"},
        {"server": "https://127.0.0.1:%d" % tls_server["port"], "certificate-authority": "other.pem"}))
    api = _k8s_api.connect(FakeModule())
    with pytest.raises(_k8s_api.ApiError) as error:
        api.request("GET", "/api")
    assert error.value.status == 0 and "SSLCertVerificationError" in error.value.reason
    assert "(https://127.0.0.1:%d)" % tls_server["port"] in str(error.value.message)  # where it tried
    assert tls_server["served"] == []


def test_the_fallback_requires_the_kubernetes_package_first(monkeypatch, tmp_path):
    monkeypatch.setenv("K8S_AUTH_HOST", "https://127.0.0.1:1")
    monkeypatch.setenv("K8S_AUTH_API_KEY", "k")
    module = FakeModule()
    api = _k8s_api.connect(module)
    assert module.required == ["kubernetes"]
    assert isinstance(api.transport, _k8s_api.ClientTransport)


# --- exec over a WebSocket (the users program runs in the api-server pod this way) ----------------

class ExecServer(object):
    """A plain HTTP server on loopback that takes an exec request as the API server does: the upgrade
    to a WebSocket of protocol v4.channel.k8s.io, a ping, then the command's stdout (channel 1), stderr
    (2) and status (3) for what it read on stdin (0)."""

    def __init__(self, exit_code=0, protocol="v4.channel.k8s.io"):
        import socketserver
        self.seen, self.exit_code, self.protocol = {}, exit_code, protocol
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                import hashlib
                request = self.rfile.readline().decode()
                headers = {}
                for line in iter(self.rfile.readline, b"\r\n"):
                    name, value = (line.decode().split(":", 1) + [""])[:2]
                    headers[name.strip().lower()] = value.strip()
                server.seen.update(request=request, headers=headers)
                accept = base64.b64encode(hashlib.sha1((headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                                       .encode()).digest()).decode()
                self.wfile.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                  "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n" % (accept, server.protocol)).encode())
                if server.protocol != "v4.channel.k8s.io":
                    return
                self.frame(b"", opcode=0x9)  # a ping first: the client must answer it
                for opcode, payload in (self.read_frame(), self.read_frame()):  # stdin and the pong, in either order
                    server.seen["pong" if opcode == 0xA else "stdin"] = (opcode, payload) if opcode == 0xA else payload
                stdin = server.seen["stdin"]
                self.frame(b"\x01" + b"got " + stdin[1:])
                self.frame(b"\x02" + b"a warning\n")
                status = {"status": "Success"} if server.exit_code == 0 else {
                    "status": "Failure", "reason": "NonZeroExitCode",
                    "details": {"causes": [{"reason": "ExitCode", "message": str(server.exit_code)}]}}
                self.frame(b"\x03" + json.dumps(status).encode())
                self.frame(b"", opcode=0x8)

            def frame(self, payload, opcode=0x2):
                self.wfile.write(bytes([0x80 | opcode, len(payload)]) + payload)  # short frames, unmasked (server side)

            def read_frame(self):
                head = self.rfile.read(2)
                length = head[1] & 0x7F
                assert head[1] & 0x80, "a client frame must be masked"
                if length == 126:
                    import struct
                    length = struct.unpack("!H", self.rfile.read(2))[0]
                mask = self.rfile.read(4)
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
                return head[0] & 0x0F, payload

        self.httpd = socketserver.TCPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("exit_code", [0, 3])
def test_a_command_runs_in_a_pod_over_a_websocket(monkeypatch, tmp_path, exit_code):
    server = ExecServer(exit_code)
    try:
        monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, {"token": "exec-token"},
                                                    {"server": "http://127.0.0.1:%d" % server.port}))
        api = _k8s_api.connect(FakeModule())
        rc, out, err = _k8s_api.run_in_pod(api, "ns", "api-1", "api-server", ["python", "-c", "print(1) # & ?"],
                                           '{"users": []}', timeout=10)
    finally:
        server.stop()
    assert (rc, out, err) == (exit_code, 'got {"users": []}\n', "a warning\n")
    request = server.seen["request"]
    assert request.startswith("GET /api/v1/namespaces/ns/pods/api-1/exec?container=api-server&stdin=true&stdout=true")
    assert "&command=python&command=-c&command=print%281%29+%23+%26+%3F " in request
    assert server.seen["headers"]["authorization"] == "Bearer exec-token"
    assert server.seen["headers"]["sec-websocket-protocol"] == "v4.channel.k8s.io"
    assert server.seen["pong"] == (0xA, b"")
    assert server.seen["stdin"] == b'\x00{"users": []}\n'


def test_an_exec_the_server_refuses_names_its_status(monkeypatch, tmp_path, tls_server):
    monkeypatch.setenv("KUBECONFIG", kubeconfig(
        tmp_path, {"client-certificate-data": b64(tls_server["cert"]), "client-key-data": b64(tls_server["key"])},
        {"server": "https://127.0.0.1:%d" % tls_server["port"], "certificate-authority-data": b64(tls_server["ca"])}))
    api = _k8s_api.connect(FakeModule())
    with pytest.raises(_k8s_api.ApiError) as error:
        _k8s_api.run_in_pod(api, "ns", "p", "c", ["true"], "", timeout=10)
    assert (error.value.status, error.value.message) == (404, "not here")
    assert tls_server["served"][0].startswith("/api/v1/namespaces/ns/pods/p/exec?container=c&")  # over TLS, with the client cert


def test_exec_status_reads_the_exit_code():
    assert _k8s_api.exec_status('{"status": "Success"}') == 0
    assert _k8s_api.exec_status('{"status": "Failure", "details": {"causes": [{"message": "7"}]}}') == 7
    assert _k8s_api.exec_status("") == -1  # no status: the command did not finish in time


def test_a_proxy_the_client_would_use_leaves_the_connection_to_it(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, {"token": "t"}))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert _k8s_api.light_settings(FakeModule()) is None
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert _k8s_api.light_settings(FakeModule())["token"] == "t"


@pytest.mark.parametrize("token", ["", "line\nbreak"])
def test_a_token_the_client_could_not_send_is_left_to_it(monkeypatch, tmp_path, token):
    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, {"token": token}))
    assert _k8s_api.light_settings(FakeModule()) is None


def test_an_empty_kubeconfig_variable_is_left_to_the_client(monkeypatch, tmp_path):
    (tmp_path / "home" / ".kube").mkdir(parents=True)
    kubeconfig(tmp_path / "home" / ".kube", {"token": "home"})
    monkeypatch.setenv("KUBECONFIG", "")
    assert _k8s_api.light_settings(FakeModule()) is None


def test_an_exec_answered_in_another_protocol_is_refused(monkeypatch, tmp_path):
    server = ExecServer(protocol="channel.k8s.io")  # the old protocol, whose status channel is not JSON
    try:
        monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, {"token": "t"}, {"server": "http://127.0.0.1:%d" % server.port}))
        with pytest.raises(_k8s_api.ApiError) as error:
            _k8s_api.run_in_pod(_k8s_api.connect(FakeModule()), "ns", "p", "c", ["true"], "", timeout=10)
    finally:
        server.stop()
    assert error.value.status == 502 and "v4.channel.k8s.io" in error.value.reason
