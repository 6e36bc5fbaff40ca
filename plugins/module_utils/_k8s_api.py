# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plain Kubernetes API client configured exactly as kubernetes.core configures its own (the same
options, K8S_AUTH_* variables and precedence), without the dynamic client: its discovery costs a
request per API group on every module run, the largest part of a no-op call against a reachable
cluster. The kinds the roles render map to their REST paths statically; any other kind is looked up
once per group/version.

Importing the kubernetes package costs 0.5-1 s of every module run (it loads every generated API and
model class). So when the connection is one this file can make with the standard library alone (a
kubeconfig whose user has a client certificate or a token, or the in-cluster service account, and no
other connection option) it does, and reads the kubeconfig the same way the kubernetes client does;
anything else (exec and auth-provider plugins, proxies, impersonation, options given to the module,
several kubeconfig files) goes through kubernetes.core's own configuration code, as before.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import socket
import ssl
import struct
import tempfile
import time

from http import client as http_client
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass_environment

from ansible.module_utils.basic import missing_required_lib

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_MAP
except ImportError:
    AUTH_ARG_MAP = {}

# (apiVersion, kind) -> (plural, namespaced)
STATIC_KINDS = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "Service"): ("services", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "Pod"): ("pods", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("batch/v1", "Job"): ("jobs", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networkpolicies", True),
    ("networking.k8s.io/v1", "Ingress"): ("ingresses", True),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
}


def connect(module):
    """An Api for module (an AnsibleK8SModule made with check_k8s=False), or the module fails saying
    why it has no client."""
    try:
        settings = light_settings(module)
    except Exception:  # pylint: disable=broad-except
        settings = None  # anything this file does not understand: kubernetes.core's code says what is wrong
    if settings is not None:
        try:
            return Api(LightTransport(settings))
        except Exception as exc:  # pylint: disable=broad-except
            module.fail_json(msg="Could not create API client: %s" % exc)
    module.requires("kubernetes")
    try:
        from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
    except ImportError as exc:
        module.fail_json(msg=missing_required_lib("kubernetes.core"), exception=str(exc))
    try:
        return Api(ClientTransport(build_api_client(module)))
    except CoreException as exc:
        module.fail_from_exception(exc)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="Could not create API client: %s" % exc)


class ApiError(Exception):
    """An API call failed: HTTP status (0 when the cluster was not reached) and the server's reason."""

    def __init__(self, status, reason, message=""):
        super(ApiError, self).__init__("%s %s" % (status, reason) if status else reason)
        self.status, self.reason, self.message = status, reason, message


def unreachable(exc, where=""):
    """The ApiError of a connection or TLS error: the cluster was not reached (the message names the
    address tried, when the error does not)."""
    text = str(exc)
    return ApiError(0, "cluster unreachable (%s)" % exc.__class__.__name__,
                    "%s (%s)" % (text, where) if where and where not in text else text)


def refused(status, reason, body):
    """The ApiError of an error answer, with the message of the Status the API server sends."""
    message = ""
    try:
        message = json.loads(body).get("message", "")
    except (TypeError, ValueError, AttributeError):
        pass
    return ApiError(status, reason, message)


def build_api_client(module):
    """kubernetes.client.ApiClient built by kubernetes.core's own configuration code."""
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as core_client
    auth = core_client._create_auth_spec(module)
    configuration = core_client._create_configuration(auth)
    api_client = core_client.kubernetes.client.ApiClient(configuration)
    for header, value in core_client._create_headers(module).items():
        core_client._set_header(api_client, header, value)
    return api_client


# --- the light path: when the standard library can make the connection --------------------------

IN_CLUSTER_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455
# What a kubeconfig's cluster and user may hold for the light path; anything else (exec,
# auth-provider, username, impersonation, proxy-url, tls-server-name, ...) takes the kubernetes client
LIGHT_CLUSTER_KEYS = {"server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify",
                      "extensions"}
LIGHT_USER_KEYS = {"client-certificate", "client-certificate-data", "client-key", "client-key-data", "token",
                   "extensions"}


def _auth_option(module, arg_name, true_name):
    """A connection option as kubernetes.core reads it: the module's parameter, else K8S_AUTH_<NAME>."""
    value = module.params.get(arg_name)
    if value is not None:
        return value
    return os.getenv("K8S_AUTH_%s" % arg_name.upper()) or os.getenv("K8S_AUTH_%s" % true_name.upper())


