# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning logic of the airflow_secret module: generate once, never regenerate, never reveal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest
from cryptography.fernet import Fernet, MultiFernet

from ansible_collections.flujo.airflow.plugins.module_utils._secret_plan import (
    PlanError, all_values, generate, key_states, plan_all, plan_secret, validate)

SPEC = {
    "name": "airflow-secrets",
    "keys": [
        {"name": "FERNET", "kind": "fernet"},
        {"name": "JWT", "kind": "hex", "length": 64},
        {"name": "DB_USER", "kind": "value", "value": "airflow"},
        {"name": "DB_PASSWORD", "kind": "password", "length": 32},
    ],
    "derived": [{"name": "CONN", "template": "postgresql://{DB_USER}:{DB_PASSWORD}@db:5432/airflow"}],
}


def test_first_run_generates_every_missing_key_and_adopts_supplied_ones():
    data, report = plan_secret(SPEC, None)
    assert sorted(report["generated"]) == ["DB_PASSWORD", "FERNET", "JWT"]
    assert report["adopted"] == ["DB_USER"]
    assert report["derived"] == ["CONN"]
    assert data["CONN"] == "postgresql://airflow:%s@db:5432/airflow" % data["DB_PASSWORD"]
    Fernet(data["FERNET"].encode())  # a key cryptography accepts
    assert len(data["JWT"]) == 64 and int(data["JWT"], 16) >= 0
    assert len(data["DB_PASSWORD"]) == 32 and data["DB_PASSWORD"].isalnum()


def test_second_run_changes_nothing():
    first, dummy = plan_secret(SPEC, None)
    second, report = plan_secret(SPEC, dict(first))
    assert second == first
    assert not any(report[k] for k in ("generated", "adopted", "updated", "rotated", "pruned", "derived"))


def test_existing_values_are_never_regenerated_and_unmanaged_keys_are_kept():
    current = {"FERNET": Fernet.generate_key().decode(), "JWT": "ab" * 32, "DB_USER": "airflow",
               "DB_PASSWORD": "kept", "SOMEONE_ELSES": "untouched"}
    data, report = plan_secret(SPEC, dict(current))
    for key in current:
        assert data[key] == current[key]
    assert report["generated"] == []


def test_a_deleted_key_is_generated_again_and_only_that_one():
    first, dummy = plan_secret(SPEC, None)
    del first["JWT"]
    second, report = plan_secret(SPEC, dict(first))
    assert report["generated"] == ["JWT"]
    assert second["FERNET"] == first["FERNET"]


def test_supplied_value_that_differs_fails_without_showing_values():
    current, dummy = plan_secret(SPEC, None)
    spec = dict(SPEC, keys=[{"name": "DB_PASSWORD", "kind": "password", "value": "n3w-Pa55"}])
    with pytest.raises(PlanError) as err:
        plan_secret(spec, dict(current))
    assert "DB_PASSWORD" in str(err.value)
    assert "n3w-Pa55" not in str(err.value) and current["DB_PASSWORD"] not in str(err.value)


def test_supplied_value_replaces_only_when_asked_and_derived_values_follow():
    current, dummy = plan_secret(SPEC, None)
    spec = dict(SPEC, keys=[{"name": "DB_PASSWORD", "kind": "password", "value": "p@ss/w:rd"}])
    data, report = plan_secret(spec, dict(current), update_supplied=True)
    assert report["updated"] == ["DB_PASSWORD"]
    assert report["derived"] == ["CONN"]
    assert data["CONN"] == "postgresql://airflow:p%40ss%2Fw%3Ard@db:5432/airflow"


@pytest.mark.parametrize("bad", ["not-a-key", base64.urlsafe_b64encode(b"short").decode(), "", "a,,"])
def test_an_invalid_fernet_key_is_a_clear_error(bad):
    with pytest.raises(PlanError) as err:
        validate("AIRFLOW__CORE__FERNET_KEY", "fernet", bad)
    assert "AIRFLOW__CORE__FERNET_KEY" in str(err.value)


def test_rotation_puts_a_new_key_first_and_old_tokens_still_decrypt():
    current, dummy = plan_secret(SPEC, None)
    token = Fernet(current["FERNET"].encode()).encrypt(b"connection password")
    spec = dict(SPEC, keys=[{"name": "FERNET", "kind": "fernet", "rotate": True}])
    rotated, report = plan_secret(spec, dict(current))
    assert report["rotated"] == ["FERNET"]
    new_key, old_key = rotated["FERNET"].split(",")
    assert old_key == current["FERNET"] and new_key != old_key
    multi = MultiFernet([Fernet(k.encode()) for k in rotated["FERNET"].split(",")])
    assert multi.decrypt(token) == b"connection password"
    # asking again before the prune resumes the same rotation instead of stacking a third key
    again, report = plan_secret(spec, dict(rotated))
    assert again["FERNET"] == rotated["FERNET"] and report["rotated"] == []
    # after `airflow rotate-fernet-key` re-encrypted everything, prune keeps only the new key
    spec = dict(SPEC, keys=[{"name": "FERNET", "kind": "fernet", "prune": True}])
    pruned, report = plan_secret(spec, dict(rotated))
    assert pruned["FERNET"] == new_key and report["pruned"] == ["FERNET"]
    again, report = plan_secret(spec, dict(pruned))
    assert again["FERNET"] == new_key and report["pruned"] == []


def test_rotate_and_prune_together_is_refused():
    current, dummy = plan_secret(SPEC, None)
    spec = dict(SPEC, keys=[{"name": "FERNET", "kind": "fernet", "rotate": True, "prune": True}])
    with pytest.raises(PlanError):
        plan_secret(spec, dict(current))


