#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: airflow_secret
short_description: Generate Airflow's secrets once and keep them in Kubernetes Secrets
version_added: "0.1.0"
author:
  - flujo.airflow contributors (@flujo)
description:
  - Manages the generated secrets of an Airflow deployment (Fernet key, JWT secret, API secret key,
    database and Redis passwords) in Kubernetes Secrets.
  - The Secret in the cluster is the only source of truth. Missing keys are generated with the
    operating system's cryptographic random source; existing keys are never regenerated; keys the
    module does not manage are left untouched.
  - Values supplied by the user (for example from Ansible Vault) are validated and adopted. A
    supplied value that differs from the stored one fails the task unless O(update_supplied=true).
  - Derived values such as connection URLs are computed inside the module from templates, so no
    secret value passes through Ansible variables.
  - No value is ever returned, logged or shown in a diff. Every value read or generated is added
    to the module's C(no_log_values). Secrets are written with create, or replace guarded by the
    resourceVersion; never with client-side apply, whose last-applied annotation would hold the values.
options:
  namespace:
    description: Namespace of the Secrets. It must exist, except in check mode.
    type: str
    required: true
  secrets:
    description: The Secrets to manage, in order. A derived template may refer to keys of an earlier Secret.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the Secret.
        type: str
        required: true
      keys:
        description: Keys whose value is generated once, or supplied by the user.
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Key name inside the Secret.
            type: str
            required: true
          kind:
            description:
              - V(fernet) is 32 random bytes, url-safe base64. A comma-separated list of such keys is
                also accepted; the first encrypts, all decrypt.
              - V(password) is letters and digits, safe in URLs without quoting.
              - V(hex) is random bytes in hexadecimal.
              - V(value) is never generated, it must be supplied.
            type: str
            choices: [fernet, password, hex, value]
            default: password
          length:
            description: Length in characters of a generated V(password) or V(hex) value.
            type: int
            default: 32
          value:
            description: A value to adopt instead of generating one. Validated for its kind.
            type: str
          plain:
            description:
              - A value that is not secret (a user name), adopted like O(secrets[].keys[].value) but never
                masked, so that it does not turn into C(********) wherever it appears in messages.
              - Mutually exclusive with O(secrets[].keys[].value).
            type: str
          follow:
            description:
              - A supplied value that differs from the stored one replaces it (reported as updated), as
                with O(update_supplied) for this key alone. For settings kept in a Secret, such as a
                connection URI, rather than credentials generated or adopted once.
            type: bool
            default: false
          variable:
            description:
              - The name of the variable the value comes from (for example C(airflow_admin_password)), for
                failure messages only. A message names it and the Secret and key, never a value.
            type: str
          rotate:
            description:
              - For a V(fernet) key holding one key, put a new key in front of it. While two keys are held
                (a rotation in progress), nothing changes.
              - Old keys keep decrypting until O(secrets[].keys[].prune) removes them, which must only
                happen after C(airflow rotate-fernet-key) re-encrypted the data.
            type: bool
            default: false
          prune:
            description: For a V(fernet) key holding several keys, keep only the first (newest) one.
            type: bool
            default: false
          moved_from:
            description:
              - The name of a later Secret of O(secrets) that held this key before (an earlier release
                kept it there). While this Secret lacks the key, its value is carried over from there
                unchanged (reported as moved) instead of being generated.
              - List the key in that Secret's O(secrets[].removed_keys) to take it out of its old home;
                Secrets are written in order, so the value is stored in its new home first.
            type: str
      derived:
        description:
          - Keys computed from a template on every run, for example a connection URL.
          - "C({KEY}) inserts the URL-quoted value of KEY of this Secret, C({secret-name:KEY}) a key
            of another Secret of this task; add C(!raw) before the closing brace to insert it unquoted."
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Key name inside the Secret.
            type: str
            required: true
          template:
            description: The template of the value.
            type: str
            required: true
      removed_keys:
        description:
          - Keys this Secret must no longer hold (for example one that moved to a Secret fewer pods
            mount). Their revisions are dropped too, so the pods that use this Secret roll once.
        type: list
        elements: str
        default: []
      exclusive:
        description:
          - Remove every key of the Secret that O(secrets[].keys) and O(secrets[].derived) do not name.
          - Such a Secret is not created while it would hold no key (others are, even empty).
        type: bool
        default: false
      labels:
        description: Labels set on the Secret (existing labels are kept).
        type: dict
        default: {}
  update_supplied:
    description: Replace a stored value by a different supplied one instead of failing.
    type: bool
    default: false
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - flujo.airflow.light_connection
notes:
  - Supports check mode fully (nothing is written; the report says what would happen) and diff mode
    (per-key states only, never values).
  - Reaches the cluster with the client configuration of kubernetes.core, exactly as its modules do
    (without their discovery of every API group), so the same options, the same C(K8S_AUTH_*) environment variables (for example C(K8S_AUTH_KUBECONFIG) and
    C(K8S_AUTH_CONTEXT)) and the same order apply. An option wins over its environment variable; then,
    unless a kubeconfig or a context is given or the host comes with credentials, the in-cluster
    configuration, else C(~/.kube/config).
  - "Belongs to the action group C(flujo.airflow.k8s), which extends C(kubernetes.core.k8s): one
    C(module_defaults: {group/flujo.airflow.k8s: {kubeconfig: ..., context: ...}}) reaches this module
    and the kubernetes.core modules alike."
