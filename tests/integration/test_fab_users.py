# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The FAB auth manager: its tables made by the migration Job, the admin as first user, users and
roles as code (created, updated, removed, then changed=0 with no write; check mode predicts the
run exactly), users of two roles through the official apache-airflow-client, no pod restarted."""

import re

import pytest

from helpers import NAMESPACE, USERS_SECRET, Api, admin_password, converge_with, kubectl, psql, read_secret, secret_versions

ROLE = {"name": "DagAuditor", "permissions": [{"action": "can_read", "resource": "DAGs"},
                                              {"action": "can_read", "resource": "DAG Runs"}]}


def fab_fingerprint(core):
    """Everything FAB keeps about users and roles, down to login times and change stamps: equal
    fingerprints mean nothing was written."""
    return psql(core, "SELECT md5(coalesce(string_agg(t, '|' ORDER BY t), '')) FROM ("
                      "SELECT u::text AS t FROM ab_user u UNION ALL SELECT r::text FROM ab_user_role r "
                      "UNION ALL SELECT r::text FROM ab_role r UNION ALL SELECT p::text FROM ab_permission_view_role p) x")


def converge(tmp_path, *extra, **variables):
    # JSON results: one line per message, never wrapped
    return converge_with(tmp_path, *extra, json_results=True, **variables)


def users_line(output):
    """The run's report of what happened to the users (the airflow_users role's message)."""
    found = re.findall(r'"msg": "((?:created|updated|removed|roles|users and roles)[^"]*)"', output)
    assert found, output[-2000:]
    return found[-1]


def token_client(api_url, user, password):
    import airflow_client.client as af
    resp = Api(api_url, password, user=user).login()
    assert resp.status_code == 201, (user, resp.status_code)
    return af.ApiClient(af.Configuration(host=api_url, access_token=resp.json()["access_token"]))


def test_fab_tables_exist_and_the_admin_is_the_first_user(core, api_url):
    tables = psql(core, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE tablename LIKE 'ab_%'")
    for table in ("ab_user", "ab_role", "ab_permission_view_role", "ab_user_role"):
        assert table in tables.split(","), tables
    assert psql(core, "SELECT username FROM ab_user ORDER BY id LIMIT 1") == "admin"
    assert psql(core, "SELECT r.name FROM ab_user u JOIN ab_user_role ur ON ur.user_id = u.id "
                      "JOIN ab_role r ON r.id = ur.role_id WHERE u.username = 'admin'") == "Admin"
    assert Api(api_url, admin_password(core)).login().status_code == 201
    cfg = kubectl("get", "configmap", "airflow-config", "-o", "jsonpath={.data.AIRFLOW__CORE__AUTH_MANAGER}").stdout
    assert cfg.endswith("FabAuthManager")


def test_users_and_roles_as_code(core, k8s, api_url, tmp_path):
    from airflow_client.client.api.connection_api import ConnectionApi
    from airflow_client.client.api.dag_api import DAGApi
    from airflow_client.client.exceptions import ForbiddenException
    from airflow_client.client.models.connection_body import ConnectionBody

    # from a known start: a cluster where this test ran before still has its users and its role
    names = ("ana", "otto", "dora", "stray")
    left = psql(core, "SELECT (SELECT count(*) FROM ab_user WHERE username IN ('%s')) + "
                      "(SELECT count(*) FROM ab_role WHERE name = '%s')" % ("','".join(names), ROLE["name"]))
    if left != "0":
        converge(tmp_path, airflow_roles=[dict(ROLE, state="absent")],
                 airflow_users=[{"username": name, "state": "absent"} for name in names])
    # a user nobody declared, made through FAB's API: kept until airflow_users_exclusive
    admin = Api(api_url, admin_password(core))
    stray = {"username": "stray", "email": "stray@flujo.test", "first_name": "s", "last_name": "s",
             "roles": [{"name": "Viewer"}], "password": "stray-Passw0rd"}
    assert admin.raw("POST", "/auth/fab/v1/users", json=stray).status_code in (200, 201)

    declared = {"airflow_roles": [ROLE], "airflow_users": [
        {"username": "ana", "email": "ana@flujo.test", "roles": ["Viewer"], "first_name": "Ana"},
        {"username": "otto", "email": "otto@flujo.test", "roles": ["Op"]},
        {"username": "dora", "email": "dora@flujo.test", "roles": ["DagAuditor"]}]}
    check = converge(tmp_path, "--check", **declared)
    run = converge(tmp_path, **declared)
    assert users_line(check.output) == users_line(run.output)
    assert "created: ana, otto, dora" in users_line(run.output) and "roles created: DagAuditor" in users_line(run.output)
    assert "removed" not in users_line(run.output)
    assert psql(core, "SELECT count(*) FROM ab_user WHERE username = 'stray'") == "1"
    passwords = read_secret(core, USERS_SECRET)
    assert sorted(passwords) == ["ana", "dora", "otto"] and all(len(p) == 24 for p in passwords.values())

    # two roles, different answers, through the official client
    viewer, op = token_client(api_url, "ana", passwords["ana"]), token_client(api_url, "otto", passwords["otto"])
    assert DAGApi(viewer).get_dags().total_entries >= 0
    body = ConnectionBody(connection_id="flujo_fab_op", conn_type="http", host="example.com")
    with pytest.raises(ForbiddenException):
        ConnectionApi(viewer).post_connection(body)
    assert ConnectionApi(op).post_connection(body).connection_id == "flujo_fab_op"
    ConnectionApi(op).delete_connection("flujo_fab_op")
    auditor = Api(api_url, passwords["dora"], user="dora")
    assert auditor.raw("GET", "/api/v2/dags").status_code == 200
    assert auditor.raw("GET", "/api/v2/connections").status_code == 403

    # a changed role, a user removed, and with exclusive the one nobody declared
    changed = {"airflow_users_exclusive": True, "airflow_roles": [ROLE], "airflow_users": [
        {"username": "ana", "email": "ana@flujo.test", "roles": ["User"], "first_name": "Ana"},
        {"username": "otto", "state": "absent"},
        {"username": "dora", "email": "dora@flujo.test", "roles": ["DagAuditor"]}]}
    check = converge(tmp_path, "--check", "--diff", **changed)   # --diff ran out of memory once
    run = converge(tmp_path, **changed)
    assert users_line(check.output) == users_line(run.output)
    assert "updated: ana (roles)" in users_line(run.output)
    removed = re.search(r"(?<!roles )removed: ([^;]*)", users_line(run.output))
    assert removed and sorted(removed.group(1).split(", ")) == ["otto", "stray"], users_line(run.output)
    assert "otto" not in read_secret(core, USERS_SECRET)
    assert Api(api_url, passwords["otto"], user="otto").login().status_code == 401
    assert psql(core, "SELECT count(*) FROM ab_user WHERE username IN ('otto', 'stray')") == "0"

    # converged: changed=0, not one write to FAB's tables or to the Secrets; check mode agrees
    before, secrets = fab_fingerprint(core), secret_versions(core)
    again = converge(tmp_path, **changed)
    assert re.search(r"changed=0\s", again.output), again.output[-1500:]
    assert users_line(again.output) == "users and roles unchanged"
    check = converge(tmp_path, "--check", "--diff", **changed)
    assert users_line(check.output) == "users and roles unchanged"
    assert re.search(r"changed=0\s", check.output), check.output[-1500:]
    assert fab_fingerprint(core) == before
    assert secret_versions(core) == secrets
    assert Api(api_url, passwords["ana"], user="ana").login().status_code == 201


def test_no_airflow_pod_restarted(core):
    pods = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/part-of=airflow").items
    restarts = {p.metadata.name: sum(s.restart_count for s in (p.status.container_statuses or [])) for p in pods}
    assert restarts and not any(restarts.values()), restarts


def test_switching_from_simple_to_fab_keeps_history(core, k8s, api_url, tmp_path):
    from kubernetes import client
    converge(tmp_path, airflow_auth_manager="simple")
    api = Api(api_url, admin_password(core))
    if psql(core, "SELECT count(*) FROM dag_run WHERE state = 'success'") == "0":  # history to keep
        assert api.wait(api.trigger("flujo_hello"), timeout=300) == "success"
    before = psql(core, "SELECT (SELECT count(*) FROM dag_run) || ',' || (SELECT count(*) FROM task_instance)")
    hello_runs = psql(core, "SELECT count(*) FROM dag_run WHERE dag_id = 'flujo_hello'")
    jobs_before = {j.metadata.name for j in client.BatchV1Api(k8s).list_namespaced_job(
        NAMESPACE, label_selector="app.kubernetes.io/component=migrate").items}

    run = converge(tmp_path)  # the default: fab
    assert "created: admin" in users_line(run.output) or "users and roles unchanged" in users_line(run.output)
    after = psql(core, "SELECT (SELECT count(*) FROM dag_run) || ',' || (SELECT count(*) FROM task_instance)")
    assert after == before
    jobs = client.BatchV1Api(k8s).list_namespaced_job(NAMESPACE, label_selector="app.kubernetes.io/component=migrate").items
    assert len(jobs) == 1 and jobs[0].metadata.name not in jobs_before and jobs[0].status.succeeded == 1
    api = Api(api_url, admin_password(core))
    # the runs of flujo_hello are all still listed (earlier tests may have run other DAGs too)
    assert api.call("GET", "/api/v2/dags/flujo_hello/dagRuns")["total_entries"] == int(hello_runs)
    assert api.wait(api.trigger("flujo_hello"), timeout=300) == "success"
