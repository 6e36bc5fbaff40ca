# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Value checks the role argument specs cannot express, chosen by the variable's name.

input_errors({"airflow_worker_replicas": -1, ...}) -> ["airflow_worker_replicas: must be ..."]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import ipaddress
import re
from decimal import Decimal

from ansible_collections.flujo.airflow.plugins.module_utils._secret_plan import PlanError, validate

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit

# registry[:port]/path components (lower case), as in the distribution reference grammar
IMAGE_REPOSITORY = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
IMAGE_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HOST_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9_]*[a-z0-9])?)*\.?$")
SUPPORTED_VERSIONS = "3.0.0 or later, below 4.0.0"
AIRFLOW_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:(?:a|b|rc)\d+|\.post\d+|\.dev\d+)?$")
QUANTITY_FACTORS = {"": 1, "m": Decimal("0.001"), "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12,
                    "P": 10 ** 15, "E": 10 ** 18, "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40,
                    "Pi": 2 ** 50, "Ei": 2 ** 60}
ACCESS_MODES = ("ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany", "ReadWriteOncePod")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")


def _image(name, value):
    if not isinstance(value, dict) or "repository" not in value:
        return ["%s: must be a mapping with repository and tag" % name]
    repo, tag = str(value.get("repository", "")), str(value.get("tag", ""))
    errors = []
    if not IMAGE_REPOSITORY.match(repo) or len(repo) > 255:
        errors.append("%s.repository: %r is not a valid image repository" % (name, repo))
    if not IMAGE_TAG.match(tag):
        errors.append("%s.tag: %r is not a valid image tag" % (name, tag))
    if value.get("digest") and not IMAGE_DIGEST.match(str(value["digest"])):
        errors.append("%s.digest: %r is not a sha256 digest (sha256: and 64 hex digits)" % (name, value["digest"]))
    if value.get("pull_policy", "IfNotPresent") not in ("Always", "IfNotPresent", "Never"):
        errors.append("%s.pull_policy: must be Always, IfNotPresent or Never" % name)
    return errors


