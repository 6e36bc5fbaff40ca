# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The airflow_secret module's I/O against a mocked Kubernetes API, and how it finds the cluster.

Only the HTTP layer (urllib3's pool manager under the real kubernetes client) is replaced, by an
in-memory API server for Secrets (404 when absent, uid and resourceVersion on create, 409 on a stale
resourceVersion); its handlers are mocks named after the API's operations. exit_json
and fail_json are caught before Ansible masks anything, so "no value in the result" is checked on
the raw result, not on a masked one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import hashlib
import json
from unittest import mock

import pytest
from urllib.parse import urlsplit

from urllib3.exceptions import MaxRetryError

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.flujo.airflow.plugins.module_utils import _k8s_api
from ansible_collections.flujo.airflow.plugins.modules import airflow_secret
from ansible_collections.flujo.airflow.tests.unit.plugins.modules.module_harness import Exit, did_fail, isolate, run_module, succeeded
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

NS = "airflow-test"
ANNOTATION = "flujo.airflow/key-revisions"
SPECS = [
    {"name": "airflow-redis-password", "keys": [{"name": "password", "kind": "password"}]},
    {"name": "airflow-secrets",
     "keys": [{"name": "FERNET", "kind": "fernet"},
              {"name": "JWT", "kind": "hex", "length": 64},
              {"name": "DB_USER", "kind": "value", "value": "airflow-db-user-supplied"},
              {"name": "DB_PASSWORD", "kind": "password"}],
     "derived": [{"name": "CONN", "template": "postgresql://{DB_USER}:{DB_PASSWORD}@db:5432/airflow"},
                 {"name": "BROKER", "template": "redis://:{airflow-redis-password:password}@redis:6379/0"}]},
]


REAL_FAIL_JSON = basic.AnsibleModule.fail_json


class HTTPError(Exception):
    """What a handler raises for an error status."""

    def __init__(self, status, reason):
        super(HTTPError, self).__init__(reason)
        self.status, self.reason = status, reason


def _api_exception(status, reason):
    return HTTPError(status, reason)


class Response(object):
    def __init__(self, status, reason, body):
        self.status, self.reason, self.data = status, reason, json.dumps(body).encode()
        self.headers = {"Content-Type": "application/json"}


class FakeSecretsServer(object):
    """Secrets of one namespace as the API server keeps them (JSON objects): copies in, copies out."""

    def __init__(self):
        self.store = {}
        self.last_rv = 100
        self.requests = []
        self.read_namespaced_secret = mock.Mock(side_effect=self._read)
        self.create_namespaced_secret = mock.Mock(side_effect=self._create)
        self.replace_namespaced_secret = mock.Mock(side_effect=self._replace)

    def http(self, method, url, body=None, headers=None, **kwargs):
        """urllib3's PoolManager.request, as the kubernetes client calls it."""
        path = urlsplit(url).path
        self.requests.append((method, path, headers))
        prefix = "/api/v1/namespaces/%s/secrets" % NS
        assert path.startswith(prefix), path
        name = path[len(prefix) + 1:]
        try:
            if method == "GET":
                obj = self.read_namespaced_secret(name, NS)
            elif method == "POST":
                obj = self.create_namespaced_secret(NS, json.loads(body))
            else:
                assert method == "PUT"
                obj = self.replace_namespaced_secret(name, NS, json.loads(body))
        except HTTPError as exc:
            return Response(exc.status, exc.reason, {"kind": "Status", "code": exc.status, "reason": exc.reason})
        return Response(201 if method == "POST" else 200, "OK", obj)

    def _next_rv(self):
        self.last_rv += 1
        return str(self.last_rv)

    def put(self, name, data, annotations=None, labels=None):
        """A Secret someone else wrote (values in clear, stored base64 like the API does)."""
        metadata = dict(name=name, namespace=NS, uid="uid-" + name, resourceVersion=self._next_rv())
        if annotations:
            metadata["annotations"] = annotations
        if labels:
            metadata["labels"] = labels
        self.store[name] = dict(apiVersion="v1", kind="Secret", metadata=metadata, type="Opaque",
                                data=dict((k, base64.b64encode(v.encode()).decode()) for k, v in data.items()))

    def values(self, name):
        return dict((k, base64.b64decode(v).decode()) for k, v in (self.store[name].get("data") or {}).items())

    def _read(self, name, namespace):
        assert namespace == NS
        if name not in self.store:
            raise _api_exception(404, "Not Found")
        return copy.deepcopy(self.store[name])

    def _create(self, namespace, body):
        assert namespace == NS == body["metadata"]["namespace"]
        if body["metadata"]["name"] in self.store:
            raise _api_exception(409, "Conflict")
        assert "resourceVersion" not in body["metadata"]
        stored = copy.deepcopy(body)
        stored["metadata"]["uid"] = "uid-" + body["metadata"]["name"]
        stored["metadata"]["resourceVersion"] = self._next_rv()
        self.store[body["metadata"]["name"]] = stored
        return copy.deepcopy(stored)

    def _replace(self, name, namespace, body):
        assert namespace == NS and name == body["metadata"]["name"]
        if body["metadata"].get("resourceVersion") != self.store[name]["metadata"]["resourceVersion"]:
            raise _api_exception(409, "Conflict")
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = self._next_rv()
        self.store[name] = stored
        return copy.deepcopy(stored)

    def writes(self):
        return self.create_namespaced_secret.call_count + self.replace_namespaced_secret.call_count


FakeCoreV1Api = FakeSecretsServer  # the handlers keep the names of the API's operations


@pytest.fixture(autouse=True)
def no_ambient_config(monkeypatch, tmp_path):
    isolate(monkeypatch, tmp_path)


def _serve(monkeypatch, fake, seen=None):
    """Build the real ApiClient (kubernetes.core's configuration code), answer its requests with fake."""
    real_build = _k8s_api.build_api_client

    def build(module):
        api_client = real_build(module)
        monkeypatch.setattr(api_client.rest_client.pool_manager, "request", fake.http)
        if seen is not None:
            seen["configuration"], seen["api_client"] = api_client.configuration, api_client
        return api_client

    monkeypatch.setattr(_k8s_api, "build_api_client", build)

    def light_send(transport, method, path, query, headers, body):
        """The light path (standard library) answered by the same fake server."""
        if seen is not None:
            seen["light"] = transport
        headers = dict(headers, **({"authorization": "Bearer %s" % transport.token} if transport.token else {}))
        response = fake.http(method, "%s://%s:%s%s" % (transport.scheme, transport.host, transport.port, path),
                             body=None if body is None else json.dumps(body), headers=headers)
        return response.status, response.reason, response.data

    monkeypatch.setattr(_k8s_api.LightTransport, "send", light_send)


def server_and_token(seen):
    """Where the module sent its requests, and with which token, whichever path made the connection."""
    if "light" in seen:
        transport = seen["light"]
        return "%s://%s:%s" % (transport.scheme, transport.host, transport.port), transport.token
    return seen["configuration"].host, list(seen["configuration"].api_key.values())[0][len("Bearer "):]


@pytest.fixture
def api(monkeypatch):
    """The API server the module talks to, over a token from K8S_AUTH_* (kubernetes.core's variables)."""
    fake = FakeSecretsServer()
    monkeypatch.setenv("K8S_AUTH_HOST", "https://api.invalid:6443")
    monkeypatch.setenv("K8S_AUTH_API_KEY", "token-of-the-test")
    _serve(monkeypatch, fake)
    return fake


def run(secrets=None, check=False, diff=False, **params):
    args = dict(namespace=NS, secrets=copy.deepcopy(SPECS if secrets is None else secrets), **params)
    return run_module(airflow_secret.main, args, check, diff)


def ok(*args, **kwargs):
    return succeeded(run(*args, **kwargs))


def failed(*args, **kwargs):
    return did_fail(run(*args, **kwargs))


def values_in(api, *names):
    """Every value stored, and every part of a comma-separated one: none may appear in a result."""
    out = set(["airflow-db-user-supplied"])
    for name in names or api.store:
        for value in api.values(name).values():
            out.add(value)
            out.update(part for part in value.split(",") if len(part) >= 4)
    return out


def assert_no_value(result, values):
    text = json.dumps(result, sort_keys=True)
    leaked = [v for v in values if v in text]
    assert not leaked, "values in the result"


def expected_checksum(uid, revisions):
    return hashlib.sha256(json.dumps([uid, sorted(revisions.items())]).encode()).hexdigest()[:16]


# --- create, replace, idempotence ------------------------------------------------------------


def test_creates_each_secret_when_absent(api):
    result = ok()
    assert result["changed"] is True
    assert api.create_namespaced_secret.call_count == 2 and api.replace_namespaced_secret.call_count == 0
    body = api.create_namespaced_secret.call_args[0][1]
    assert body["metadata"]["name"] == "airflow-secrets" and body["metadata"]["namespace"] == NS and body["type"] == "Opaque"
    stored = api.values("airflow-secrets")
    assert sorted(stored) == ["BROKER", "CONN", "DB_PASSWORD", "DB_USER", "FERNET", "JWT"]
    assert stored["DB_USER"] == "airflow-db-user-supplied"
    assert stored["BROKER"] == "redis://:%s@redis:6379/0" % api.values("airflow-redis-password")["password"]

    report = result["secrets"]["airflow-secrets"]
    assert report["created"] is True and report["changed"] is True
    assert report["generated"] == ["DB_PASSWORD", "FERNET", "JWT"]
    assert report["adopted"] == ["DB_USER"]
    assert report["derived"] == ["BROKER", "CONN"]
    assert report["updated"] == report["rotated"] == report["pruned"] == []
    assert report["keys"] == sorted(stored)
    assert report["uid"] == "uid-airflow-secrets"
    assert report["resource_version"] == api.store["airflow-secrets"]["metadata"]["resourceVersion"]
    assert set(result) == {"changed", "secrets", "checksum"}
    assert set(report) == {"keys", "generated", "adopted", "updated", "rotated", "pruned", "moved", "removed",
                           "derived", "created", "changed", "uid", "resource_version", "key_revisions", "checksum"}
    assert_no_value(result, values_in(api))


def test_second_run_reads_and_writes_nothing(api):
    first = ok()
    api.create_namespaced_secret.reset_mock()
    second = ok()
    assert second["changed"] is False and api.writes() == 0
    assert second["checksum"] == first["checksum"]
    for name, report in second["secrets"].items():
        assert report["changed"] is False and report["created"] is False
        assert report["generated"] == report["adopted"] == report["derived"] == []
        assert report["key_revisions"] == first["secrets"][name]["key_revisions"]
        assert report["resource_version"] == first["secrets"][name]["resource_version"]


def test_replaces_with_the_resource_version_read_keeping_unmanaged_keys_and_labels(api):
    api.put("airflow-secrets", {"UNMANAGED": "kept-as-is-value", "JWT": "ab" * 32},
            annotations={ANNOTATION: json.dumps({"JWT": 3}), "other/annotation": "kept"},
            labels={"team": "data"})
    rv_read = api.store["airflow-secrets"]["metadata"]["resourceVersion"]
    secrets = [{"name": "airflow-secrets", "labels": {"app": "airflow"},
                "keys": [{"name": "JWT", "kind": "hex", "length": 64}, {"name": "NEW", "kind": "password"}]}]
    result = ok(secrets)
    assert api.create_namespaced_secret.call_count == 0 and api.replace_namespaced_secret.call_count == 1
    name, namespace, body = api.replace_namespaced_secret.call_args[0]
    assert (name, namespace) == ("airflow-secrets", NS)
    assert body["metadata"]["resourceVersion"] == rv_read  # guarded: a concurrent writer gets 409
    stored = api.values("airflow-secrets")
    assert stored["UNMANAGED"] == "kept-as-is-value" and stored["JWT"] == "ab" * 32 and len(stored["NEW"]) == 32
    meta = api.store["airflow-secrets"]["metadata"]
    assert meta["labels"] == {"team": "data", "app": "airflow"}
    assert meta["annotations"]["other/annotation"] == "kept"
    assert json.loads(meta["annotations"][ANNOTATION]) == {"JWT": 3, "NEW": 1}
    report = result["secrets"]["airflow-secrets"]
    assert report["created"] is False and report["changed"] is True and report["generated"] == ["NEW"]
    assert report["key_revisions"] == {"JWT": 3, "NEW": 1}
    assert report["resource_version"] == meta["resourceVersion"] != rv_read
    assert report["uid"] == "uid-airflow-secrets"
    assert_no_value(result, values_in(api))


def test_a_missing_label_alone_rewrites_the_secret_without_touching_revisions(api):
    ok([{"name": "s", "keys": [{"name": "A"}]}])
    result = ok([{"name": "s", "keys": [{"name": "A"}], "labels": {"app": "airflow"}}])
    assert api.replace_namespaced_secret.call_count == 1 and result["changed"] is True
    assert api.store["s"]["metadata"]["labels"] == {"app": "airflow"}
    assert result["secrets"]["s"]["key_revisions"] == {"A": 1}


# --- conflicts and API errors ----------------------------------------------------------------


def test_conflict_on_replace_fails_clearly_and_writes_nothing(api):
    api.put("airflow-secrets", {"JWT": "cd" * 32})

    def someone_else_wrote_first(name, namespace, body):
        api.put(name, {"JWT": "ef" * 32})  # resourceVersion moves on between our read and our write
        return FakeCoreV1Api._replace(api, name, namespace, body)

    api.replace_namespaced_secret.side_effect = someone_else_wrote_first
    out = failed([{"name": "airflow-secrets", "keys": [{"name": "JWT", "kind": "hex"}, {"name": "NEW"}]}])
    assert out.result["msg"] == (
        "Secret airflow-secrets in namespace %s was changed by someone else while this task ran "
        "(resourceVersion conflict); nothing was written, run again." % NS)
    assert api.values("airflow-secrets") == {"JWT": "ef" * 32}
    assert_no_value(out.result, values_in(api) | {"cd" * 32})


def test_conflict_on_create_fails_clearly(api):
    def created_meanwhile(namespace, body):
        api.put(body["metadata"]["name"], {"A": "written-by-another-run"})
        return FakeCoreV1Api._create(api, namespace, body)

    api.create_namespaced_secret.side_effect = created_meanwhile
    out = failed([{"name": "s", "keys": [{"name": "A"}]}])
    assert "Secret s in namespace %s was changed by someone else" % NS in out.result["msg"]
    assert "nothing was written, run again" in out.result["msg"]
    assert api.values("s") == {"A": "written-by-another-run"}


@pytest.mark.parametrize("method, action", [("read_namespaced_secret", "read"),
                                            ("create_namespaced_secret", "create")])
def test_other_api_errors_name_the_action_and_status(api, method, action):
    getattr(api, method).side_effect = _api_exception(403, "Forbidden")
    out = failed([{"name": "s", "keys": [{"name": "A"}]}])
    assert out.result["msg"] == "Cannot %s Secret s in namespace %s: 403 Forbidden" % (action, NS)


def test_an_unreachable_cluster_is_said_so(api):
    api.read_namespaced_secret.side_effect = MaxRetryError(None, "/api/v1", "connection refused")
    out = failed([{"name": "s", "keys": [{"name": "A"}]}])
    assert out.result["msg"] == "Cannot read Secret s in namespace %s: cluster unreachable (MaxRetryError)" % NS


def test_a_supplied_value_differing_from_the_stored_one_fails_without_showing_either(api):
    api.put("s", {"A": "stored-value-1234"})
    out = failed([{"name": "s", "keys": [{"name": "A", "value": "supplied-value-5678"}]}])
    assert "differs from the one stored" in out.result["msg"] and api.writes() == 0
    assert_no_value(out.result, {"stored-value-1234", "supplied-value-5678"})
    assert {"stored-value-1234", "supplied-value-5678"} <= out.no_log_values

    result = ok([{"name": "s", "keys": [{"name": "A", "value": "supplied-value-5678"}]}], update_supplied=True)
    assert result["secrets"]["s"]["updated"] == ["A"] and api.values("s") == {"A": "supplied-value-5678"}
    assert result["secrets"]["s"]["key_revisions"] == {"A": 1}


# --- failure messages: the variable, the Secret, the key and what to do; never a value ------------

ADMIN = {"name": "airflow-secrets", "keys": [
    {"name": "AIRFLOW_ADMIN_PASSWORD", "kind": "password", "value": "", "variable": "airflow_admin_password"},
    {"name": "AIRFLOW__CORE__FERNET_KEY", "kind": "fernet", "variable": "airflow_fernet_key",
     "value": base64.urlsafe_b64encode(b"f" * 32).decode()},
    {"name": "AIRFLOW_DB_PASSWORD", "kind": "password", "value": "db-password-supplied-1234",
     "variable": "airflow_database_password"}]}


def test_a_mismatch_names_the_variable_the_secret_the_key_and_how_to_proceed(api):
    api.put("airflow-secrets", {"AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(b"s" * 32).decode(),
                                "AIRFLOW_DB_PASSWORD": "db-password-stored-5678"})
    spec = copy.deepcopy(ADMIN)
    del spec["keys"][0]
    out = failed([spec])
    assert out.result["msg"] == (
        "airflow_fernet_key (Secret airflow-secrets, key AIRFLOW__CORE__FERNET_KEY); "
        "airflow_database_password (Secret airflow-secrets, key AIRFLOW_DB_PASSWORD): the supplied value "
        "differs from the one stored in the cluster; nothing was written and the stored value is kept. "
        "To replace it, run again with airflow_secrets_update_supplied=true (module option update_supplied); "
        "to keep it, stop supplying a different value.")
    assert api.writes() == 0
    assert_no_value(out.result, values_in(api) | {k["value"] for k in spec["keys"]})


def test_a_mismatch_without_a_variable_names_the_secret_and_key(api):
    api.put("s", {"A": "stored-value-1234"})
    out = failed([{"name": "s", "keys": [{"name": "A", "value": "supplied-value-5678"}]}])
    assert out.result["msg"].startswith("Secret s, key A: the supplied value differs")
    assert "airflow_secrets_update_supplied=true" in out.result["msg"]


def test_an_empty_supplied_value_fails_by_variable_before_the_cluster_is_read(api):
    out = failed([copy.deepcopy(ADMIN)])
    assert out.result["msg"] == (
        "airflow_admin_password: empty (Secret airflow-secrets, key AIRFLOW_ADMIN_PASSWORD); leave it unset "
        "(null) to have a value generated, or supply a non-empty one")
    assert api.read_namespaced_secret.call_count == 0 and api.writes() == 0
    assert_no_value(out.result, {k["value"] for k in ADMIN["keys"] if k["value"]})
    assert "" not in out.no_log_values  # an empty string would mask every position of the message


def test_an_empty_value_of_kind_value_must_be_set(api):
    out = failed([{"name": "s", "keys": [{"name": "DB_USER", "kind": "value", "value": "",
                                          "variable": "airflow_database.user"}]}])
    assert out.result["msg"] == "airflow_database.user: empty (Secret s, key DB_USER); it must be set"


def test_a_missing_value_of_kind_value_is_named(api):
    out = failed([{"name": "s", "keys": [{"name": "DB_USER", "kind": "value", "variable": "airflow_database.user"}]}])
    assert out.result["msg"].startswith("airflow_database.user (Secret s, key DB_USER): not set")


def test_an_invalid_supplied_fernet_key_names_the_variable_not_the_value(api):
    bad = base64.urlsafe_b64encode(b"short-key-material").decode()
    out = failed([{"name": "s", "keys": [{"name": "FERNET", "kind": "fernet", "value": bad,
                                          "variable": "airflow_fernet_key"}]}])
    assert out.result["msg"] == ("airflow_fernet_key: Fernet key #1 is not 32 url-safe base64-encoded bytes "
                                 "(Secret s, key FERNET)")
    assert bad not in out.result["msg"] and api.read_namespaced_secret.call_count == 0


def test_an_invalid_stored_fernet_key_names_the_secret_and_key(api):
    api.put("s", {"FERNET": "stored-not-a-fernet-key"})
    out = failed([{"name": "s", "keys": [{"name": "FERNET", "kind": "fernet", "variable": "airflow_fernet_key"}]}])
    assert out.result["msg"] == ("the stored value of Secret s, key FERNET: Fernet key #1 is not 32 "
                                 "url-safe base64-encoded bytes; fix or delete it in the cluster")
    assert "stored-not-a-fernet-key" not in out.result["msg"]


def test_a_plain_value_is_stored_but_not_masked_so_messages_stay_legible(api):
    spec = {"name": "airflow-secrets", "keys": [
        {"name": "DB_USER", "kind": "value", "plain": "airflow", "variable": "airflow_database.user"},
        {"name": "ADMIN", "value": "", "variable": "airflow_admin_password"}]}
    out = failed([spec])
    assert out.result["msg"].startswith("airflow_admin_password: empty (Secret airflow-secrets, key ADMIN)")
    assert "airflow" not in out.no_log_values
    del spec["keys"][1]
    result = run([spec])
    assert api.values("airflow-secrets") == {"DB_USER": "airflow"} and "airflow" not in result.no_log_values
    assert failed([{"name": "s", "keys": [{"name": "A", "value": "x", "plain": "y"}]}]).result["msg"] == (
        "Secret s, key A: value and plain are mutually exclusive")


def test_what_ansible_prints_masks_every_supplied_value_in_the_invocation(api, monkeypatch, capsys):
    """The real fail_json: the JSON Ansible shows (at -vvv the whole of it, with `invocation`)."""
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", REAL_FAIL_JSON)
    api.put("airflow-secrets", {"AIRFLOW_DB_PASSWORD": "db-password-stored-5678"})
    spec = copy.deepcopy(ADMIN)
    spec["keys"][0]["value"] = "admin-password-supplied-9012"
    with patch_module_args(dict(namespace=NS, secrets=[spec])):
        with pytest.raises(SystemExit):
            airflow_secret.main()
    printed = capsys.readouterr().out
    result = json.loads(printed)
    assert result["failed"] is True and result["msg"].startswith("airflow_database_password (Secret")
    for key in result["invocation"]["module_args"]["secrets"][0]["keys"]:
        assert key["value"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" and key["variable"]
    for value in [k["value"] for k in spec["keys"]] + ["db-password-stored-5678"]:
        assert value not in printed


# --- revisions and checksums ------------------------------------------------------------------


def test_revisions_rise_only_for_written_keys_and_checksums_follow(api):
    first = ok()
    revisions = first["secrets"]["airflow-secrets"]["key_revisions"]
    assert revisions == {"BROKER": 1, "CONN": 1, "DB_PASSWORD": 1, "DB_USER": 1, "FERNET": 1, "JWT": 1}
    for name, report in first["secrets"].items():
        assert report["checksum"] == expected_checksum(report["uid"], report["key_revisions"])
    assert first["checksum"] == hashlib.sha256(",".join(
        first["secrets"][spec["name"]]["checksum"] for spec in SPECS).encode()).hexdigest()[:16]

    rotate = copy.deepcopy(SPECS)
    rotate[1]["keys"][0]["rotate"] = True
    second = ok(rotate)
    report = second["secrets"]["airflow-secrets"]
    assert report["rotated"] == ["FERNET"] and report["key_revisions"] == dict(revisions, FERNET=2)
    assert report["checksum"] != first["secrets"]["airflow-secrets"]["checksum"]
    redis_before, redis_after = first["secrets"]["airflow-redis-password"], second["secrets"]["airflow-redis-password"]
    assert redis_after["changed"] is False and redis_after["key_revisions"] == redis_before["key_revisions"]
    assert redis_after["checksum"] == redis_before["checksum"]
    assert second["checksum"] != first["checksum"]
    assert json.loads(api.store["airflow-secrets"]["metadata"]["annotations"][ANNOTATION]) == report["key_revisions"]
    assert len(api.values("airflow-secrets")["FERNET"].split(",")) == 2


def test_a_derived_key_that_changes_raises_its_revision_only(api):
    ok()
    changed = copy.deepcopy(SPECS)
    changed[1]["derived"][0]["template"] = "postgresql://{DB_USER}:{DB_PASSWORD}@db-2:5432/airflow"
    report = ok(changed)["secrets"]["airflow-secrets"]
    assert report["derived"] == ["CONN"] and report["generated"] == []
    assert report["key_revisions"]["CONN"] == 2
    assert set(v for k, v in report["key_revisions"].items() if k != "CONN") == {1}


def test_an_unreadable_revisions_annotation_counts_as_none(api):
    api.put("s", {"A": "value-of-a-1234"}, annotations={ANNOTATION: "not json"})
    result = ok([{"name": "s", "keys": [{"name": "A"}]}])
    assert result["changed"] is False and api.writes() == 0
    assert result["secrets"]["s"]["key_revisions"] == {}
    assert result["secrets"]["s"]["checksum"] == expected_checksum("uid-s", {})
    result = ok([{"name": "s", "keys": [{"name": "A"}, {"name": "B"}]}])
    assert result["secrets"]["s"]["key_revisions"] == {"B": 1}
    assert json.loads(api.store["s"]["metadata"]["annotations"][ANNOTATION]) == {"B": 1}


def test_the_checksum_changes_when_a_secret_is_recreated(api):
    first = ok([{"name": "s", "keys": [{"name": "A"}]}])["secrets"]["s"]
    del api.store["s"]  # deleted by hand: the recreated Secret gets another uid

    def create_with_new_uid(namespace, body):
        FakeCoreV1Api._create(api, namespace, body)
        api.store["s"]["metadata"]["uid"] = "uid-recreated"
        return copy.deepcopy(api.store["s"])

    api.create_namespaced_secret.side_effect = create_with_new_uid
    second = ok([{"name": "s", "keys": [{"name": "A"}]}])["secrets"]["s"]
    assert second["created"] is True and second["key_revisions"] == first["key_revisions"] == {"A": 1}
    assert second["uid"] == "uid-recreated" and second["checksum"] != first["checksum"]


# --- check mode and diff mode ------------------------------------------------------------------


def test_check_mode_writes_nothing_and_reports_what_would_be_done(api):
    result = ok(check=True)
    assert api.writes() == 0 and api.store == {}
    assert result["changed"] is True
    report = result["secrets"]["airflow-secrets"]
    assert report["created"] is True and report["changed"] is True
    assert report["generated"] == ["DB_PASSWORD", "FERNET", "JWT"] and report["adopted"] == ["DB_USER"]
    assert report["derived"] == ["BROKER", "CONN"]
    assert report["keys"] == ["BROKER", "CONN", "DB_PASSWORD", "DB_USER", "FERNET", "JWT"]
    assert report["uid"] == "" and report["resource_version"] == ""
    assert report["key_revisions"] == dict((k, 1) for k in report["keys"])
    assert report["checksum"] == expected_checksum("", report["key_revisions"])
    assert_no_value(result, {"airflow-db-user-supplied"})  # nothing stored: the supplied value is all there is


def test_check_mode_on_existing_secrets_reports_the_current_resource_version(api):
    ok()
    before = copy.deepcopy(api.store)
    rotate = copy.deepcopy(SPECS)
    rotate[1]["keys"][0]["rotate"] = True
    result = ok(rotate, check=True)
    assert api.writes() == 2  # the two creates of the first run, nothing since
    assert api.values("airflow-secrets") == dict((k, base64.b64decode(v).decode())
                                                 for k, v in before["airflow-secrets"]["data"].items())
    report = result["secrets"]["airflow-secrets"]
    assert report["changed"] is True and report["created"] is False and report["rotated"] == ["FERNET"]
    assert report["resource_version"] == before["airflow-secrets"]["metadata"]["resourceVersion"]
    assert report["key_revisions"]["FERNET"] == 2
    assert result["secrets"]["airflow-redis-password"]["changed"] is False
    assert_no_value(result, values_in(api))


def test_check_mode_without_changes_reports_no_change(api):
    ok()
    result = ok(check=True)
    assert result["changed"] is False and api.writes() == 2


def test_diff_shows_per_key_states_never_values(api):
    api.put("airflow-secrets", {"JWT": "12" * 32, "CONN": "postgresql://stale:stale@db/airflow", "EXTRA": "extra-val"})
    result = ok(diff=True)
    diff = result["diff"]
    assert diff["before"]["airflow-redis-password"] == {"password": "absent"}
    assert diff["after"]["airflow-redis-password"] == {"password": "present"}
    assert diff["before"]["airflow-secrets"] == {
        "BROKER": "absent", "CONN": "present", "DB_PASSWORD": "absent", "DB_USER": "absent",
        "EXTRA": "present", "FERNET": "absent", "JWT": "present"}
    assert diff["after"]["airflow-secrets"] == {
        "BROKER": "present", "CONN": "changed", "DB_PASSWORD": "present", "DB_USER": "present",
        "EXTRA": "unchanged", "FERNET": "present", "JWT": "unchanged"}
    assert_no_value(result, values_in(api) | {"postgresql://stale:stale@db/airflow"})

    again = ok(diff=True, check=True)
    assert set(again["diff"]["after"]["airflow-secrets"].values()) == {"unchanged"}


def test_without_diff_mode_there_is_no_diff(api):
    assert "diff" not in ok()


def test_every_value_read_or_generated_is_masked_by_ansible(api):
    api.put("airflow-secrets", {"FERNET": base64.urlsafe_b64encode(b"k" * 32).decode() + ","
                                + base64.urlsafe_b64encode(b"j" * 32).decode()})
    out = run(diff=True)
    assert not out.failed
    assert values_in(api) <= out.no_log_values
    assert_no_value(out.result, values_in(api))


# --- how the cluster is found: kubernetes.core's options, variables and precedence -----------------


def test_the_argument_spec_is_kubernetes_core_auth_spec(api):
    with patch_module_args(dict(namespace=NS, secrets=[])):
        with mock.patch.object(airflow_secret, "AnsibleK8SModule", side_effect=Exit(False, {}, ())) as cls:
            with pytest.raises(Exit):
                airflow_secret.main()
    spec = cls.call_args[1]["argument_spec"]
    for name, option in AUTH_ARG_SPEC.items():
        assert spec[name] == option
    assert cls.call_args[1]["supports_check_mode"] is True


def _kubeconfig(path, **servers):
    """A kubeconfig with one context per server; the first one is current."""
    names = sorted(servers)
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": names[0],
        "clusters": [{"name": n, "cluster": {"server": servers[n]}} for n in names],
        "users": [{"name": n, "user": {"token": "token-" + n}} for n in names],
        "contexts": [{"name": n, "context": {"cluster": n, "user": n}} for n in names],
    }
    path.write_text(json.dumps(config))  # JSON is YAML
    return str(path)


@pytest.fixture
def built(monkeypatch):
    """Let kubernetes.core's code build the configuration for real; capture the ApiClient built on it
    (its requests are answered by the fake server)."""
    seen = {}
    _serve(monkeypatch, FakeSecretsServer(), seen)
    return seen


def test_k8s_auth_kubeconfig_and_context_from_the_environment_are_honoured(built, monkeypatch, tmp_path):
    path = _kubeconfig(tmp_path / "env-kubeconfig", a_current="https://current.invalid:6443",
                       b_chosen="https://chosen.invalid:6443")
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", path)
    monkeypatch.setenv("K8S_AUTH_CONTEXT", "b_chosen")
    ok([{"name": "s", "keys": [{"name": "A"}]}])
    assert server_and_token(built) == ("https://chosen.invalid:6443", "token-b_chosen")


def test_k8s_auth_kubeconfig_alone_uses_its_current_context(built, monkeypatch, tmp_path):
    path = _kubeconfig(tmp_path / "env-kubeconfig", a_current="https://current.invalid:6443",
                       b_other="https://other.invalid:6443")
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", path)
    ok([{"name": "s", "keys": [{"name": "A"}]}])
    assert server_and_token(built) == ("https://current.invalid:6443", "token-a_current")


def test_parameters_win_over_the_environment(built, monkeypatch, tmp_path):
    env_path = _kubeconfig(tmp_path / "env-kubeconfig", a="https://env.invalid:6443")
    param_path = _kubeconfig(tmp_path / "param-kubeconfig", a="https://param-a.invalid:6443",
                             b="https://param-b.invalid:6443")
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", env_path)
    monkeypatch.setenv("K8S_AUTH_CONTEXT", "a")
    ok([{"name": "s", "keys": [{"name": "A"}]}], kubeconfig=param_path, context="b")
    assert server_and_token(built) == ("https://param-b.invalid:6443", "token-b")


def test_k8s_auth_host_api_key_and_impersonation_from_the_environment(built, monkeypatch):
    monkeypatch.setenv("K8S_AUTH_HOST", "https://host-from-env.invalid:6443/")
    monkeypatch.setenv("K8S_AUTH_API_KEY", "api-key-from-env")
    monkeypatch.setenv("K8S_AUTH_VALIDATE_CERTS", "false")
    monkeypatch.setenv("K8S_AUTH_IMPERSONATE_USER", "deployer")
    ok([{"name": "s", "keys": [{"name": "A"}]}])
    assert built["configuration"].host == "https://host-from-env.invalid:6443"
    assert built["configuration"].api_key == {"authorization": "Bearer api-key-from-env"}
    assert built["configuration"].verify_ssl is False
    assert built["api_client"].default_headers["Impersonate-User"] == "deployer"


def test_a_bad_configuration_fails_with_kubernetes_core_message(built, monkeypatch, tmp_path):
    monkeypatch.setenv("K8S_AUTH_KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    out = failed([{"name": "s", "keys": [{"name": "A"}]}])
    assert out.result["msg"].startswith("Could not create API client: ")
    assert "api_client" not in built


def test_no_api_discovery_only_the_secrets_are_read(api):
    ok()
    assert [(method, path) for method, path, headers in api.requests[:2]] == [
        ("GET", "/api/v1/namespaces/%s/secrets/airflow-redis-password" % NS),
        ("GET", "/api/v1/namespaces/%s/secrets/airflow-secrets" % NS)]
    assert all(headers["authorization"] == "Bearer token-of-the-test" for method, path, headers in api.requests)


def test_a_key_moves_to_its_own_secret_with_its_value_and_the_old_one_drops_it(api):
    api.put("airflow-secrets", {"JWT": "ab" * 32, "KEEP": "kept-value"}, annotations={ANNOTATION: json.dumps({"JWT": 1})})
    specs = [{"name": "airflow-jwt", "keys": [{"name": "JWT", "kind": "hex", "length": 64,
                                               "moved_from": "airflow-secrets"}]},
             {"name": "airflow-secrets", "removed_keys": ["JWT"], "keys": []}]
    result = ok(specs)
    assert api.values("airflow-jwt") == {"JWT": "ab" * 32}
    assert api.values("airflow-secrets") == {"KEEP": "kept-value"}
    assert result["secrets"]["airflow-jwt"]["moved"] == ["JWT"]
    assert result["secrets"]["airflow-secrets"]["removed"] == ["JWT"]
    assert json.loads(api.store["airflow-secrets"]["metadata"]["annotations"][ANNOTATION]) == {}
    # the new home is written before the old one loses the key
    names = [c[0][1]["metadata"]["name"] for c in api.create_namespaced_secret.call_args_list]
    assert names == ["airflow-jwt"] and api.replace_namespaced_secret.call_count == 1
    assert_no_value(result, values_in(api) | {"ab" * 32})
    again = ok(specs)
    assert again["changed"] is False


def test_an_exclusive_secret_follows_the_supplied_values_and_is_not_created_empty(api):
    extra = {"name": "airflow-extra-env", "exclusive": True,
             "keys": [{"name": "TOKEN", "kind": "value", "value": "token-one-never-shown", "follow": True}]}
    empty = dict(extra, keys=[])
    assert ok([empty])["changed"] is False and api.writes() == 0   # nothing to hold: no Secret
    ok([extra])
    changed = ok([dict(extra, keys=[dict(extra["keys"][0], value="token-two-never-shown")])])
    assert changed["secrets"]["airflow-extra-env"]["updated"] == ["TOKEN"]
    assert api.values("airflow-extra-env") == {"TOKEN": "token-two-never-shown"}
    assert_no_value(changed, ["token-one-never-shown", "token-two-never-shown"])
    emptied = ok([empty])
    assert emptied["secrets"]["airflow-extra-env"]["removed"] == ["TOKEN"] and api.values("airflow-extra-env") == {}


def test_a_secret_that_is_not_exclusive_is_created_even_empty(api):
    # airflow-users without declared users: created empty, as pods and later runs expect it
    result = ok([{"name": "airflow-users", "keys": []}])
    assert result["secrets"]["airflow-users"]["created"] is True and api.values("airflow-users") == {}
