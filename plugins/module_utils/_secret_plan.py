# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning logic of the airflow_secret module, free of Kubernetes and Ansible.

Given what a Secret holds now and what the deployment wants, decide the new content and report
what happened per key, without ever putting a value into the report. Private to the collection:
the leading underscore says it is not an API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import re
import secrets as _random
import string

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2 is not supported, this keeps sanity's import test quiet
    from urllib import quote

PASSWORD_ALPHABET = string.ascii_letters + string.digits
KINDS = ("fernet", "password", "hex", "value")
PLACEHOLDER = re.compile(r"\{(?:(?P<secret>[a-z0-9][a-z0-9.-]*):)?(?P<key>[A-Za-z0-9_.-]+)(?P<raw>!raw)?\}")


class PlanError(Exception):
    """Bad input or a state the module must refuse; the message never contains a value."""


def generate(kind, length):
    """A new random value of the given kind, from the operating system's CSPRNG."""
    if kind == "fernet":
        # 32 random bytes, url-safe base64: the format cryptography.fernet.Fernet expects
        return base64.urlsafe_b64encode(_random.token_bytes(32)).decode("ascii")
    if kind == "hex":
        return _random.token_hex(length // 2 if length else 32)
    if kind == "password":
        # letters and digits only: safe inside URLs, JSON, shell and SQL literals without quoting
        return "".join(_random.choice(PASSWORD_ALPHABET) for dummy in range(length or 32))
    raise PlanError("a key of kind 'value' cannot be generated; supply its value")


def fernet_keys(value):
    return [part.strip() for part in value.split(",") if part.strip()]


def validate(name, kind, value):
    """Raise PlanError starting with name when a supplied value has the wrong format."""
    if not isinstance(value, str) or value == "":
        raise PlanError("%s: empty" % name)
    if kind == "fernet":
        keys = fernet_keys(value)
        if not keys:
            raise PlanError("%s: not a valid Fernet key" % name)
        for position, key in enumerate(keys, start=1):
            try:
                raw = base64.urlsafe_b64decode(key.encode("ascii"))
            except (binascii.Error, ValueError, UnicodeEncodeError):
                raw = b""
            if len(raw) != 32:
                raise PlanError("%s: Fernet key #%d is not 32 url-safe base64-encoded bytes" % (name, position))


def where(spec, key):
    """'Secret NAME, key KEY': where a value lives, for messages."""
    return "Secret %s, key %s" % (spec["name"], key["name"])


def named(spec, key):
    """The variable a user sets for a key (when the caller names it) and where the value lives."""
    if key.get("variable"):
        return "%s (%s)" % (key["variable"], where(spec, key))
    return where(spec, key)


def check_supplied(spec, key):
    """Refuse a supplied value that is empty or malformed, naming the variable; never the value."""
    if key.get("rotate") and key.get("prune"):
        raise PlanError("%s: rotate and prune cannot be asked in the same run" % where(spec, key))
    if key.get("value") is None:
        return
    label = key.get("variable") or "the supplied value of %s" % where(spec, key)
    context = (" (%s)" % where(spec, key)) if key.get("variable") else ""
    try:
        validate(label, key.get("kind") or "password", key["value"])
    except PlanError as exc:
        hint = ""
        if key["value"] == "":
            hint = ("; it must be set" if key.get("kind") == "value"
                    else "; leave it unset (null) to have a value generated, or supply a non-empty one")
        raise PlanError("%s%s%s" % (exc, context, hint))


def check_all_supplied(specs):
    """check_supplied for every key of every Secret; runs before the cluster is read."""
    for spec in specs:
        for key in spec.get("keys") or []:
            check_supplied(spec, key)


def render_derived(name, template, lookup):
    """Fill {key}, {secret:key} placeholders (URL-quoted; {key!raw} as is) from lookup(secret, key)."""
    def fill(match):
        value = lookup(match.group("secret"), match.group("key"))
        if value is None:
            raise PlanError("derived key %s refers to %s, which is not managed or present"
                            % (name, match.group(0)))
        return value if match.group("raw") else quote(value, safe="")
    return PLACEHOLDER.sub(fill, template)


def plan_secret(spec, current, update_supplied=False, lookup_other=None):
    """Decide the content of one Secret.

    spec: {"name", "keys": [{"name", "kind", "length", "value", "follow", "rotate", "prune", "moved_from"}],
           "derived": [{"name", "template"}], "removed_keys": [name], "exclusive"}
    A key with follow takes a supplied value that differs from the stored one (settings kept in a
    Secret, such as a connection URI); an exclusive Secret loses every key its spec does not name.
    current: dict key -> value (decoded) of the Secret in the cluster, or None when it is absent.
    lookup_other(secret, key): value of a key planned for another Secret (for derived templates and
    moved keys).
    Returns (new_data, report); new_data keeps every key the spec does not manage, except removed_keys.
    """
    data = dict(current or {})
    report = {"generated": [], "adopted": [], "updated": [], "rotated": [], "pruned": [], "moved": [],
              "removed": [], "derived": [], "unchanged": [], "mismatched": []}
    for key in spec.get("keys") or []:
        name, kind = key["name"], key.get("kind") or "password"
        if kind not in KINDS:
            raise PlanError("key %s: unknown kind %r (expected one of %s)" % (name, kind, ", ".join(KINDS)))
        supplied = key.get("value")
        stored = data.get(name)
        check_supplied(spec, key)
        if stored is None and key.get("moved_from"):
            # the key's old home (an earlier release kept it there): carry the value over unchanged
            stored = lookup_other(key["moved_from"], name) if lookup_other else None
            if stored is not None:
                data[name] = stored
                report["moved"].append(name)
        if stored is not None and kind == "fernet":
            try:
                validate("the stored value of %s" % where(spec, key), kind, stored)
            except PlanError as exc:
                raise PlanError("%s; fix or delete it in the cluster" % exc)

        if stored is None:
            if supplied is not None:
                data[name] = supplied
                report["adopted"].append(name)
            elif kind == "value":
                raise PlanError("%s: not set, and a key of kind 'value' is never generated; supply its value"
                                % named(spec, key))
            else:
                data[name] = generate(kind, key.get("length"))
                report["generated"].append(name)
        elif supplied is not None and supplied != stored:
            if not update_supplied and not key.get("follow"):
                report["mismatched"].append(name)
                continue
            data[name] = supplied
            report["updated"].append(name)
        elif key.get("rotate"):
            if kind != "fernet":
                raise PlanError("key %s: only Fernet keys can be rotated" % name)
            if len(fernet_keys(stored)) > 1:
                # a rotation is in progress (not pruned yet): resume it, never stack a third key
                report["unchanged"].append(name)
            else:
                # the new key encrypts, the old one still decrypts until `airflow rotate-fernet-key` ran
                data[name] = ",".join([generate("fernet", None)] + fernet_keys(stored))
                report["rotated"].append(name)
        elif key.get("prune"):
            if kind != "fernet":
                raise PlanError("key %s: only Fernet keys can be pruned" % name)
            keys = fernet_keys(stored)
            if len(keys) > 1:
                data[name] = keys[0]
                report["pruned"].append(name)
            else:
                report["unchanged"].append(name)
        elif name not in report["moved"]:
            report["unchanged"].append(name)

    removed = list(spec.get("removed_keys") or [])
    if spec.get("exclusive"):  # the Secret holds what the spec declares, nothing else
        managed = set(key["name"] for key in spec.get("keys") or []) | set(d["name"] for d in spec.get("derived") or [])
        removed += sorted(name for name in data if name not in managed)
    for name in removed:
        if name in data:
            del data[name]
            report["removed"].append(name)

    if report["mismatched"]:
        keys = dict((key["name"], key) for key in spec.get("keys") or [])
        raise PlanError(
            "%s: the supplied value differs from the one stored in the cluster; nothing was written and "
            "the stored value is kept. To replace it, run again with airflow_secrets_update_supplied=true "
            "(module option update_supplied); to keep it, stop supplying a different value."
            % "; ".join(named(spec, keys[name]) for name in report["mismatched"]))

    def lookup(secret, key):
        if secret in (None, spec["name"]):
            return data.get(key)
        return lookup_other(secret, key) if lookup_other else None

    for derived in spec.get("derived") or []:
        name = derived["name"]
        value = render_derived(name, derived["template"], lookup)
        if data.get(name) != value:
            report["derived"].append(name)
            data[name] = value
        else:
            report["unchanged"].append(name)
    return data, report


def plan_all(specs, current_by_name, update_supplied=False):
    """Plan several Secrets; a derived template may refer to keys of an earlier one. A key moves
    only to an earlier Secret than its old home: the module writes in order, so the new home holds
    the value before the old one loses it."""
    planned = {}
    for position, spec in enumerate(specs):
        for key in spec.get("keys") or []:
            if key.get("moved_from") and key["moved_from"] not in [s["name"] for s in specs[position + 1:]]:
                raise PlanError("%s: moved_from %s must be a later Secret of the same task"
                                % (where(spec, key), key["moved_from"]))

    def lookup_other(secret, key):
        if secret in planned:
            return planned[secret].get(key)
        return (current_by_name.get(secret) or {}).get(key)

    results = {}
    for spec in specs:
        data, report = plan_secret(spec, current_by_name.get(spec["name"]), update_supplied, lookup_other)
        planned[spec["name"]] = data
        results[spec["name"]] = (data, report)
    return results


def key_states(before, after):
    """Per-key states for diff output: values are never shown, only present/absent/changed."""
    states_before, states_after = {}, {}
    for key in sorted(set(before or {}) | set(after)):
        states_before[key] = "present" if before and key in before else "absent"
        if key not in after:
            states_after[key] = "absent"
        elif before and key in before:
            states_after[key] = "unchanged" if before[key] == after[key] else "changed"
        else:
            states_after[key] = "present"
    return states_before, states_after


def all_values(data):
    """Every value and every comma-separated part of it, for no_log_values."""
    out = set()
    for value in (data or {}).values():
        if value:
            out.add(value)
            out.update(part for part in value.split(",") if len(part) >= 4)
    return out