def _whole(value):
    """An int, or the digits `-e name=3` passes as a string; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _count(name, value, minimum=0):
    number = _whole(value)
    if number is None or number < minimum:
        return ["%s: must be a whole number >= %d, got %r" % (name, minimum, value)]
    return []


def _positive(name, value):
    return _count(name, value, 1)


def _fernet(name, value):
    try:
        validate(name, "fernet", value)
    except PlanError:
        return ["%s: not a valid Fernet key (32 url-safe base64-encoded bytes, comma-separated for several)" % name]
    return []


def _quantity(name, value):
    if not QUANTITY.match(str(value)):
        return ["%s: %r is not a Kubernetes quantity (for example 512Mi, 2Gi, 500m)" % (name, value)]
    return []


def _storage(name, value):
    if not isinstance(value, dict):
        return ["%s: must be a mapping with size, access_mode and storage_class" % name]
    errors = _quantity(name + ".size", value.get("size", ""))
    if value.get("access_mode", "ReadWriteOnce") not in ACCESS_MODES:
        errors.append("%s.access_mode: must be one of %s" % (name, ", ".join(ACCESS_MODES)))
    storage_class = value.get("storage_class") or ""
    if storage_class and not DNS_SUBDOMAIN.match(storage_class):
        errors.append("%s.storage_class: %r is not a valid StorageClass name" % (name, storage_class))
    return errors


def _resources(name, value):
    if not isinstance(value, dict):
        return ["%s: must be a mapping with requests and/or limits" % name]
    errors = []
    for part in value:
        if part not in ("requests", "limits"):
            errors.append("%s: unknown key %r (expected requests, limits)" % (name, part))
            continue
        if not isinstance(value[part] or {}, dict):
            errors.append("%s.%s: must be a mapping of resource names to quantities" % (name, part))
            continue
        for resource, amount in (value[part] or {}).items():
            errors.extend(_quantity("%s.%s.%s" % (name, part, resource), amount))
    if errors:
        return errors
    requests, limits = value.get("requests") or {}, value.get("limits") or {}
    for resource in sorted(set(requests) & set(limits)):
        if quantity_value(requests[resource]) > quantity_value(limits[resource]):
            errors.append("%s: requests.%s %s is above limits.%s %s (Kubernetes rejects a request above its limit)"
                          % (name, resource, requests[resource], resource, limits[resource]))
    return errors


def quantity_value(value):
    """The number a Kubernetes quantity stands for: quantity_value('500m') == Decimal('0.5')."""
    match = QUANTITY.match(str(value))
    if not match:
        raise ValueError("%r is not a Kubernetes quantity" % (value,))
    number = str(value)[:len(str(value)) - len(match.group(2) or "")]
    return Decimal(number) * QUANTITY_FACTORS[match.group(2) or ""]


def _object_name(name, value):
    if not isinstance(value, str) or len(value) > 63 or not DNS_LABEL.match(value):
        return ["%s: %r is not a valid Kubernetes name (lower case letters, digits and '-', at most 63)"
                % (name, value)]
    return []


def _url(name, value):
    if value in ("", None):
        return []
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ["%s: %r is not an http(s) URL" % (name, value)]
    return []


def _port(name, value):
    if value is None:
        return []
    number = _whole(value)
    if number is None or not 30000 <= number <= 32767:
        return ["%s: a NodePort must be a number between 30000 and 32767, got %r" % (name, value)]
    return []


def _service_type(name, value):
    return [] if value in SERVICE_TYPES else ["%s: must be one of %s" % (name, ", ".join(SERVICE_TYPES))]


def _sections(name, value):
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        return ["%s: must be a mapping of sections to settings, e.g. {core: {parallelism: 32}}" % name]
    return []


def _mapping(name, value):
    return [] if isinstance(value, dict) else ["%s: must be a mapping" % name]


ENV_NAME = re.compile(r"^[A-Za-z_][-._A-Za-z0-9]*$")


def _env(name, value):
    """Environment variables: names a Secret key and a shell can hold, scalar values (never named)."""
    if not isinstance(value, dict):
        return ["%s: must be a mapping of variable names to values" % name]
    errors = []
    for key in sorted(value, key=str):
        if not isinstance(key, str) or not ENV_NAME.match(key):
            errors.append("%s: %r is not a valid environment variable name (letters, digits, _ . -; not a digit first)" % (name, key))
        elif isinstance(value[key], (dict, list)):
            errors.append("%s.%s: must be a single value, not a %s" % (name, key, "mapping" if isinstance(value[key], dict) else "list"))
    return errors


def _env_from(name, value):
    if not isinstance(value, list):
        return ["%s: must be a list of {secret: NAME} or {config_map: NAME}" % name]
    errors = []
    for index, entry in enumerate(value):
        if not isinstance(entry, dict) or len([k for k in ("secret", "config_map") if entry.get(k)]) != 1:
            errors.append("%s[%d]: give exactly one of secret or config_map, the name of an existing object" % (name, index))
        else:
            errors.extend(_object_name("%s[%d]" % (name, index), entry.get("secret") or entry.get("config_map")))
    return errors


def _ca_bundle(name, value):
    if not isinstance(value, dict):
        return ["%s: must be a mapping: {pem: TEXT} or {config_map: NAME, key: KEY}" % name]
    if value.get("pem") and value.get("config_map"):
        return ["%s: give pem or config_map, not both" % name]
    if value.get("pem") and "-----BEGIN CERTIFICATE-----" not in str(value["pem"]):
        return ["%s.pem: no PEM certificate in it (-----BEGIN CERTIFICATE-----)" % name]
    if value.get("config_map"):
        return _object_name("%s.config_map" % name, value["config_map"])
    return []


REMOTE_LOGGING_KEYS = ("enabled", "base_log_folder", "endpoint_url", "region", "access_key_id", "secret_access_key",
                       "connection_id", "delete_local_logs")
S3_FOLDER = re.compile(r"^s3://(?P<bucket>[^/]*)(/.*)?$")
S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
CONN_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _remote_logging(name, value):
    """Checked when enabled: the folder is an S3 URL with a bucket name, the keys come in pairs. The
    keys' values are never named in a message."""
    if not isinstance(value, dict):
        return ["%s: must be a mapping, e.g. {enabled: true, base_log_folder: s3://BUCKET/PREFIX}" % name]
    errors = _unknown_keys(name, value, REMOTE_LOGGING_KEYS)
    if not _true(value.get("enabled", False)):
        return errors
    folder = S3_FOLDER.match(str(value.get("base_log_folder") or ""))
    if not folder:
        errors.append("%s.base_log_folder: must be s3://BUCKET or s3://BUCKET/PREFIX when %s.enabled is true, got %r"
                      % (name, name, value.get("base_log_folder")))
    elif not S3_BUCKET.match(folder.group("bucket")):
        errors.append("%s.base_log_folder: %r is not a bucket name (3-63 lower-case letters, digits, dots, hyphens)"
                      % (name, folder.group("bucket")))
    if value.get("endpoint_url"):
        errors.extend(_url(name + ".endpoint_url", value["endpoint_url"]))
    if bool(value.get("access_key_id")) != bool(value.get("secret_access_key")):
        errors.append("%s: give access_key_id and secret_access_key together, or neither (the pods' own identity)" % name)
    if "connection_id" in value and not CONN_ID.match(str(value["connection_id"] or "")):
        errors.append("%s.connection_id: %r is not a connection id here (letters, digits, _; a letter first)"
                      % (name, value["connection_id"]))
    return errors


