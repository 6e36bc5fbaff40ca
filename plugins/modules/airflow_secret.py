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
      labels:
        description: Labels set on the Secret (existing labels are kept).
        type: dict
        default: {}
  update_supplied:
    description: Replace a stored value by a different supplied one instead of failing.
    type: bool
    default: false
  kubeconfig:
    description: Path of a kubeconfig file. Defaults to C(K8S_AUTH_KUBECONFIG), then C(~/.kube/config), then in-cluster.
    type: path
  context:
    description: Context of the kubeconfig to use.
    type: str
notes:
  - Supports check mode fully (nothing is written; the report says what would happen) and diff mode
    (per-key states only, never values).
requirements:
  - kubernetes >= 24.2.0 (Python client)
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
import hashlib
import json
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.flujo.airflow.plugins.module_utils._secret_plan import (
    PlanError, all_values, key_states, plan_all)

try:
    from kubernetes import client as k8s_client, config as k8s_config
    from kubernetes.client.rest import ApiException
    from kubernetes.config.config_exception import ConfigException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

REVISIONS_ANNOTATION = "flujo.airflow/key-revisions"


def core_api(module):
    kubeconfig, context = module.params["kubeconfig"], module.params["context"]
    try:
        if kubeconfig or context:
            api_client = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)
        else:
            try:
                api_client = k8s_config.new_client_from_config()
            except (ConfigException, OSError):
                k8s_config.load_incluster_config()
                api_client = k8s_client.ApiClient()
    except (ConfigException, OSError) as exc:
        module.fail_json(msg="Cannot load the Kubernetes configuration (kubeconfig=%s, context=%s): %s"
                         % (kubeconfig or "default", context or "current", exc))
    return k8s_client.CoreV1Api(api_client)


def api_error(module, action, name, exc):
    if isinstance(exc, ApiException):
        reason = "%s %s" % (exc.status, exc.reason)
    else:  # urllib3 connection errors: the cluster is unreachable
        reason = "cluster unreachable (%s)" % exc.__class__.__name__
    module.fail_json(msg="Cannot %s Secret %s in namespace %s: %s"
                     % (action, name, module.params["namespace"], reason))


def read_secret(module, api, name):
    try:
        return api.read_namespaced_secret(name, module.params["namespace"])
    except ApiException as exc:
        if exc.status == 404:
            return None
        api_error(module, "read", name, exc)
    except Exception as exc:  # pylint: disable=broad-except
        api_error(module, "read", name, exc)


def decode(obj):
    data = {}
    for key, value in ((obj.data if obj else None) or {}).items():
        data[key] = base64.b64decode(value).decode("utf-8")
    return data


def encode(data):
    return dict((k, base64.b64encode(v.encode("utf-8")).decode("ascii")) for k, v in data.items())


def revisions_of(obj):
    try:
        return json.loads(((obj.metadata.annotations or {}) if obj else {}).get(REVISIONS_ANNOTATION) or "{}")
    except ValueError:
        return {}


def checksum_of(uid, revisions):
    text = json.dumps([uid or "", sorted(revisions.items())])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def write_secret(module, api, name, existing, data, labels, revisions):
    namespace = module.params["namespace"]
    annotations = {REVISIONS_ANNOTATION: json.dumps(revisions, sort_keys=True)}
    if existing is None:
        body = k8s_client.V1Secret(
            metadata=k8s_client.V1ObjectMeta(name=name, namespace=namespace, labels=labels or None,
                                             annotations=annotations),
            type="Opaque", data=encode(data))
        action = "create"
    else:
        body = existing
        body.data = encode(data)
        body.metadata.labels = dict(existing.metadata.labels or {}, **labels)
        body.metadata.annotations = dict(existing.metadata.annotations or {}, **annotations)
        action = "replace"  # body carries metadata.resourceVersion: a concurrent writer gets 409
    try:
        if existing is None:
            return api.create_namespaced_secret(namespace, body)
        return api.replace_namespaced_secret(name, namespace, body)
    except ApiException as exc:
        if exc.status == 409:
            module.fail_json(msg="Secret %s in namespace %s was changed by someone else while this task ran "
                             "(resourceVersion conflict); nothing was written, run again." % (name, namespace))
        api_error(module, action, name, exc)
    except Exception as exc:  # pylint: disable=broad-except
        api_error(module, action, name, exc)


def main():
    key_spec = dict(
        name=dict(type="str", required=True, no_log=False),
        kind=dict(type="str", default="password", choices=["fernet", "password", "hex", "value"]),
        length=dict(type="int", default=32, no_log=False),
        value=dict(type="str", no_log=True),
        rotate=dict(type="bool", default=False),
        prune=dict(type="bool", default=False),
    )
    module = AnsibleModule(
        argument_spec=dict(
            namespace=dict(type="str", required=True),
            secrets=dict(type="list", elements="dict", required=True, no_log=False, options=dict(
                name=dict(type="str", required=True),
                keys=dict(type="list", elements="dict", default=[], no_log=False, options=key_spec),
                derived=dict(type="list", elements="dict", default=[], options=dict(
                    name=dict(type="str", required=True),
                    template=dict(type="str", required=True),
                )),
                labels=dict(type="dict", default={}),
            )),
            update_supplied=dict(type="bool", default=False),
            kubeconfig=dict(type="path"),
            context=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)

    specs = module.params["secrets"]
    for spec in specs:
        for key in spec["keys"]:
            if key["value"] is not None:
                module.no_log_values.add(key["value"])

    api = core_api(module)
    existing = dict((spec["name"], read_secret(module, api, spec["name"])) for spec in specs)
    current = dict((name, decode(obj) if obj is not None else None) for name, obj in existing.items())
    for data in current.values():
        module.no_log_values.update(all_values(data))

    try:
        plans = plan_all(specs, current, module.params["update_supplied"])
    except PlanError as exc:
        module.fail_json(msg=str(exc))
    for data, dummy in plans.values():
        module.no_log_values.update(all_values(data))

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
        stale_labels = obj is not None and any((obj.metadata.labels or {}).get(k) != v for k, v in labels.items())
        must_write = obj is None or data != current[name] or stale_labels or revisions != revisions_of(obj)
        diff_before[name], diff_after[name] = key_states(current[name], data)
        if must_write and not module.check_mode:
            obj = write_secret(module, api, name, obj, data, labels, revisions)
        uid = obj.metadata.uid if obj is not None else ""
        result["secrets"][name] = dict(
            keys=sorted(data), created=existing[name] is None and must_write, changed=must_write,
            uid=uid, resource_version=obj.metadata.resource_version if obj is not None else "",
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
