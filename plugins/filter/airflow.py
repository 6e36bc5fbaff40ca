# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn inventory settings into what Kubernetes and Airflow expect."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
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


def sync_plan(source, volume):
    """Which files to copy and which exist only in the volume, from {relative path: checksum} maps."""
    source, volume = source or {}, volume or {}
    return {
        "changed": sorted(path for path, checksum in source.items() if volume.get(path) != checksum),
        "removed": sorted(path for path in volume if path not in source),
    }


def secret_restore_spec(item):
    """{key: Secret name, value: {key: base64 value}} (a backup) -> an airflow_secret module entry
    that adopts every value exactly as it was."""
    data = item.get("value") or {}
    keys = [{"name": k, "kind": "value", "value": base64.b64decode(v).decode("utf-8")} for k, v in sorted(data.items())]
    return {"name": item["key"], "keys": keys}


def image_ref(image):
    """repository[:tag][@digest] of an image variable; with a digest the runtime pulls exactly that
    content and the tag only documents it."""
    ref = image["repository"]
    if image.get("tag"):
        ref += ":%s" % image["tag"]
    if image.get("digest"):
        ref += "@%s" % image["digest"]
    return ref


def image_pull_policy(image):
    """The image's pull_policy; IfNotPresent when the variable leaves it out (role argument specs
    check nested options but do not fill in their defaults)."""
    return image.get("pull_policy") or "IfNotPresent"


def fab_user(user, secret):
    """An airflow_users entry (the inventory's form) -> the airflow_users module's: defaults filled
    in, the password taken from key <username> of Secret secret."""
    username = user["username"]
    return {"username": username, "email": user.get("email"), "roles": list(user.get("roles") or ["Viewer"]),
            "first_name": user.get("first_name") or username, "last_name": user.get("last_name") or username,
            "state": user.get("state") or "present", "password_secret": secret, "password_key": username}


def user_secret_keys(users):
    """The airflow_secret keys of the declared users' passwords: one per present user, generated
    once unless the entry supplies its password."""
    keys = []
    for position, user in enumerate(users or []):
        if (user.get("state") or "present") == "present":
            keys.append({"name": user["username"], "kind": "password", "length": 24, "value": user.get("password"),
                         "variable": "airflow_users[%d].password" % position})
    return keys


def extra_env_keys(env, variable):
    """airflow_extra_secret_env -> the airflow_secret keys holding it: supplied values that the
    inventory keeps deciding (follow), each named after its variable for messages."""
    return [{"name": name, "kind": "value", "value": _as_airflow_string(value), "follow": True,
             "variable": "%s.%s" % (variable, name)} for name, value in sorted((env or {}).items())]


def env_from_refs(entries):
    """airflow_extra_env_from ([{secret: NAME} or {config_map: NAME}]) -> a container's envFrom entries."""
    return [{"secretRef": {"name": entry["secret"]}} if entry.get("secret") else {"configMapRef": {"name": entry["config_map"]}}
            for entry in entries or []]


WORKER_POOL_LABEL = "flujo.airflow/worker-pool"