DAG_BUNDLE_KEYS = ("name", "type", "repo_url", "tracking_ref", "subdir", "username", "password", "git_conn_id",
                   "refresh_interval", "kwargs")
DAG_BUNDLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
# the bundle settings the role writes itself from the keys above
DAG_BUNDLE_OWNED_KWARGS = ("repo_url", "tracking_ref", "subdir", "git_conn_id", "refresh_interval", "path")
GIT_URL = re.compile(r"^(https?|ssh|git|file)://[^\s]+$|^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")


def _dag_bundle(where, bundle):
    """One bundle of airflow_dag_bundles; messages name the place, never a credential's value."""
    errors = _unknown_keys(where, bundle, DAG_BUNDLE_KEYS)
    kind = bundle.get("type") or "git"
    if kind not in ("git", "volume"):
        errors.append("%s.type: must be git (a GitDagBundle) or volume (the dags volume), got %r" % (where, kind))
    interval = bundle.get("refresh_interval")
    if interval is not None:
        errors.extend(_positive(where + ".refresh_interval", interval))
    if kind == "volume":
        extra = sorted(key for key in bundle if key not in ("name", "type", "refresh_interval"))
        if extra:
            errors.append("%s: a bundle of type volume takes only name and refresh_interval, not %s"
                          % (where, ", ".join(map(str, extra))))
        return errors
    url = str(bundle.get("repo_url") or "")
    if not GIT_URL.match(url):
        errors.append("%s.repo_url: must be a git repository URL (https://, http://, ssh://, git://, file:// or "
                      "user@host:path), got %r" % (where, bundle.get("repo_url")))
    elif re.match(r"^https?://[^/@]*:[^/@]*@", url):
        errors.append("%s.repo_url: holds a password; the URL is not secret (it is in the ConfigMap): give the "
                      "user and token as %s.username and %s.password instead (kept in a Secret)" % (where, where, where))
    for key in ("tracking_ref", "subdir"):
        if key in bundle and (not isinstance(bundle[key], str) or not bundle[key].strip()):
            errors.append("%s.%s: must be a non-empty string" % (where, key))
    if bundle.get("username") and not bundle.get("password"):
        errors.append("%s.username: give it with %s.password (the token), or neither for a public repository"
                      % (where, where))
    if bundle.get("password"):
        if bundle.get("git_conn_id"):
            errors.append("%s: give username/password or git_conn_id (a connection you manage), not both" % where)
        if url and not url.startswith(("http://", "https://")):
            errors.append("%s.password: a token authenticates over http(s) only; %s.repo_url is %r (for SSH, "
                          "manage the connection yourself and give git_conn_id)" % (where, where, url))
    if bundle.get("git_conn_id") and not CONN_ID.match(str(bundle["git_conn_id"])):
        errors.append("%s.git_conn_id: %r is not a connection id here (letters, digits, _; a letter first)"
                      % (where, bundle["git_conn_id"]))
    kwargs = bundle.get("kwargs")
    if kwargs is not None and not isinstance(kwargs, dict):
        errors.append("%s.kwargs: must be a mapping of more GitDagBundle arguments" % where)
    elif kwargs:
        owned = sorted(key for key in kwargs if key in DAG_BUNDLE_OWNED_KWARGS)
        if owned:
            errors.append("%s.kwargs: %s set by the role from the bundle's own keys" % (where, ", ".join(owned)))
    return errors