def light_settings(module):
    """The connection as {server, ca_file | ca_data, insecure, cert_file | cert_data, key_file | key_data,
    token}, read exactly as kubernetes.core and the kubernetes client would read it; or None when only
    the kubernetes client can make it."""
    if not AUTH_ARG_MAP:
        return None
    options = dict((true, _auth_option(module, arg, true)) for true, arg in AUTH_ARG_MAP.items() if arg != "proxy_headers")
    extra = [name for name, value in options.items() if value not in (None, "") and name not in ("kubeconfig", "context")]
    extra += [name for name in ("impersonate_user", "impersonate_groups") if module.params.get(name) or os.getenv("K8S_AUTH_%s" % name.upper())]
    extra += [name for name in os.environ if name.startswith("K8S_AUTH_PROXY_HEADERS_")]
    if module.params.get("proxy_headers"):
        extra.append("proxy_headers")
    if extra:
        return None
    kubeconfig, context = options["kubeconfig"], options["context"]
    if not kubeconfig and not context and os.getenv("KUBERNETES_SERVICE_HOST") and os.getenv("KUBERNETES_SERVICE_PORT"):
        return direct(in_cluster_settings())
    if isinstance(kubeconfig, dict):
        return direct(kubeconfig_settings(kubeconfig, context, base_dir=None))
    if not kubeconfig:
        paths = [path for path in os.getenv("KUBECONFIG", "").split(os.pathsep) if path]
        if len(paths) > 1 or ("KUBECONFIG" in os.environ and not paths):  # merged, or refused, by the client
            return None
        kubeconfig = paths[0] if paths else "~/.kube/config"
    path = os.path.expanduser(kubeconfig)
    if not os.path.isfile(path):
        return None
    import yaml  # a dependency of the kubernetes client, and of the collection's own requirements
    with open(path) as handle:
        config = yaml.safe_load(handle)
    return direct(kubeconfig_settings(config, context, base_dir=os.path.dirname(os.path.abspath(path))))


def direct(settings):
    """settings, unless the kubernetes client would not connect straight to the server: it sends its
    requests through the proxy of HTTPS_PROXY / HTTP_PROXY / ALL_PROXY that NO_PROXY does not exempt;
    and a token it cannot send (an empty one, or one with a line break) is left to it, to say so."""
    if settings is None:
        return None
    url = urlsplit(settings["server"])
    proxies = getproxies()
    if (proxies.get(url.scheme) or proxies.get("all")) and not proxy_bypass_environment(url.hostname or "", proxies):
        return None
    token = settings.get("token")
    if token is not None and (not token or any(ord(c) < 32 or ord(c) == 127 for c in token)):
        return None
    return settings


def in_cluster_settings():
    token_file, ca_file = os.path.join(IN_CLUSTER_DIR, "token"), os.path.join(IN_CLUSTER_DIR, "ca.crt")
    if not (os.path.isfile(token_file) and os.path.isfile(ca_file)):
        return None
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    if ":" in host:  # IPv6
        host = "[%s]" % host
    with open(token_file) as handle:
        token = handle.read().strip()
    if not token or not os.path.getsize(ca_file):  # the client then tries the kubeconfig: left to it
        return None
    return {"server": "https://%s:%s" % (host, os.environ["KUBERNETES_SERVICE_PORT"]), "ca_file": ca_file, "token": token}


def _named(entries, name):
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def kubeconfig_settings(config, context_name, base_dir):
    """The light settings of a kubeconfig (a dict) and context (None: its current-context), or None."""
    if not isinstance(config, dict):
        return None
    context = _named(config.get("contexts"), context_name or config.get("current-context"))
    if context is None or not isinstance(context.get("context"), dict):
        return None
    cluster = _named(config.get("clusters"), context["context"].get("cluster"))
    user = _named(config.get("users"), context["context"].get("user")) if context["context"].get("user") else {"user": {}}
    if cluster is None or user is None:
        return None
    cluster, user = cluster.get("cluster") or {}, user.get("user") or {}
    if set(cluster) - LIGHT_CLUSTER_KEYS or set(user) - LIGHT_USER_KEYS or not cluster.get("server"):
        return None
    settings = {"server": cluster["server"], "insecure": bool(cluster.get("insecure-skip-tls-verify"))}
    for prefix, key in (("ca", "certificate-authority"), ("cert", "client-certificate"), ("key", "client-key")):
        if cluster.get(key + "-data") or user.get(key + "-data"):
            settings[prefix + "_data"] = base64.b64decode(cluster.get(key + "-data") or user.get(key + "-data"))
        elif cluster.get(key) or user.get(key):
            path = os.path.expanduser(cluster.get(key) or user.get(key))
            if base_dir and not os.path.isabs(path):
                path = os.path.join(base_dir, path)
            settings[prefix + "_file"] = path
    if "token" in user:
        settings["token"] = str(user["token"] or "")  # an empty one is refused by direct()
    return settings