def worker_pool(pool, base):
    """The workload of one entry of airflow_worker_pools: the default worker's (base) under the name
    <base name>-<pool name>, listening on the pool's queues, with the pool's own sizing where given."""
    name = "%s-%s" % (base["name"], pool["name"])
    workload = dict(base.items())   # resolved values, no copy of the template context behind them
    workload.update(name=name, component="%s-%s" % (base["component"], pool["name"]), extras=base["component"],
                    container=base.get("container", base["component"]),
                    labels={WORKER_POOL_LABEL: pool["name"]},
                    command=list(base["command"]) + ["--queues", ",".join(pool["queues"])])
    replicas = pool.get("replicas")
    workload["spec"] = dict(base["spec"], replicas=1 if replicas is None else int(replicas), serviceName=name)
    for key in ("resources", "node_selector", "tolerations", "affinity"):
        if pool.get(key) is not None:
            workload[key] = pool[key]
    # the pool's environment over the default worker's, by name (a name twice is refused by the API)
    own = dict((key, _as_airflow_string(value)) for key, value in (pool.get("extra_env") or {}).items())
    if pool.get("concurrency") is not None:
        own["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = str(pool["concurrency"])
    workload["env"] = [{"name": entry["name"], "value": own.pop(entry["name"])} if entry["name"] in own else entry
                       for entry in workload["env"]] + [{"name": key, "value": own[key]} for key in sorted(own)]
    return workload


GIT_BUNDLE_CLASS = "airflow.providers.git.bundles.git.GitDagBundle"
LOCAL_BUNDLE_CLASS = "airflow.dag_processing.bundles.local.LocalDagBundle"


def dag_bundle_conn_id(name):
    """The Airflow connection id of a git bundle's credentials: flujo_dag_bundle_<name>, - as _."""
    return "flujo_dag_bundle_%s" % str(name).lower().replace("-", "_")


def dag_bundles(bundles, refresh_interval=60, secret="airflow-dag-bundles", dags_folder="/opt/airflow/dags"):
    """airflow_dag_bundles -> what the roles render from it (never a credential's value):

    config        [dag_processor] dag_bundle_config_list, [] when no bundle is given (Airflow's own
                  default, the dags folder, then stays)
    volume        whether a pod mounts the dags volume: no bundle given, or a bundle of type volume
    git           the names of the git bundles
    connections   one per git bundle with username/password: {bundle, index, conn_id, env, username}
                  (index: its place in airflow_dag_bundles; env: the AIRFLOW_CONN_* the Secret holds)
    env           the container env of the pods that clone: each connection from the Secret `secret`
    """
    plan = {"config": [], "volume": not bundles, "git": [], "connections": [], "env": []}
    for index, bundle in enumerate(bundles or []):
        kind = bundle.get("type") or "git"
        interval = bundle.get("refresh_interval")
        kwargs = {"refresh_interval": int(refresh_interval if interval is None else interval)}
        if kind == "volume":
            plan["volume"] = True
            kwargs["path"] = dags_folder
            plan["config"].append({"name": bundle["name"], "classpath": LOCAL_BUNDLE_CLASS, "kwargs": kwargs})
            continue
        kwargs.update(bundle.get("kwargs") or {})
        kwargs.update(repo_url=bundle["repo_url"], tracking_ref=bundle.get("tracking_ref") or "main")
        if bundle.get("subdir"):
            kwargs["subdir"] = bundle["subdir"]
        if bundle.get("password"):
            conn_id = dag_bundle_conn_id(bundle["name"])
            plan["connections"].append({"bundle": bundle["name"], "index": index, "conn_id": conn_id,
                                        "env": "AIRFLOW_CONN_" + conn_id.upper(),
                                        "username": bool(bundle.get("username"))})
            kwargs["git_conn_id"] = conn_id
        elif bundle.get("git_conn_id"):
            kwargs["git_conn_id"] = bundle["git_conn_id"]
        plan["git"].append(bundle["name"])
        plan["config"].append({"name": bundle["name"], "classpath": GIT_BUNDLE_CLASS, "kwargs": kwargs})
    plan["env"] = [{"name": conn["env"], "valueFrom": {"secretKeyRef": {"name": secret, "key": conn["env"]}}}
                   for conn in plan["connections"]]
    return plan


class FilterModule(object):
    def filters(self):
        return {"config_env": config_env, "string_values": string_values, "short_hash": short_hash,
                "secret_checksum": secret_checksum, "sync_plan": sync_plan,
                "secret_restore_spec": secret_restore_spec, "image_ref": image_ref,
                "image_pull_policy": image_pull_policy, "fab_user": fab_user,
                "user_secret_keys": user_secret_keys, "extra_env_keys": extra_env_keys,
                "env_from_refs": env_from_refs, "worker_pool": worker_pool, "dag_bundles": dag_bundles}