def _dag_bundles(name, value):
    """A list of bundles: unique names (and connection ids), at most one of type volume."""
    if not isinstance(value, list):
        return ["%s: must be a list of bundles, e.g. [{name: main, repo_url: https://git.example.com/dags.git}]" % name]
    errors, names, conn_ids, volumes = [], set(), set(), 0
    for index, bundle in enumerate(value):
        where = "%s[%d]" % (name, index)
        if not isinstance(bundle, dict):
            errors.append("%s: must be a mapping with at least name (and repo_url for a git bundle)" % where)
            continue
        bundle_name = str(bundle.get("name") or "")
        if not DAG_BUNDLE_NAME.match(bundle_name):
            errors.append("%s.name: %r is not a bundle name here (letters, digits, - and _, a letter or digit "
                          "first, at most 63)" % (where, bundle.get("name")))
        elif bundle_name in names:
            errors.append("%s.name: %r is given twice" % (where, bundle_name))
        elif bundle_name.lower().replace("-", "_") in conn_ids:
            errors.append("%s.name: %r names the same connection as another bundle (case, - and _ are alike there)"
                          % (where, bundle_name))
        names.add(bundle_name)
        conn_ids.add(bundle_name.lower().replace("-", "_"))
        volumes += (bundle.get("type") or "git") == "volume"
        errors.extend(_dag_bundle(where, bundle))
    if volumes > 1:
        errors.append("%s: at most one bundle of type volume (there is one dags volume)" % name)
    return errors


WORKER_POOL_KEYS = ("name", "queues", "replicas", "concurrency", "resources", "node_selector", "tolerations",
                    "affinity", "extra_env")
QUEUE = re.compile(r"^[A-Za-z0-9_.:@-]+$")


def _worker_pools(name, value):
    """Each pool: a name that makes valid object names (airflow-worker-NAME, its pods), at least one
    queue, and the same checks as the default worker's settings."""
    if not isinstance(value, list):
        return ["%s: must be a list of pools, e.g. [{name: gpu, queues: [gpu]}]" % name]
    errors, seen = [], set()
    for index, pool in enumerate(value):
        at = "%s[%d]" % (name, index)
        if not isinstance(pool, dict):
            errors.append("%s: must be a mapping with name and queues" % at)
            continue
        errors.extend(_unknown_keys(at, pool, WORKER_POOL_KEYS))
        pool_name = pool.get("name")
        if not isinstance(pool_name, str) or len(pool_name) > 30 or not DNS_LABEL.match(pool_name):
            errors.append("%s.name: %r is not a pool name (lower case letters, digits and '-', at most 30: "
                          "it names the StatefulSet airflow-worker-NAME)" % (at, pool_name))
        elif pool_name in seen:
            errors.append("%s.name: %r names two pools" % (at, pool_name))
        else:
            seen.add(pool_name)
        queues = pool.get("queues")
        if not isinstance(queues, list) or not queues or not all(isinstance(q, str) and QUEUE.match(q) for q in queues):
            errors.append("%s.queues: must be a list of one or more queue names (no spaces or commas), got %r" % (at, queues))
        checks = (("replicas", _count), ("concurrency", _positive), ("resources", _resources),
                  ("node_selector", _mapping), ("affinity", _mapping), ("tolerations", _sequence), ("extra_env", _env))
        for key, check in checks:
            if pool.get(key) is not None:
                errors.extend(check("%s.%s" % (at, key), pool[key]))
    return errors


AUTOSCALING_KEYS = ("enabled", "engine", "min_replicas", "max_replicas", "polling_interval", "cooldown_period",
                    "target_cpu_utilization", "keda_namespace")


