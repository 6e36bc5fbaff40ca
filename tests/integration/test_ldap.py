# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""LDAP login through FAB against a real OpenLDAP (Debian slapd, hack/images/openldap) deployed
into the namespace: a user who exists only in LDAP gets a token, lists DAGs with the role its
group maps to, is refused an admin endpoint; a wrong password is refused. The deployment is
converged back without LDAP afterwards.

AIRFLOW_LDAP_API_SERVER_IMAGE (repository:tag) runs the api-server on another image for this test
(one with python-ldap, when the deployed one predates it)."""

import json
import os
import secrets
import time

import pytest

from helpers import NAMESPACE, Api, admin_password, converge_with, kubectl, pod_of

SUFFIX = "dc=flujo,dc=test"
LDAP_IMAGE = os.environ.get("AIRFLOW_LDAP_IMAGE", "local/openldap:1")
LDIF = """dn: {suffix}
objectClass: top
objectClass: dcObject
objectClass: organization
o: flujo
dc: flujo

dn: ou=people,{suffix}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{suffix}
objectClass: organizationalUnit
ou: groups

dn: uid=lucia,ou=people,{suffix}
objectClass: inetOrgPerson
uid: lucia
cn: Lucia Ldap
givenName: Lucia
sn: Ldap
mail: lucia@flujo.test
userPassword: {password}

dn: cn=airflow-viewers,ou=groups,{suffix}
objectClass: groupOfNames
cn: airflow-viewers
member: uid=lucia,ou=people,{suffix}
"""


def ldap_objects(admin_pw, user_pw):
    labels = {"app.kubernetes.io/name": "flujo-ldap", "app.kubernetes.io/part-of": "flujo-test"}
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "flujo-ldap", "labels": labels},
              "data": {"data.ldif": LDIF.format(suffix=SUFFIX, password=user_pw)}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "flujo-ldap", "labels": labels},
              "stringData": {"admin-password": admin_pw}}
    container = {
        "name": "slapd", "image": LDAP_IMAGE, "imagePullPolicy": "IfNotPresent",
        "env": [{"name": "LDAP_SUFFIX", "value": SUFFIX},
                {"name": "LDAP_ADMIN_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "flujo-ldap", "key": "admin-password"}}}],
        "ports": [{"name": "ldap", "containerPort": 1389}],
        "readinessProbe": {"tcpSocket": {"port": 1389}, "periodSeconds": 2},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                            "runAsUser": 999, "capabilities": {"drop": ["ALL"]}},
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "ldif", "mountPath": "/ldif"}]}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "flujo-ldap", "labels": labels},
                  "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
                      "metadata": {"labels": labels},
                      "spec": {"containers": [container], "automountServiceAccountToken": False,
                               "volumes": [{"name": "tmp", "emptyDir": {}},
                                           {"name": "ldif", "configMap": {"name": "flujo-ldap"}}]}}}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "flujo-ldap", "labels": labels},
               "spec": {"selector": labels, "ports": [{"name": "ldap", "port": 1389, "targetPort": "ldap"}]}}
    return [config, secret, deployment, service]


@pytest.fixture
def openldap(tmp_path):
    admin_pw, user_pw = secrets.token_hex(12), "Lucia-" + secrets.token_hex(8)
    path = tmp_path / "ldap.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": ldap_objects(admin_pw, user_pw)}))
    kubectl("apply", "-f", str(path))
    kubectl("rollout", "status", "deployment/flujo-ldap", "--timeout=180s")
    deadline = time.time() + 60
    while "slapd ready" not in kubectl("logs", "deployment/flujo-ldap", check=False).stdout:
        assert time.time() < deadline, kubectl("logs", "deployment/flujo-ldap", check=False).stdout[-2000:]
        time.sleep(1)
    yield admin_pw, user_pw
    kubectl("delete", "-f", str(path), "--wait=false", check=False)


def converge(tmp_path, **variables):
    return converge_with(tmp_path, **variables)


def test_an_ldap_only_user_logs_in_with_its_groups_role(core, api_url, openldap, tmp_path):
    admin_pw, user_pw = openldap
    extra = {}
    if os.environ.get("AIRFLOW_LDAP_API_SERVER_IMAGE"):
        repo, tag = os.environ["AIRFLOW_LDAP_API_SERVER_IMAGE"].rsplit(":", 1)
        extra["airflow_api_server_image"] = {"repository": repo, "tag": tag, "pull_policy": "IfNotPresent"}
    ldap = {"enabled": True, "server_uri": "ldap://flujo-ldap.%s.svc.cluster.local:1389" % NAMESPACE,
            "bind_dn": "cn=admin,%s" % SUFFIX, "search_base": "ou=people,%s" % SUFFIX, "uid_field": "uid",
            "group_field": "memberOf", "registration_role": "Public",
            "roles_mapping": {"cn=airflow-viewers,ou=groups,%s" % SUFFIX: ["Viewer"]}}
    try:
        converge(tmp_path, airflow_ldap=ldap, airflow_ldap_bind_password=admin_pw, **extra)
        pod = pod_of(core, "api-server")
        probe = kubectl("exec", pod, "-c", "api-server", "--", "python", "-c", "import ldap", check=False)
        assert probe.returncode == 0, "the api-server's image lacks python-ldap (hack/images/airflow/Dockerfile installs it)"
        env = kubectl("exec", pod, "-c", "api-server", "--", "sh", "-c", "grep -c AUTH_LDAP $AIRFLOW__FAB__CONFIG_FILE").stdout
        assert int(env) > 5

        assert Api(api_url, "wrong-" + user_pw, user="lucia").login().status_code == 401
        lucia = Api(api_url, user_pw, user="lucia")
        assert lucia.login().status_code == 201
        assert lucia.raw("GET", "/api/v2/dags").status_code == 200
        assert lucia.raw("GET", "/auth/fab/v1/users").status_code == 403
        assert lucia.raw("POST", "/api/v2/connections", json={"connection_id": "x", "conn_type": "http"}).status_code == 403
        # FAB registered her at the first login with the role her group maps to
        admin = Api(api_url, admin_password(core))
        user = admin.call("GET", "/auth/fab/v1/users/lucia")
        assert "Viewer" in [r["name"] for r in user["roles"]] and user["email"] == "lucia@flujo.test"
        # the database users keep their token login beside LDAP
        assert admin.login().status_code == 201
    finally:
        converge(tmp_path)
    assert "AUTH_TYPE = AUTH_DB" in kubectl("get", "configmap", "airflow-api-server-config",
                                              "-o", "jsonpath={.data.webserver_config\\.py}").stdout
