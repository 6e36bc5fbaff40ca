# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/airflow_users/files/fab_users.py: the plan that makes FAB's users and roles what the
inventory declares (pure function; the database reads and FAB writes run on the kind cluster)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "airflow_users" / "files" / "fab_users.py"
spec = importlib.util.spec_from_file_location("fab_users", str(SCRIPT))
fab = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fab)


def same(stored, password):
    return stored == "hash:" + password


def user(name, roles=("Viewer",), **kw):
    entry = {"username": name, "email": name + "@example.com", "first_name": name, "last_name": name,
             "roles": list(roles), "password": "pw-" + name}
    entry.update(kw)
    return entry


def stored(entry, **kw):
    row = {"email": entry["email"], "first_name": entry["first_name"], "last_name": entry["last_name"],
           "roles": list(entry["roles"]), "active": True, "password": "hash:" + entry["password"]}
    row.update(kw)
    return row


PERMS = {("can_read", "DAGs"), ("can_edit", "DAGs"), fab.HOMEPAGE}
ROLES = {"Admin": set(PERMS), "Viewer": {("can_read", "DAGs")}}


def state(*users, roles=None):
    return {"users": dict((u["username"], stored(u)) for u in users), "roles": dict(roles or ROLES), "permissions": PERMS}


def test_nothing_differs_nothing_planned():
    admin, ana = user("admin", ["Admin"]), user("ana")
    report = fab.plan({"users": [admin, ana]}, state(admin, ana), same)
    assert not fab.changed(report)


def test_new_user_changed_fields_roles_and_password_are_planned_by_name():
    admin, ana = user("admin", ["Admin"]), user("ana")
    now = state(admin, ana)
    now["users"]["ana"].update(last_name="old", roles=["Admin"], password="hash:old")
    report = fab.plan({"users": [admin, dict(ana), user("bob")]}, now, same)
    assert report["created"] == ["bob"]
    assert report["updated"] == {"ana": ["last_name", "roles", "password"]}
    assert "pw-" not in str(report)


def test_absent_users_go_and_undeclared_ones_only_when_exclusive():
    admin, ana, eve = user("admin", ["Admin"]), user("ana"), user("eve")
    now = state(admin, ana, eve)
    desired = {"users": [admin, dict(ana, state="absent")], "keep": ["admin"]}
    assert fab.plan(desired, now, same)["removed"] == ["ana"]
    assert fab.plan(dict(desired, exclusive=True), now, same)["removed"] == ["ana", "eve"]
    assert fab.plan({"users": [], "exclusive": True, "keep": ["admin"]}, now, same)["removed"] == ["ana", "eve"]


def test_custom_roles_hold_exactly_their_permissions_and_the_homepage():
    reader = {"name": "Reader", "permissions": [["can_read", "DAGs"]]}
    assert fab.plan({"users": [], "roles": [reader]}, state(), same)["roles_created"] == ["Reader"]
    roles = dict(ROLES, Reader={("can_read", "DAGs"), fab.HOMEPAGE})
    assert not fab.changed(fab.plan({"users": [], "roles": [reader]}, state(roles=roles), same))
    roles["Reader"].add(("can_edit", "DAGs"))
    assert fab.plan({"users": [], "roles": [reader]}, state(roles=roles), same)["roles_updated"] == ["Reader"]
    gone = fab.plan({"users": [], "roles": [dict(reader, state="absent")]}, state(roles=roles), same)
    assert gone["roles_removed"] == ["Reader"]


def test_a_role_or_permission_fab_lacks_fails_naming_it():
    with pytest.raises(ValueError, match="unknown role.*Nope"):
        fab.plan({"users": [user("bob", ["Nope"])]}, state(), same)
    with pytest.raises(ValueError, match="role R: FAB has no permission can_fly on DAGs"):
        fab.plan({"users": [], "roles": [{"name": "R", "permissions": [["can_fly", "DAGs"]]}]}, state(), same)


def test_a_user_may_take_a_role_created_in_the_same_run():
    desired = {"users": [user("bob", ["Reader"])], "roles": [{"name": "Reader", "permissions": []}]}
    report = fab.plan(desired, state(), same)
    assert report["created"] == ["bob"] and report["roles_created"] == ["Reader"]