def _worker_autoscaling(name, value):
    """Checked when enabled: an engine we render, counts in order, KEDA's namespace a namespace name."""
    if not isinstance(value, dict):
        return ["%s: must be a mapping, e.g. {enabled: true, engine: keda, max_replicas: 5}" % name]
    errors = _unknown_keys(name, value, AUTOSCALING_KEYS)
    if not _true(value.get("enabled", False)):
        return errors
    engine = value.get("engine", "keda")
    if engine not in ("keda", "hpa"):
        errors.append("%s.engine: must be keda (queue depth) or hpa (CPU), got %r" % (name, engine))
    # KEDA may stop every worker while nothing is queued; an HPA cannot go below one
    lowest = 0 if engine == "keda" else 1
    checks = (("min_replicas", lowest), ("max_replicas", 1), ("polling_interval", 1), ("cooldown_period", 0),
              ("target_cpu_utilization", 1))
    for key, minimum in checks:
        if key in value:
            errors.extend(_count("%s.%s" % (name, key), value[key], minimum))
    low, high = _whole(value.get("min_replicas", 1)), _whole(value.get("max_replicas", 5))
    if low is not None and high is not None and low > high:
        errors.append("%s: min_replicas (%d) is above max_replicas (%d)" % (name, low, high))
    if "keda_namespace" in value:
        errors.extend(_object_name(name + ".keda_namespace", value["keda_namespace"]))
    return errors


# [pgbouncer] settings the role wires together (the Service's port, the Secret's auth file, the exporter's user)
PGBOUNCER_OWNED = ("listen_addr", "listen_port", "unix_socket_dir", "auth_file", "stats_users")
PGBOUNCER_SETTING = re.compile(r"^[a-z_]+$")


def _pgbouncer_settings(name, value):
    """More [pgbouncer] settings: names as PgBouncer spells them, one-line scalar values, none of the
    settings the role owns."""
    if not isinstance(value, dict):
        return ["%s: must be a mapping of [pgbouncer] settings, e.g. {server_idle_timeout: 120}" % name]
    errors = []
    for key in sorted(value, key=str):
        if not isinstance(key, str) or not PGBOUNCER_SETTING.match(key):
            errors.append("%s: %r is not a PgBouncer setting name (lower case letters and _)" % (name, key))
        elif key in PGBOUNCER_OWNED:
            errors.append("%s.%s: set by the role (it wires the Service, the auth file and the exporter to it)" % (name, key))
        elif isinstance(value[key], (dict, list)) or "\n" in str(value[key]):
            errors.append("%s.%s: must be a single-line value, got %r" % (name, key, value[key]))
    return errors


def _pgbouncer(variables):
    """PgBouncer's auth file quotes the user and password with double quotes: neither may hold one."""
    if not _true(variables.get("airflow_pgbouncer_enabled", False)):
        return []
    errors = []
    database = variables.get("airflow_database")
    if isinstance(database, dict) and '"' in str(database.get("user") or ""):
        errors.append('airflow_database.user: must not contain a double quote (") when airflow_pgbouncer_enabled is true')
    password = variables.get("airflow_database_password")
    if password is not None and '"' in str(password):
        errors.append('airflow_database_password: must not contain a double quote (") when airflow_pgbouncer_enabled '
                      "is true (PgBouncer's auth file quotes it); the value is not shown")
    return errors


def _sequence(name, value):
    return [] if isinstance(value, list) else ["%s: must be a list" % name]


RULES = (
    (re.compile(r"_image$"), _image),
    (re.compile(r"_replicas$"), _count),
    (re.compile(r"_(concurrency|timeout|workers|grace_period)$"), _positive),
    (re.compile(r"^airflow_fernet_key$"), _fernet),
    (re.compile(r"_storage$"), _storage),
    (re.compile(r"_resources$"), _resources),
    (re.compile(r"(_name|^airflow_namespace|^airflow_instance)$"), _object_name),
    (re.compile(r"_url$"), _url),
    (re.compile(r"_node_port$"), _port),
    (re.compile(r"_service_type$"), _service_type),
    (re.compile(r"^airflow_config$"), _sections),
    (re.compile(r"_(extra_env|extra_secret_env)$"), _env),
    (re.compile(r"^airflow_extra_env_from$"), _env_from),
    (re.compile(r"^airflow_ca_bundle$"), _ca_bundle),
    (re.compile(r"^airflow_remote_logging$"), _remote_logging),
    (re.compile(r"^airflow_worker_pools$"), _worker_pools),
    (re.compile(r"^airflow_dag_bundles$"), _dag_bundles),
    (re.compile(r"_refresh_interval$"), _positive),
    (re.compile(r"^airflow_worker_autoscaling$"), _worker_autoscaling),
    (re.compile(r"_(pool_size|max_client_conn)$"), _positive),
    (re.compile(r"^airflow_pgbouncer_extra_settings$"), _pgbouncer_settings),
    (re.compile(r"_(node_selector|affinity|annotations)$"), _mapping),
    (re.compile(r"_tolerations$"), _sequence),
)