def test_value_kind_cannot_be_generated():
    with pytest.raises(PlanError):
        plan_secret({"name": "s", "keys": [{"name": "USER", "kind": "value"}]}, None)


def test_derived_values_can_use_keys_of_an_earlier_secret():
    specs = [
        {"name": "airflow-redis-password", "keys": [{"name": "password", "kind": "password"}]},
        {"name": "airflow-secrets", "keys": [],
         "derived": [{"name": "BROKER", "template": "redis://:{airflow-redis-password:password}@redis:6379/0"}]},
    ]
    plans = plan_all(specs, {})
    password = plans["airflow-redis-password"][0]["password"]
    assert plans["airflow-secrets"][0]["BROKER"] == "redis://:%s@redis:6379/0" % password


def test_a_derived_template_with_an_unknown_key_fails_by_name():
    with pytest.raises(PlanError) as err:
        plan_secret({"name": "s", "keys": [], "derived": [{"name": "X", "template": "{MISSING}"}]}, None)
    assert "MISSING" in str(err.value)


def test_generated_values_are_random():
    assert len({generate("password", 32) for dummy in range(50)}) == 50
    assert len({generate("fernet", None) for dummy in range(50)}) == 50


def test_diff_states_never_hold_values():
    before = {"A": "secret-1", "B": "secret-2"}
    after = {"A": "secret-1", "B": "secret-3", "C": "secret-4"}
    states = key_states(before, after)
    assert states == ({"A": "present", "B": "present", "C": "absent"},
                      {"A": "unchanged", "B": "changed", "C": "present"})
    assert "secret" not in repr(states)


def test_all_values_covers_each_part_of_a_key_list():
    values = all_values({"F": "keyone1,keytwo2", "P": "pw"})
    assert {"keyone1,keytwo2", "keyone1", "keytwo2", "pw"} <= values


MOVE_SPECS = [
    {"name": "jwt", "keys": [{"name": "JWT", "kind": "hex", "length": 64, "moved_from": "airflow-secrets"}]},
    {"name": "airflow-secrets", "removed_keys": ["JWT"], "keys": [{"name": "DB_PASSWORD", "kind": "password"}]},
]


def test_a_moved_key_keeps_its_value_and_leaves_its_old_home():
    old = {"JWT": "ab" * 32, "DB_PASSWORD": "kept"}
    plans = plan_all(MOVE_SPECS, {"jwt": None, "airflow-secrets": dict(old)})
    jwt, jwt_report = plans["jwt"]
    rest, rest_report = plans["airflow-secrets"]
    assert jwt == {"JWT": "ab" * 32} and jwt_report["moved"] == ["JWT"] and jwt_report["generated"] == []
    assert rest == {"DB_PASSWORD": "kept"} and rest_report["removed"] == ["JWT"]
    # the next run: nothing moves, nothing is generated, nothing removed
    again = plan_all(MOVE_SPECS, {"jwt": jwt, "airflow-secrets": rest})
    assert again["jwt"][0] == jwt and again["airflow-secrets"][0] == rest
    assert not any(again[n][1][a] for n in again for a in ("generated", "moved", "removed", "adopted"))


def test_a_moved_key_is_generated_only_when_neither_home_holds_it():
    plans = plan_all(MOVE_SPECS, {"jwt": None, "airflow-secrets": None})
    assert plans["jwt"][1]["generated"] == ["JWT"] and plans["jwt"][1]["moved"] == []


def test_a_supplied_value_that_differs_from_the_moved_one_fails():
    specs = [dict(MOVE_SPECS[0], keys=[dict(MOVE_SPECS[0]["keys"][0], value="cd" * 32)]), MOVE_SPECS[1]]
    with pytest.raises(PlanError) as err:
        plan_all(specs, {"jwt": None, "airflow-secrets": {"JWT": "ab" * 32}})
    assert "differs" in str(err.value) and "ab" * 32 not in str(err.value)


def test_a_key_moves_only_to_an_earlier_secret():
    with pytest.raises(PlanError) as err:
        plan_all(list(reversed(MOVE_SPECS)), {})
    assert "moved_from airflow-secrets must be a later Secret" in str(err.value)


EXTRA_ENV = {"name": "airflow-extra-env", "exclusive": True, "keys": [
    {"name": "AIRFLOW_CONN_WAREHOUSE", "kind": "value", "value": "postgres://u:new@h/db", "follow": True},
    {"name": "TOKEN", "kind": "value", "value": "t1", "follow": True}]}


def test_a_followed_key_takes_the_new_supplied_value_and_an_exclusive_secret_drops_undeclared_keys():
    stored = {"AIRFLOW_CONN_WAREHOUSE": "postgres://u:old@h/db", "TOKEN": "t1", "GONE": "x"}
    data, report = plan_secret(EXTRA_ENV, stored)
    assert data == {"AIRFLOW_CONN_WAREHOUSE": "postgres://u:new@h/db", "TOKEN": "t1"}
    assert report["updated"] == ["AIRFLOW_CONN_WAREHOUSE"] and report["removed"] == ["GONE"]
    assert report["unchanged"] == ["TOKEN"]
    assert plan_secret(EXTRA_ENV, data)[1]["updated"] == []


def test_without_follow_a_different_supplied_value_still_fails():
    spec = dict(EXTRA_ENV, keys=[dict(EXTRA_ENV["keys"][0], follow=False)])
    with pytest.raises(PlanError) as caught:
        plan_secret(spec, {"AIRFLOW_CONN_WAREHOUSE": "postgres://u:old@h/db"})
    assert "postgres://u:old" not in str(caught.value) and "postgres://u:new" not in str(caught.value)
    assert "AIRFLOW_CONN_WAREHOUSE" in str(caught.value)
