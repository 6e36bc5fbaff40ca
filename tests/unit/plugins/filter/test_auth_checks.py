# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""auth_errors: bad login settings fail naming the variable, before anything is applied."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.flujo.airflow.plugins.filter.auth_checks import auth_errors


def errors(**variables):
    return auth_errors(dict({"airflow_admin_user": "admin"}, **variables))


def test_good_settings_pass():
    assert errors(airflow_users=[{"username": "ana", "email": "ana@example.com", "roles": ["Reader"]}],
                  airflow_roles=[{"name": "Reader", "permissions": [{"action": "can_read", "resource": "DAGs"}]}],
                  airflow_ldap={"enabled": True, "server_uri": "ldap://ldap:389", "search_base": "dc=x",
                                "bind_dn": "cn=a,dc=x", "roles_mapping": {"cn=g,dc=x": ["Op"]}},
                  airflow_ldap_bind_password="pw") == []


def test_unknown_auth_manager():
    assert errors(airflow_auth_manager="ldap") == [
        "airflow_auth_manager: unknown auth manager 'ldap' (expected one of fab, simple)"]


def test_unknown_role_duplicate_user_missing_email_and_the_admin_name():
    out = errors(airflow_users=[{"username": "ana", "email": "a@x", "roles": ["Nope"]},
                                {"username": "ANA", "email": "b@x"}, {"username": "bob"},
                                {"username": "admin", "email": "c@x"}, {"username": "eve", "email": "a@x"}])
    assert out[0].startswith("airflow_users[0] (ana).roles: unknown role Nope")
    assert "airflow_users[1] (ANA): duplicate username, also airflow_users[0]" in out
    assert "airflow_users[2] (bob).email: FAB needs an email for every user" in out
    assert any(e.startswith("airflow_users[3] (admin): admin is the administrator") for e in out)
    assert any(e.startswith("airflow_users[4] (eve).email: a@x is also the email of airflow_users[0]") for e in out)


def test_an_absent_user_needs_no_email_and_a_username_must_be_a_secret_key():
    assert errors(airflow_users=[{"username": "gone", "state": "absent"}]) == []
    assert "only letters" in errors(airflow_users=[{"username": "a b", "email": "a@x"}])[0]


def test_ldap_without_server_uri_or_search_base_or_bind_password():
    out = errors(airflow_ldap={"enabled": True, "bind_dn": "cn=a"})
    assert out[0].startswith("airflow_ldap.server_uri: LDAP is enabled")
    assert out[1].startswith("airflow_ldap.search_base:")
    assert out[2].startswith("airflow_ldap_bind_password:")
    assert errors(airflow_ldap={"enabled": True, "server_uri": "http://x", "search_base": "dc=x"}) == [
        "airflow_ldap.server_uri: 'http://x' is not an ldap:// or ldaps:// URI"]
    assert errors(airflow_ldap={"enabled": False}) == []


def test_custom_roles_are_not_fab_roles_and_simple_takes_no_users():
    assert errors(airflow_roles=[{"name": "Admin"}])[0].startswith("airflow_roles[0]: Admin is one of FAB's own roles")
    out = errors(airflow_auth_manager="simple", airflow_users=[{"username": "a", "email": "a@x"}])
    assert out == ["airflow_users: needs airflow_auth_manager: fab (SimpleAuthManager knows the administrator alone)"]