def _false(value):
    return value is False or str(value).strip().lower() in ("false", "no", "off", "0", "n")


def _true(value):
    return value is True or str(value).strip().lower() in ("true", "yes", "on", "1", "y")


def _suggest(word, choices):
    close = difflib.get_close_matches(word, choices, n=1)
    return " (did you mean %r?)" % close[0] if close else ""


def _unknown_keys(name, mapping, known):
    """One error per key of mapping that is not among known, with the closest known key suggested."""
    return ["%s.%s: no such setting%s" % (name, key, _suggest(str(key), known))
            for key in sorted(mapping, key=str) if key not in known]


def _host(name, value, port_variable):
    if value in ("", None):
        return []
    text = str(value).strip()
    try:
        ipaddress.ip_address(text)
        return []
    except ValueError:
        pass
    if len(text) <= 253 and HOST_NAME.match(text.lower()):
        return []
    return ["%s: %r is not a host: give only a DNS name or an IP address (no scheme, port or path); "
            "the port goes in %s" % (name, value, port_variable)]


# A mapping given in the inventory replaces the role's default whole (Ansible does not merge them)
DATASTORE_KEYS = {"airflow_database": ("host", "port", "name", "user", "query"), "airflow_redis": ("host", "port", "db")}


def _datastores(variables):
    """An external database or broker needs its host, and a host is a name or an address."""
    errors = []
    for switch, setting, what in (("airflow_postgresql_enabled", "airflow_database", "PostgreSQL server"),
                                  ("airflow_redis_enabled", "airflow_redis", "Redis server")):
        value = variables.get(setting)
        if not isinstance(value, dict):
            continue
        missing = [key for key in DATASTORE_KEYS[setting] if key not in value]
        if missing:
            errors.append("%s: is missing %s; a mapping set in the inventory replaces the default whole, so give "
                          "every key (%s)" % (setting, ", ".join(missing), ", ".join(DATASTORE_KEYS[setting])))
        host = value.get("host")
        errors.extend(_host(setting + ".host", host, setting + ".port"))
        port = _whole(value.get("port"))
        if "port" in value and (port is None or not 1 <= port <= 65535):
            errors.append("%s.port: must be a TCP port between 1 and 65535, got %r" % (setting, value.get("port")))
        if switch in variables and _false(variables[switch]) and host in ("", None):
            errors.append("%s.host: must be set when %s is false (the DNS name or IP address of your %s)"
                          % (setting, switch, what))
    return errors


def _ingress(variables):
    value = variables.get("airflow_ingress")
    if isinstance(value, dict) and _true(value.get("enabled", False)) and not value.get("host"):
        return ["airflow_ingress.host: must be set when airflow_ingress.enabled is true "
                "(the DNS name the Ingress answers for, e.g. airflow.example.com)"]
    return []


ROUTE_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _route_covers(pattern, host):
    """A route host name covers host: the same name, or *.suffix and host is one or more labels before it."""
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


def _http_route(variables):
    """Attached to at least one Gateway (each named), valid host names, and the host of
    airflow_base_url among them: the UI's links and redirects must reach the route."""
    value = variables.get("airflow_http_route")
    if not isinstance(value, dict) or not _true(value.get("enabled", False)):
        return []
    errors, refs, hostnames = [], value.get("parent_refs"), value.get("hostnames") or []
    if not isinstance(value.get("annotations") or {}, dict):
        errors.append("airflow_http_route.annotations: must be a mapping")
    if not isinstance(refs, list) or not refs or not all(isinstance(r, dict) and r.get("name") for r in refs):
        errors.append("airflow_http_route.parent_refs: must list the Gateways the route attaches to, each with "
                      "a name (e.g. [{name: public, namespace: gateways}]), got %r" % (refs,))
    if not isinstance(hostnames, list):
        return errors + ["airflow_http_route.hostnames: must be a list of host names"]
    for host in hostnames:
        # as the Gateway API takes them: lower case, no IP address, no trailing dot, a leading *. at most
        if not isinstance(host, str) or not ROUTE_HOST.match(host) or _is_ip(host):
            errors.append("airflow_http_route.hostnames: %r is not a host name the Gateway API takes "
                          "(lower case letters, digits, '-' and '.', optionally *. in front)" % (host,))
    base_host = urlsplit(str(variables.get("airflow_base_url") or "")).hostname
    if base_host and hostnames and not any(_route_covers(str(h), base_host) for h in hostnames):
        errors.append("airflow_http_route.hostnames: the host of airflow_base_url (%s) is not among them, so the "
                      "UI's links would leave the route; add it, or change airflow_base_url" % base_host)
    return errors