requirements:
  - python >= 3.9
  - kubernetes >= 31.0.0, < 38 (the Python client; kubernetes.core itself accepts >= 24.2.0)
  - PyYAML >= 3.11
  - the kubernetes.core collection (>= 2.4.0, as galaxy.yml says), whose client and authentication options are used
"""

EXAMPLES = r"""
- name: Airflow's secrets, generated once
  flujo.airflow.airflow_secret:
    namespace: airflow
    secrets:
      - name: airflow-redis-password
        keys:
          - {name: password, kind: password}
      - name: airflow-secrets
        keys:
          - {name: AIRFLOW__CORE__FERNET_KEY, kind: fernet}
          - {name: AIRFLOW__API_AUTH__JWT_SECRET, kind: hex, length: 64}
          - {name: AIRFLOW_DB_USER, kind: value, value: airflow}
          - {name: AIRFLOW_DB_PASSWORD, kind: password}
        derived:
          - name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
            template: "postgresql+psycopg2://{AIRFLOW_DB_USER}:{AIRFLOW_DB_PASSWORD}@airflow-postgresql:5432/airflow"
          - name: AIRFLOW__CELERY__BROKER_URL
            template: "redis://:{airflow-redis-password:password}@airflow-redis:6379/0"
  register: airflow_secrets_result

- name: Adopt a database password kept in Ansible Vault
  flujo.airflow.airflow_secret:
    namespace: airflow
    secrets:
      - name: airflow-secrets
        keys:
          - {name: AIRFLOW_DB_PASSWORD, kind: password, value: "{{ vault_airflow_db_password }}"}

- name: Start a Fernet key rotation (then run airflow rotate-fernet-key, then prune)
  flujo.airflow.airflow_secret:
    namespace: airflow
    secrets:
      - name: airflow-secrets
        keys:
          - {name: AIRFLOW__CORE__FERNET_KEY, kind: fernet, rotate: true}
"""

RETURN = r"""
secrets:
  description: Per Secret, what was done to which key. Names only, never values.
  returned: always
  type: dict
  contains:
    keys:
      description: Every key the Secret holds after the run.
      type: list
      elements: str
    generated:
      description: Keys generated in this run.
      type: list
      elements: str
    adopted:
      description: Keys whose supplied value was stored in this run.
      type: list
      elements: str
    updated:
      description: Keys replaced by a different supplied value (only with O(update_supplied)).
      type: list
      elements: str
    rotated:
      description: Fernet keys that got a new key in front of the old ones.
      type: list
      elements: str
    pruned:
      description: Fernet keys reduced to their newest key.
      type: list
      elements: str
    moved:
      description: Keys whose value was carried over from their old Secret (O(secrets[].keys[].moved_from)).
      type: list
      elements: str
    removed:
      description: Keys taken out of the Secret (O(secrets[].removed_keys)).
      type: list
      elements: str
    derived:
      description: Derived keys written because their computed value changed.
      type: list
      elements: str
    created:
      description: Whether the Secret was created in this run.
      type: bool
    changed:
      description: Whether this Secret was (or in check mode would be) written.
      type: bool
    uid:
      description: UID of the Secret (empty in check mode when it does not exist yet).
      type: str
    resource_version:
      description: resourceVersion of the Secret after the run (in check mode, the current one; empty when it does not exist).
      type: str
    key_revisions:
      description:
        - Per key, a counter raised each time the module writes that key (kept in the Secret's
          C(flujo.airflow/key-revisions) annotation). Lets a pod roll only when the keys it uses change.
      type: dict
    checksum:
      description:
        - Changes exactly when a managed key of this Secret changes (or the Secret is recreated), for
          pod template annotations. Computed from the uid and the key revisions, never from a value.
      type: str
  sample:
    airflow-secrets:
      keys: [AIRFLOW__API_AUTH__JWT_SECRET, AIRFLOW__CORE__FERNET_KEY]
      generated: [AIRFLOW__CORE__FERNET_KEY]
      adopted: []
      updated: []
      rotated: []
      pruned: []
      derived: []
      created: true
      changed: true
      uid: 8a1d6e0e-1f0b-4bd4-9d8c-5b0f2b1c9a11
      resource_version: "1234"
      key_revisions: {AIRFLOW__API_AUTH__JWT_SECRET: 1, AIRFLOW__CORE__FERNET_KEY: 1}
      checksum: 3f1c0e9a7d2b4c55