class LightTransport(object):
    """HTTP(S) to the API server with the standard library, over one kept-alive connection."""

    def __init__(self, settings):
        url = urlsplit(settings["server"])
        self.scheme, self.host, self.port = url.scheme, url.hostname, url.port
        self.prefix = url.path.rstrip("/")
        self.address = settings["server"]
        self.token = settings.get("token")
        self.context = None
        if self.scheme == "https":
            self.context = ssl_context(settings)
        elif self.scheme != "http":
            raise ValueError("the server %s is neither https nor http" % settings["server"])
        self.connection = None

    def _connect(self):
        if self.scheme == "https":
            return http_client.HTTPSConnection(self.host, self.port, context=self.context)
        return http_client.HTTPConnection(self.host, self.port)

    def send(self, method, path, query, headers, body):
        """(status, reason, body bytes); a connection error raises."""
        url = self.prefix + path + ("?" + urlencode(query) if query else "")
        headers = dict(headers)
        if self.token:
            headers["Authorization"] = "Bearer %s" % self.token
        data = None if body is None else json.dumps(body, default=_plain).encode("utf-8")
        for attempt in (1, 2):
            reused = self.connection is not None
            if self.connection is None:
                self.connection = self._connect()
            try:
                self.connection.request(method, url, body=data, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.reason, response.read()
            except (http_client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                self.connection = None
                # only a kept-alive connection the server closed is tried again, and never for a POST
                # (a create the server may have done already)
                if not reused or attempt == 2 or method == "POST":
                    raise
            except Exception:
                self.connection.close()
                self.connection = None
                raise

    def exec_stream(self, path, query, timeout):
        """Open an exec request (path, query) as a WebSocket of its own, in the channel protocol of the API
        server (v4.channel.k8s.io: one byte of channel before each message). Returns (101, reason,
        WebSocket), or (status, reason, body) when the server refuses. Written on a plain socket:
        http.client closes its reader after a 101 response."""
        sock = socket.create_connection((self.host, self.port or (443 if self.scheme == "https" else 80)), timeout)
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_hostname=self.host)
        host = "[%s]" % self.host if ":" in self.host else self.host  # an IPv6 address
        headers = {"Host": "%s:%s" % (host, self.port) if self.port else host, "Connection": "Upgrade",
                   "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": "v4.channel.k8s.io",
                   "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode("ascii")}
        if self.token:
            headers["Authorization"] = "Bearer %s" % self.token
        header_lines = "".join("%s: %s\r\n" % item for item in headers.items())
        request = "GET %s?%s HTTP/1.1\r\n%s\r\n" % (self.prefix + path, urlencode(query), header_lines)
        sock.sendall(request.encode("utf-8"))
        reader = sock.makefile("rb")
        status_line = reader.readline().decode("latin-1").split(" ", 2)
        response_headers = {}
        for line in iter(reader.readline, b"\r\n"):
            if not line:
                break
            name, value = (line.decode("latin-1").split(":", 1) + [""])[:2]
            response_headers[name.strip().lower()] = value.strip()
        if len(status_line) < 2 or not status_line[1].isdigit():
            reader.close()
            sock.close()
            raise ConnectionError("no HTTP answer to the exec request")
        status, reason = int(status_line[1]), status_line[2].strip() if len(status_line) > 2 else ""
        expected = base64.b64encode(hashlib.sha1((headers["Sec-WebSocket-Key"] + WEBSOCKET_GUID).encode("ascii")).digest())
        if status == 101 and (response_headers.get("sec-websocket-accept", "").encode("ascii") != expected
                              or response_headers.get("sec-websocket-protocol") != "v4.channel.k8s.io"):
            status, reason = 502, "the exec WebSocket was not accepted with protocol v4.channel.k8s.io"
        if status != 101:
            length = response_headers.get("content-length")
            body = reader.read(int(length)) if length and length.isdigit() else b""
            reader.close()
            sock.close()
            return status, reason, body
        return 101, reason, WebSocket(sock, reader)


class WebSocket(object):
    """The client side of an upgraded connection (RFC 6455): masked frames out, frames in."""

    def __init__(self, sock, reader):
        self.sock, self.reader = sock, reader

    def send(self, payload, opcode=0x2):
        mask = os.urandom(4)
        header = bytearray([0x80 | opcode])
        if len(payload) < 126:
            header.append(0x80 | len(payload))
        elif len(payload) < 65536:
            header += bytearray([0x80 | 126]) + struct.pack("!H", len(payload))
        else:
            header += bytearray([0x80 | 127]) + struct.pack("!Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def _read(self, count):
        data = self.reader.read(count) if count else b""
        if len(data) < count:
            raise EOFError("the connection closed")
        return data

    def receive(self):
        """(opcode, payload) of the next whole message; control frames are answered here."""
        message, first_opcode = b"", None
        while True:
            head = self._read(2)
            fin, opcode, length = head[0] & 0x80, head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", self._read(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", self._read(8))[0]
            mask = self._read(4) if head[1] & 0x80 else None
            payload = self._read(length)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x9:  # ping
                self.send(payload, opcode=0xA)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                return 0x8, payload
            message += payload
            first_opcode = first_opcode if first_opcode is not None else opcode
            if fin:
                return first_opcode, message

    def close(self):
        try:
            self.send(b"", opcode=0x8)
        except OSError:
            pass
        self.reader.close()
        self.sock.close()


def run_in_pod(api, namespace, pod, container, command, stdin_line, timeout):
    """Run command in a container of pod, write stdin_line to its stdin; (rc, stdout, stderr). rc is -1
    when the command did not finish within timeout seconds. Raises ApiError when the exec is refused."""
    query = [("container", container), ("stdin", "true"), ("stdout", "true"), ("stderr", "true"), ("tty", "false")]
    query += [("command", part) for part in command]
    path = "/api/v1/namespaces/%s/pods/%s/exec" % (namespace, pod)
    if not isinstance(api.transport, LightTransport):
        return api.transport.exec_in_pod(namespace, pod, container, command, stdin_line, timeout)
    try:
        status, reason, socket_or_body = api.transport.exec_stream(path, query, timeout)
    except Exception as exc:  # pylint: disable=broad-except
        raise unreachable(exc, api.transport.address)
    if status != 101:
        raise refused(status, reason, socket_or_body)
    channels = {1: b"", 2: b"", 3: b""}
    websocket, deadline = socket_or_body, time.time() + timeout
    try:
        websocket.send(b"\x00" + stdin_line.encode("utf-8") + b"\n")
        while time.time() < deadline:
            websocket.sock.settimeout(max(0.05, deadline - time.time()))
            try:
                opcode, message = websocket.receive()
            except (EOFError, socket.timeout, OSError):
                break
            if opcode == 0x8:
                break
            if message and message[0] in channels:
                channels[message[0]] += message[1:]
    finally:
        websocket.close()
    return exec_status(channels[3].decode("utf-8", "replace")), channels[1].decode("utf-8", "replace"), \
        channels[2].decode("utf-8", "replace")


def exec_status(text):
    """The exit code in the status the API server sends on the error channel (none: -1, not finished)."""
    try:
        status = json.loads(text) if text.strip() else {}
    except ValueError:
        return 1
    if status.get("status") == "Success":
        return 0
    if not status:
        return -1
    try:
        return int(status["details"]["causes"][0]["message"])
    except (KeyError, IndexError, TypeError, ValueError):
        return 1


def _plain(value):
    """JSON for what YAML may have parsed into other types (dates), as the kubernetes client sends them."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def ssl_context(settings):
    if settings.get("insecure"):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif settings.get("ca_data"):
        context = ssl.create_default_context(cadata=settings["ca_data"].decode("ascii"))
    else:
        context = ssl.create_default_context(cafile=settings.get("ca_file"))
    cert, key = settings.get("cert_file"), settings.get("key_file")
    if settings.get("cert_data") or settings.get("key_data"):
        # load_cert_chain reads files only: written to a private directory, removed once loaded
        with tempfile.TemporaryDirectory() as private:
            if settings.get("cert_data"):
                cert = _write_private(private, "cert", settings["cert_data"])
            if settings.get("key_data"):
                key = _write_private(private, "key", settings["key_data"])
            context.load_cert_chain(cert, key)
    elif cert:
        context.load_cert_chain(cert, key)
    return context


def _write_private(directory, name, data):
    path = os.path.join(directory, name)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    return path


class ClientTransport(object):
    """The same requests over a kubernetes.client.ApiClient (the connections the light path cannot make)."""

    def __init__(self, api_client):
        self.api_client = api_client

    def send(self, method, path, query, headers, body):
        from kubernetes.client.rest import ApiException
        client = self.api_client
        try:
            if hasattr(client, "param_serialize"):  # kubernetes >= 37: the generated transport of openapi-generator 7
                response = client.call_api(*client.param_serialize(
                    method, path, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"]))
                response.read()
            else:
                response = client.call_api(
                    path, method, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"],
                    _preload_content=False, _return_http_data_only=True)
        except ApiException as exc:
            return exc.status, exc.reason, exc.body if isinstance(exc.body, bytes) else (exc.body or "").encode("utf-8")
        return response.status, getattr(response, "reason", ""), response.data

    def exec_in_pod(self, namespace, pod, container, command, stdin_line, timeout):
        from kubernetes import client as k8s_client
        from kubernetes.stream import stream
        core = k8s_client.CoreV1Api(self.api_client)
        try:
            resp = stream(core.connect_get_namespaced_pod_exec, pod, namespace, container=container, command=command,
                          stdin=True, stdout=True, stderr=True, tty=False, _preload_content=False)
        except Exception as exc:  # pylint: disable=broad-except
            raise ApiError(getattr(exc, "status", 0) or 0, getattr(exc, "reason", None) or exc.__class__.__name__, str(exc))
        try:
            resp.write_stdin(stdin_line + "\n")
            resp.run_forever(timeout=timeout)
            stdout = resp.read_stdout() if resp.peek_stdout() else ""
            stderr = resp.read_stderr() if resp.peek_stderr() else ""
            return exec_status(resp.read_channel(3) or ""), stdout, stderr
        finally:
            resp.close()


class Api(object):
    """Raw JSON requests over a transport (LightTransport or ClientTransport); objects stay dicts, as
    the manifests are."""

    def __init__(self, transport):
        self.transport = transport
        self._discovered = {}

    def request(self, method, path, body=None, query=None, content_type="application/json", text=False):
        """The response as JSON (as text with text=True); ApiError on an error status or no connection."""
        headers = {"Accept": "*/*" if text else "application/json", "Content-Type": content_type}
        query = list((query or {}).items())
        try:
            status, reason, data = self.transport.send(method, path, query, headers, body)
        except Exception as exc:  # pylint: disable=broad-except
            raise unreachable(exc, getattr(self.transport, "address", ""))
        if not 200 <= status <= 299:
            raise refused(status, reason, data)
        return data.decode("utf-8", "replace") if text else json.loads(data)

    def resource(self, api_version, kind):
        """(plural, namespaced) of a kind, from the static map or the API's list of its group/version."""
        known = STATIC_KINDS.get((api_version, kind))
        if known:
            return known
        if api_version not in self._discovered:
            path = "/api/v1" if api_version == "v1" else "/apis/" + api_version
            self._discovered[api_version] = dict(
                (r["kind"], (r["name"], r["namespaced"])) for r in self.request("GET", path).get("resources", [])
                if "/" not in r["name"])
        if kind not in self._discovered[api_version]:
            raise ApiError(404, "the API has no kind %s in %s" % (kind, api_version))
        return self._discovered[api_version][kind]

    def path(self, api_version, kind, namespace=None, name=None):
        plural, namespaced = self.resource(api_version, kind)
        parts = ["/api/v1" if api_version == "v1" else "/apis/" + api_version]
        if namespaced:
            parts += ["namespaces", namespace]
        parts.append(plural)
        if name:
            parts.append(name)
        return "/".join(parts)

    def is_namespaced(self, api_version, kind):
        return self.resource(api_version, kind)[1]