def _version(variables):
    if "airflow_version" not in variables:
        return []
    value = variables["airflow_version"]
    match = AIRFLOW_VERSION.match(str(value).strip())
    if not match:
        return ["airflow_version: %r is not an Airflow version (such as 3.3.2); supported: %s"
                % (value, SUPPORTED_VERSIONS)]
    if int(match.group(1)) != 3:
        return ["airflow_version: %s is not supported; this collection deploys Airflow %s"
                % (value, SUPPORTED_VERSIONS)]
    return []


def _version_key(text):
    return tuple(int(part) if part.isdigit() else 0 for part in re.split(r"[.]", str(text)))


def config_reference(references, version):
    """(the reference for `version` or else the newest one, a warning when it is not the version's own).

    references maps Airflow versions to {"sections": {section: [key, ...]}, "provider_sections": [...]}.
    """
    if not references:
        return None, None
    version = str(version)
    if version in references:
        return references[version], None
    newest = max(references, key=_version_key)
    return references[newest], ("airflow_config: this collection has no list of Airflow %s's configuration "
                                "options; checked against Airflow %s's" % (version, newest))


def _known_key(key, keys):
    # Airflow reads a sensitive option also from <key>_cmd or <key>_secret
    return key in keys or re.sub(r"_(cmd|secret)$", "", key) in keys


def config_findings(config, reference, version="3.3.2"):
    """(errors, warnings) for airflow_config against an Airflow version's sections and keys."""
    errors, warnings = [], []
    if not isinstance(config, dict):
        return errors, warnings
    sections = (reference or {}).get("sections") or {}
    extensible = set((reference or {}).get("provider_sections") or ())
    for section in sorted(config, key=str):
        settings = config[section]
        if not isinstance(settings, dict):
            continue   # _sections reports it
        where = "airflow_config.%s" % section
        for key in sorted(settings, key=str):
            if isinstance(settings[key], (dict, list)):
                errors.append("%s.%s: a %s is not a setting; each section maps keys to single values "
                              "(a string, number or boolean)"
                              % (where, key, "mapping" if isinstance(settings[key], dict) else "list"))
        if not sections:
            continue
        name = str(section).lower()
        if name not in sections:
            errors.append("%s: Airflow %s has no section [%s]%s" % (where, version, section, _suggest(name, sections)))
            continue
        for key in sorted(settings, key=str):
            option = str(key).lower()
            if _known_key(option, sections[name]):
                continue
            hint = _suggest(option, sections[name])
            elsewhere = sorted(other for other, keys in sections.items() if option in keys)
            if not hint and elsewhere:
                hint = " (it is an option of [%s])" % "], [".join(elsewhere)
            message = "%s.%s: Airflow %s has no option %s in [%s]%s" % (where, key, version, key, section, hint)
            if name in extensible:
                warnings.append(message + "; kept, as a provider the image does not have may define it")
            else:
                errors.append(message)
    return errors, warnings


def _dag_bundle_config(variables):
    """airflow_dag_bundles writes [dag_processor] dag_bundle_config_list: not both."""
    config = variables.get("airflow_config")
    section = config.get("dag_processor") if isinstance(config, dict) else None
    if variables.get("airflow_dag_bundles") and isinstance(section, dict) and "dag_bundle_config_list" in section:
        return ["airflow_config.dag_processor.dag_bundle_config_list: set by airflow_dag_bundles; give the "
                "bundles there (or leave airflow_dag_bundles empty)"]
    return []


CROSS_CHECKS = (_datastores, _ingress, _http_route, _pgbouncer, _version, _dag_bundle_config)