checksum:
  description: One checksum over all managed Secrets, for a pod template annotation.
  returned: always
  type: str
  sample: 9b2f4c1d0e8a7b66
"""

import base64
import copy
import hashlib
import json

from ansible_collections.flujo.airflow.plugins.module_utils._k8s_api import ApiError, connect
from ansible_collections.flujo.airflow.plugins.module_utils._secret_plan import (
    PlanError, all_values, check_all_supplied, key_states, plan_all)
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule

REVISIONS_ANNOTATION = "flujo.airflow/key-revisions"


def secret_path(module, name=None):
    return "/api/v1/namespaces/%s/secrets%s" % (module.params["namespace"], "/" + name if name else "")


def api_error(module, action, name, exc):
    module.fail_json(msg="Cannot %s Secret %s in namespace %s: %s" % (action, name, module.params["namespace"], exc))


def read_secret(module, api, name):
    try:
        return api.request("GET", secret_path(module, name))
    except ApiError as exc:
        if exc.status == 404:
            return None
        api_error(module, "read", name, exc)


def meta(obj):
    return (obj or {}).get("metadata") or {}


def decode(obj):
    data = {}
    for key, value in ((obj or {}).get("data") or {}).items():
        data[key] = base64.b64decode(value).decode("utf-8")
    return data


def encode(data):
    return dict((k, base64.b64encode(v.encode("utf-8")).decode("ascii")) for k, v in data.items())


def revisions_of(obj):
    try:
        return json.loads((meta(obj).get("annotations") or {}).get(REVISIONS_ANNOTATION) or "{}")
    except ValueError:
        return {}


def checksum_of(uid, revisions):
    text = json.dumps([uid or "", sorted(revisions.items())])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def write_secret(module, api, name, existing, data, labels, revisions):
    namespace = module.params["namespace"]
    annotations = {REVISIONS_ANNOTATION: json.dumps(revisions, sort_keys=True)}
    if existing is None:
        metadata = dict(name=name, namespace=namespace, annotations=annotations)
        if labels:
            metadata["labels"] = labels
        body = dict(apiVersion="v1", kind="Secret", metadata=metadata, type="Opaque", data=encode(data))
        action = "create"
    else:
        body = copy.deepcopy(existing)
        body["data"] = encode(data)
        body["metadata"]["labels"] = dict(meta(existing).get("labels") or {}, **labels)
        body["metadata"]["annotations"] = dict(meta(existing).get("annotations") or {}, **annotations)
        action = "replace"  # body carries metadata.resourceVersion: a concurrent writer gets 409
    try:
        if existing is None:
            return api.request("POST", secret_path(module), body=body)
        return api.request("PUT", secret_path(module, name), body=body)
    except ApiError as exc:
        if exc.status == 409:
            module.fail_json(msg="Secret %s in namespace %s was changed by someone else while this task ran "
                             "(resourceVersion conflict); nothing was written, run again." % (name, namespace))
        api_error(module, action, name, exc)


def main():
    key_spec = dict(
        name=dict(type="str", required=True, no_log=False),
        kind=dict(type="str", default="password", choices=["fernet", "password", "hex", "value"]),
        length=dict(type="int", default=32, no_log=False),
        value=dict(type="str", no_log=True),
        plain=dict(type="str", no_log=False),
        variable=dict(type="str", no_log=False),
        rotate=dict(type="bool", default=False),
        prune=dict(type="bool", default=False),
        moved_from=dict(type="str"),
        follow=dict(type="bool", default=False),
    )
    argument_spec = copy.deepcopy(AUTH_ARG_SPEC)
    argument_spec.update(
        namespace=dict(type="str", required=True),
        secrets=dict(type="list", elements="dict", required=True, no_log=False, options=dict(
            name=dict(type="str", required=True),
            keys=dict(type="list", elements="dict", default=[], no_log=False, options=key_spec),
            derived=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                template=dict(type="str", required=True),
            )),
            removed_keys=dict(type="list", elements="str", default=[], no_log=False),
            exclusive=dict(type="bool", default=False),
            labels=dict(type="dict", default={}),
        )),
        update_supplied=dict(type="bool", default=False),
    )
    # check_k8s/check_pyyaml import the kubernetes package (0.5-1 s): connect() needs it only for what the light path cannot do
    module = AnsibleK8SModule(argument_spec=argument_spec, supports_check_mode=True, check_k8s=False, check_pyyaml=False)
    no_log_values = module._module.no_log_values  # the AnsibleModule's own set, which exit_json/fail_json use

    specs = module.params["secrets"]
    plain = {}  # Secret -> keys whose value is not secret, hence not masked
    for spec in specs:
        plain[spec["name"]] = set()
        for key in spec["keys"]:
            if key["plain"] is not None:
                if key["value"] is not None:
                    module.fail_json(msg="Secret %s, key %s: value and plain are mutually exclusive"
                                     % (spec["name"], key["name"]))
                key["value"] = key["plain"]
                plain[spec["name"]].add(key["name"])
            elif key["value"]:  # an empty string would mask every position of every message
                no_log_values.add(key["value"])

    def secret_values(name, data):
        return all_values(dict((k, v) for k, v in (data or {}).items() if k not in plain.get(name, ())))

    try:
        check_all_supplied(specs)  # bad input fails before the cluster is reached
    except PlanError as exc:
        module.fail_json(msg=str(exc))

    api = connect(module)  # kubernetes.core's client configuration, without its dynamic client
    existing = dict((spec["name"], read_secret(module, api, spec["name"])) for spec in specs)
    current = dict((name, decode(obj) if obj is not None else None) for name, obj in existing.items())
    for name, data in current.items():
        no_log_values.update(secret_values(name, data))

    try:
        plans = plan_all(specs, current, module.params["update_supplied"])
    except PlanError as exc:
        module.fail_json(msg=str(exc))
    for name, (data, dummy) in plans.items():
        no_log_values.update(secret_values(name, data))

    result = dict(changed=False, secrets={})
    diff_before, diff_after = {}, {}
    for spec in specs:
        name = spec["name"]
        data, report = plans[name]
        obj = existing[name]
        labels = spec["labels"] or {}
        revisions = revisions_of(obj)
        for key in sorted(set(k for action, keys in report.items() if action not in ("unchanged", "mismatched")
                              for k in keys)):
            revisions[key] = int(revisions.get(key, 0)) + 1
        for key in report["removed"]:
            revisions.pop(key, None)
        stale_labels = obj is not None and any((meta(obj).get("labels") or {}).get(k) != v for k, v in labels.items())
        must_write = obj is None or data != current[name] or stale_labels or revisions != revisions_of(obj)
        if obj is None and not data and spec["exclusive"]:
            must_write = False  # an exclusive Secret with nothing to hold is not created
        diff_before[name], diff_after[name] = key_states(current[name], data)
        if must_write and not module.check_mode:
            obj = write_secret(module, api, name, obj, data, labels, revisions)
        uid = meta(obj).get("uid", "")
        result["secrets"][name] = dict(
            keys=sorted(data), created=existing[name] is None and must_write, changed=must_write,
            uid=uid, resource_version=meta(obj).get("resourceVersion", ""),
            key_revisions=revisions, checksum=checksum_of(uid, revisions),
            **dict((k, sorted(v)) for k, v in report.items() if k not in ("unchanged", "mismatched")))
        result["changed"] = result["changed"] or must_write

    result["checksum"] = hashlib.sha256(",".join(
        result["secrets"][spec["name"]]["checksum"] for spec in specs).encode("ascii")).hexdigest()[:16]
    if module._diff:
        result["diff"] = dict(before=diff_before, after=diff_after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
