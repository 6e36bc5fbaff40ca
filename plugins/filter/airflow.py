# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn inventory settings into what Kubernetes and Airflow expect."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json


def _as_airflow_string(value):
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def config_env(config):
    """{section: {key: value}} -> {AIRFLOW__SECTION__KEY: str}"""
    env = {}
    for section, settings in (config or {}).items():
        for key, value in (settings or {}).items():
            env["AIRFLOW__%s__%s" % (str(section).upper(), str(key).upper())] = _as_airflow_string(value)
    return env


def string_values(mapping):
    """Every value as the string a ConfigMap or an env var holds."""
    return dict((str(k), _as_airflow_string(v)) for k, v in (mapping or {}).items())


def short_hash(value, length=10):
    """A stable short sha256 of any JSON-able value (for names and checksum annotations)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:length]


def secret_checksum(result, secret, keys=None):
    """Checksum for a pod annotation from the airflow_secret module's result: the Secret's uid and
    the revisions of the keys the pod uses (all when keys is None). Empty without a result."""
    info = ((result or {}).get("secrets") or {}).get(secret)
    if not info:
        return ""
    revisions = info.get("key_revisions") or {}
    chosen = sorted(revisions) if keys is None else list(keys)
    return short_hash([info.get("uid", ""), [(k, revisions.get(k, 0)) for k in chosen]], 16)


class FilterModule(object):
    def filters(self):
        return {"config_env": config_env, "string_values": string_values, "short_hash": short_hash,
                "secret_checksum": secret_checksum}
