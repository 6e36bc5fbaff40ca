# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconcile FAB users and roles with what the inventory declares, inside an api-server pod.

The airflow_users module runs this as `python -c "<this file>"` in the api-server container and
writes one line of JSON to its stdin (passwords travel only there: never in argv, the exec request
or the environment):
  {"users": [{"username", "email", "first_name", "last_name", "roles": [...], "state", "password"}],
   "roles": [{"name", "permissions": [[action, resource], ...], "state"}],
   "exclusive": bool, "keep": [usernames never removed], "check": bool}
It prints one line, MARKER and JSON (Airflow may log to stdout too): what was (or, with check,
would be) created, updated and removed, by name; never a password.

Reading is plain SQL on FAB's tables (no Flask app: fast, and a no-op run writes nothing);
passwords are compared with the stored hash (check_password_hash), so an unchanged one costs no
write. Only when something differs are the changes made through FAB's security manager, the code
behind FAB's CLI and REST API. (The CLI cannot update a user's names or email; the REST API can
only test a password by logging in, which writes the user's login time on every run.)
Nothing here may rely on __file__; Python 3.9+, SQLAlchemy, werkzeug, Airflow's FAB provider.
"""

import json
import os
import sys

MARKER = "flujo.airflow/users: "
FIELDS = ("email", "first_name", "last_name")
# FAB grants every custom role this at each permission sync: declared or not, it is wanted
HOMEPAGE = ("can_read", "Website")
REPORT_KEYS = ("created", "updated", "removed", "roles_created", "roles_updated", "roles_removed")


def wanted_permissions(role):
    return {tuple(p) for p in role.get("permissions") or []} | {HOMEPAGE}


def present(item):
    return item.get("state", "present") != "absent"


def plan(desired, state, password_ok):
    """The changes that make state what desired declares (pure: no database).

    state: {"users": {username: {"email", "first_name", "last_name", "roles": [names], "active",
    "password": hash}}, "roles": {name: set of (action, resource)}, "permissions": set of (action,
    resource) FAB knows}; password_ok(hash, password) -> bool.
    Returns the report: created, updated {user: [fields]}, removed, roles_created/updated/removed.
    Raises ValueError for a role or permission FAB does not have."""
    report = {"created": [], "updated": {}, "removed": [], "roles_created": [], "roles_updated": [],
              "roles_removed": []}
    roles = state["roles"]
    for role in desired.get("roles") or []:
        name = role["name"]
        if not present(role):
            if name in roles:
                report["roles_removed"].append(name)
            continue
        unknown = sorted(wanted_permissions(role) - state["permissions"])
        if unknown:
            raise ValueError("role %s: FAB has no permission %s" % (name, ", ".join("%s on %s" % p for p in unknown)))
        if name not in roles:
            report["roles_created"].append(name)
        elif roles[name] != wanted_permissions(role):
            report["roles_updated"].append(name)
    available = (set(roles) - set(report["roles_removed"])) | set(report["roles_created"])
    missing = sorted({r for u in desired["users"] if present(u) for r in u["roles"]} - available)
    if missing:
        raise ValueError("unknown role(s) %s (FAB has %s)" % (", ".join(missing), ", ".join(sorted(available))))

    users = state["users"]
    for user in desired["users"]:
        name, current = user["username"], users.get(user["username"])
        if not present(user):
            if current is not None:
                report["removed"].append(name)
            continue
        if current is None:
            report["created"].append(name)
            continue
        fields = [f for f in FIELDS if user.get(f) is not None and user[f] != current[f]]
        if sorted(user["roles"]) != sorted(current["roles"]):
            fields.append("roles")
        if not current["active"]:
            fields.append("active")
        # None: a password the real run generates first (check mode), so it differs
        if user["password"] is None or not (current["password"] and password_ok(current["password"], user["password"])):
            fields.append("password")
        if fields:
            report["updated"][name] = fields
    if desired.get("exclusive"):
        declared = {u["username"] for u in desired["users"]} | set(desired.get("keep") or [])
        report["removed"] += sorted(set(users) - declared)
    return report


def changed(report):
    return any(report[k] for k in REPORT_KEYS)


def read_state(url):
    """FAB's users, roles and permissions, read with plain SQL (nothing is written)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    sql = sqlalchemy.text
    with engine.connect() as conn:
        users = {}
        for row in conn.execute(sql("SELECT id, username, email, first_name, last_name, active, password FROM ab_user")):
            users[row.id] = {"username": row.username, "email": row.email, "first_name": row.first_name,
                             "last_name": row.last_name, "active": bool(row.active), "password": row.password,
                             "roles": []}
        role_names = dict(conn.execute(sql("SELECT id, name FROM ab_role")).fetchall())
        for user_id, role_id in conn.execute(sql("SELECT user_id, role_id FROM ab_user_role")):
            if user_id in users and role_id in role_names:
                users[user_id]["roles"].append(role_names[role_id])
        perms = {}
        for row in conn.execute(sql(
                "SELECT pv.id, p.name AS action, v.name AS resource FROM ab_permission_view pv "
                "JOIN ab_permission p ON p.id = pv.permission_id JOIN ab_view_menu v ON v.id = pv.view_menu_id")):
            perms[row.id] = (row.action, row.resource)
        roles = dict((name, set()) for name in role_names.values())
        for role_id, perm_id in conn.execute(sql("SELECT role_id, permission_view_id FROM ab_permission_view_role")):
            if role_id in role_names and perm_id in perms:
                roles[role_names[role_id]].add(perms[perm_id])
    engine.dispose()
    return {"users": dict((u["username"], u) for u in users.values()), "roles": roles,
            "permissions": set(perms.values())}


