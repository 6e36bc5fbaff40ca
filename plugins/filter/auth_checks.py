# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of the login settings (auth manager, FAB users and roles, LDAP) that argument specs
cannot express.

auth_errors({"airflow_users": [...], ...}) -> ["airflow_users[1].email: ..."]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

FAB_ROLES = ("Admin", "Op", "User", "Viewer", "Public")
AUTH_MANAGERS = ("fab", "simple")
# a user name is also the key of its password in the users' Secret
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
LDAP_URI = re.compile(r"^ldaps?://[^/\s]+")


def _present(item):
    return isinstance(item, dict) and (item.get("state") or "present") == "present"


def _role_errors(roles):
    errors, names = [], []
    for position, role in enumerate(roles or []):
        where = "airflow_roles[%d]" % position
        if not isinstance(role, dict) or not role.get("name"):
            errors.append("%s: needs a name" % where)
            continue
        if role["name"] in FAB_ROLES:
            errors.append("%s: %s is one of FAB's own roles (%s); name a custom role" % (where, role["name"], ", ".join(FAB_ROLES)))
        if role["name"] in names:
            errors.append("%s: role %s is declared twice" % (where, role["name"]))
        names.append(role["name"])
        for index, perm in enumerate(role.get("permissions") or []):
            if not isinstance(perm, dict) or not perm.get("action") or not perm.get("resource"):
                errors.append("%s.permissions[%d]: needs action and resource (FAB names, e.g. can_read on DAGs)" % (where, index))
    return errors


def _user_errors(users, admin, roles):
    errors, names, emails = [], {}, {}
    known = set(FAB_ROLES) | set(r["name"] for r in roles or [] if _present(r) and r.get("name"))
    for position, user in enumerate(users or []):
        where = "airflow_users[%d]" % position
        if not isinstance(user, dict) or not user.get("username"):
            errors.append("%s: needs a username" % where)
            continue
        name = str(user["username"])
        where = "%s (%s)" % (where, name)
        if not SECRET_KEY.match(name):
            errors.append("%s.username: only letters, digits, '.', '_' and '-' (it names the key of its password)" % where)
        if name.lower() == str(admin).lower():
            errors.append("%s: %s is the administrator; set airflow_admin_user, airflow_admin_email and "
                          "airflow_admin_password instead" % (where, name))
        if name.lower() in names:
            errors.append("%s: duplicate username, also airflow_users[%d]" % (where, names[name.lower()]))
        names.setdefault(name.lower(), position)
        if not _present(user):
            continue
        email = user.get("email")
        if not email:
            errors.append("%s.email: FAB needs an email for every user" % where)
        elif not EMAIL.match(str(email)):
            errors.append("%s.email: %r is not an email address" % (where, email))
        elif str(email).lower() in emails:
            errors.append("%s.email: %s is also the email of airflow_users[%d]; FAB wants it unique"
                          % (where, email, emails[str(email).lower()]))
        else:
            emails[str(email).lower()] = position
        for role in user.get("roles") or ["Viewer"]:
            if role not in known:
                errors.append("%s.roles: unknown role %s (FAB's: %s; custom ones come from airflow_roles)"
                              % (where, role, ", ".join(sorted(known))))
    return errors


def _ldap_errors(ldap, roles, bind_password):
    if not isinstance(ldap, dict) or not ldap.get("enabled"):
        return []
    errors = []
    if not ldap.get("server_uri"):
        errors.append("airflow_ldap.server_uri: LDAP is enabled (airflow_ldap.enabled) but no server URI is set "
                      "(e.g. ldap://ldap.example.com:389)")
    elif not LDAP_URI.match(str(ldap["server_uri"])):
        errors.append("airflow_ldap.server_uri: %r is not an ldap:// or ldaps:// URI" % ldap["server_uri"])
    if not ldap.get("search_base"):
        errors.append("airflow_ldap.search_base: LDAP is enabled but no search base is set (e.g. ou=people,dc=example,dc=com)")
    if ldap.get("bind_dn") and not bind_password:
        errors.append("airflow_ldap_bind_password: airflow_ldap.bind_dn is set, so its password must be supplied "
                      "(e.g. from Ansible Vault); it is never generated")
    known = set(FAB_ROLES) | set(r["name"] for r in roles or [] if _present(r) and r.get("name"))
    for group, mapped in sorted((ldap.get("roles_mapping") or {}).items()):
        for role in (mapped if isinstance(mapped, list) else [mapped]):
            if role not in known:
                errors.append("airflow_ldap.roles_mapping[%s]: unknown role %s" % (group, role))
    registration = ldap.get("registration_role")
    if registration and registration not in known:
        errors.append("airflow_ldap.registration_role: unknown role %s" % registration)
    return errors


def auth_errors(variables):
    """One message per problem in the login settings, each naming its variable; [] when all is well."""
    variables = variables or {}
    manager = variables.get("airflow_auth_manager", "fab")
    if manager not in AUTH_MANAGERS:
        return ["airflow_auth_manager: unknown auth manager %r (expected one of %s)" % (manager, ", ".join(AUTH_MANAGERS))]
    users, roles = variables.get("airflow_users") or [], variables.get("airflow_roles") or []
    ldap = variables.get("airflow_ldap") or {}
    if manager == "simple":
        errors = []
        for name, value in (("airflow_users", users), ("airflow_roles", roles)):
            if value:
                errors.append("%s: needs airflow_auth_manager: fab (SimpleAuthManager knows the administrator alone)" % name)
        if isinstance(ldap, dict) and ldap.get("enabled"):
            errors.append("airflow_ldap.enabled: LDAP needs airflow_auth_manager: fab")
        return errors
    return _role_errors(roles) + _user_errors(users, variables.get("airflow_admin_user", "admin"), roles) \
        + _ldap_errors(ldap, roles, variables.get("airflow_ldap_bind_password"))


class FilterModule(object):
    def filters(self):
        return {"auth_errors": auth_errors}