def input_errors(variables, config_references=None):
    """Error messages (each naming its variable) for every value that breaks its rule.

    config_references ({version: reference}, see config_reference) adds the check of airflow_config's
    sections and keys against the deployed airflow_version's (or else the newest) reference.
    """
    variables = variables or {}
    errors = []
    for name in sorted(variables):
        value = variables[name]
        if value is None and not name.endswith(("_image", "_name")):
            continue
        for pattern, check in RULES:
            if pattern.search(name):
                errors.extend(check(name, value))
                break
    for check in CROSS_CHECKS:
        errors.extend(check(variables))
    if "airflow_config" in variables:
        reference, _warning = config_reference(config_references, variables.get("airflow_version", ""))
        errors.extend(config_findings(variables["airflow_config"], reference,
                                      _reference_version(config_references, reference))[0])
    return sorted(errors)


def _reference_version(references, reference):
    for version, candidate in (references or {}).items():
        if candidate is reference:
            return version
    return "?"


def input_warnings(variables, known_names=(), config_references=None):
    """Warnings: airflow_* variables no role declares (with the closest declared name), options unknown in
    a section providers extend, and which Airflow version airflow_config was checked against."""
    variables = variables or {}
    known = set(known_names or ())
    warnings = []
    if known:
        for name in sorted(variables):
            if name.startswith("airflow_") and name not in known:
                warnings.append("%s: no role of flujo.airflow has this variable, it is ignored%s"
                                % (name, _suggest(name, sorted(known))))
    if "airflow_config" in variables:
        reference, warning = config_reference(config_references, variables.get("airflow_version", ""))
        if warning and variables["airflow_config"]:
            warnings.append(warning)
        warnings.extend(config_findings(variables["airflow_config"], reference,
                                        _reference_version(config_references, reference))[1])
    return warnings


def _release(version):
    """(major, minor, patch) of a version string: pre-releases compare as their release."""
    match = AIRFLOW_VERSION.match(str(version).strip())
    return tuple(int(part or 0) for part in match.groups()) if match else None


DOWNGRADE_ADVICE = (
    "nothing was applied. Going back needs the schema downgraded first, by the Airflow that migrated it: "
    "back up (playbooks/backup.yml), run `airflow db downgrade --to-version %s` in a pod of the running "
    "version, then rerun with -e airflow_allow_downgrade=true")


def downgrade_errors(airflow_version, schema, revisions=None, deployed_versions=None, allow=False):
    """The error when airflow_version is older than the metadata database's schema (empty list if not).

    schema is a files/airflow-<version>-schema.json, or a list of them (the newest is used) ({"airflow_version": the Airflow the map was read
    from, "revisions": {revision: the release that introduced it}}). revisions are those of the
    alembic_version table (a list or a space-separated string; empty when the database could not be
    read: then the versions the deployed pods are labelled with decide).
    """
    requested = _release(airflow_version)
    if allow or requested is None:
        return []
    if isinstance(schema, list):   # one map per Airflow version read: the newest knows every revision
        schema = max(schema, key=lambda each: _release(each.get("airflow_version", "")) or (0, 0, 0), default={})
    if isinstance(revisions, str):
        revisions = revisions.split()
    known = (schema or {}).get("revisions") or {}
    mapped_up_to = _release((schema or {}).get("airflow_version", "0"))
    for revision in revisions or ():
        release = known.get(revision)
        if release is not None and _release(release) > requested:
            return ["airflow_version: %s is older than the schema of the metadata database (revision %s, "
                    "introduced by Airflow %s): Airflow %s cannot run on it; %s"
                    % (airflow_version, revision, release, airflow_version, DOWNGRADE_ADVICE % airflow_version)]
        if release is None and mapped_up_to is not None and requested <= mapped_up_to:
            return ["airflow_version: the metadata database is at schema revision %s, which no Airflow up to %s "
                    "has: a newer Airflow migrated it, and Airflow %s cannot run on it; %s"
                    % (revision, schema["airflow_version"], airflow_version, DOWNGRADE_ADVICE % airflow_version)]
    if not revisions:
        newer = sorted((v for v in deployed_versions or () if _release(v) and _release(v) > requested), key=_release)
        if newer:
            return ["airflow_version: %s is older than the Airflow %s the deployment runs (its pods' label; the "
                    "schema revision could not be read): a downgrade; %s"
                    % (airflow_version, newer[-1], DOWNGRADE_ADVICE % airflow_version)]
    return []


class FilterModule(object):
    def filters(self):
        return {"input_errors": input_errors, "input_warnings": input_warnings, "downgrade_errors": downgrade_errors}