def apply(desired, report, sm):
    """Make the planned changes through FAB's security manager sm."""
    by_name = dict((r["name"], r) for r in desired.get("roles") or [])
    for name in report["roles_removed"]:
        sm.delete_role(name)
    for name in report["roles_created"] + report["roles_updated"]:
        role = sm.find_role(name) or sm.add_role(name)
        have = {(p.action.name, p.resource.name) for p in role.permissions}
        want = wanted_permissions(by_name[name])
        for action, resource in sorted(want - have):
            sm.add_permission_to_role(role, sm.get_permission(action, resource))
        for action, resource in sorted(have - want):
            sm.remove_permission_from_role(role, sm.get_permission(action, resource))
    users = dict((u["username"], u) for u in desired["users"])
    for name in report["created"]:
        user = users[name]
        if not sm.add_user(name, user["first_name"], user["last_name"], user["email"],
                           [sm.find_role(r) for r in user["roles"]], user["password"]):
            raise ValueError("FAB refused to create user %s (is its email taken?)" % name)
    for name, fields in report["updated"].items():
        user, obj = users[name], sm.find_user(username=name)
        for field in FIELDS:
            setattr(obj, field, user[field])
        obj.roles = [sm.find_role(r) for r in user["roles"]]
        obj.active = True
        if "password" in fields:
            obj.password = sm._hash_password(user["password"])  # pylint: disable=protected-access
        if not sm.update_user(obj):
            raise ValueError("FAB refused to update user %s (is its email taken?)" % name)
    for name in report["removed"]:
        obj = sm.find_user(username=name)
        obj.roles = []
        sm.session.delete(obj)
        sm.session.commit()


def main():
    desired = json.loads(sys.stdin.readline())
    try:
        from werkzeug.security import check_password_hash

        report = plan(desired, read_state(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]), check_password_hash)
        if changed(report) and not desired.get("check"):
            # only read FAB's permissions here: the migration Job is the one writer of them
            os.environ["AIRFLOW__FAB__UPDATE_FAB_PERMS"] = "False"
            from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

            with get_application_builder() as appbuilder:
                apply(desired, report, appbuilder.sm)
    except Exception as exc:  # pylint: disable=broad-except
        # messages name users, roles and permissions, never a password
        print(MARKER + json.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}))
        sys.exit(1)
    report["changed"] = changed(report)
    print(MARKER + json.dumps(report))


if __name__ == "__main__":
    main()
