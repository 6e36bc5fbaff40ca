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
    """Raise PlanError naming the key when a supplied value has the wrong format."""
    if not isinstance(value, str) or value == "":
        raise PlanError("key %s: the supplied value is empty" % name)
    if kind == "fernet":
        keys = fernet_keys(value)
        if not keys:
            raise PlanError("key %s: not a valid Fernet key" % name)
        for position, key in enumerate(keys, start=1):
            try:
                raw = base64.urlsafe_b64decode(key.encode("ascii"))
            except (binascii.Error, ValueError, UnicodeEncodeError):
                raw = b""
            if len(raw) != 32:
                raise PlanError(
                    "key %s: Fernet key #%d is not 32 url-safe base64-encoded bytes" % (name, position))


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

    spec: {"name", "keys": [{"name", "kind", "length", "value", "rotate", "prune"}],
           "derived": [{"name", "template"}]}
    current: dict key -> value (decoded) of the Secret in the cluster, or None when it is absent.
    lookup_other(secret, key): value of a key planned for another Secret (for derived templates).
    Returns (new_data, report); new_data keeps every key the spec does not manage.
    """
    data = dict(current or {})
    report = {"generated": [], "adopted": [], "updated": [], "rotated": [], "pruned": [],
              "derived": [], "unchanged": [], "mismatched": []}
    for key in spec.get("keys") or []:
        name, kind = key["name"], key.get("kind") or "password"
        if kind not in KINDS:
            raise PlanError("key %s: unknown kind %r (expected one of %s)" % (name, kind, ", ".join(KINDS)))
        supplied = key.get("value")
        stored = data.get(name)
        if supplied is not None:
            validate(name, kind, supplied)
        if stored is not None and kind == "fernet":
            validate(name, kind, stored)
        if key.get("rotate") and key.get("prune"):
            raise PlanError("key %s: rotate and prune cannot be asked in the same run" % name)

        if stored is None:
            if supplied is not None:
                data[name] = supplied
                report["adopted"].append(name)
            else:
                data[name] = generate(kind, key.get("length"))
                report["generated"].append(name)
        elif supplied is not None and supplied != stored:
            if not update_supplied:
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
        else:
            report["unchanged"].append(name)

    if report["mismatched"]:
        raise PlanError(
            "Secret %s: the supplied value of %s differs from the one stored in the cluster; the stored "
            "value is kept. Set update_supplied (airflow_secrets_update_supplied) to replace it."
            % (spec["name"], ", ".join(report["mismatched"])))

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
    """Plan several Secrets; a derived template may refer to keys of an earlier one."""
    planned = {}

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
