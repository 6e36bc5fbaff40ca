# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Value checks the role argument specs cannot express, chosen by the variable's name.

input_errors({"airflow_worker_replicas": -1, ...}) -> ["airflow_worker_replicas: must be ..."]
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

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
        for resource, amount in (value[part] or {}).items():
            errors.extend(_quantity("%s.%s.%s" % (name, part, resource), amount))
    return errors


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
    (re.compile(r"_(extra_env|node_selector|affinity|annotations)$"), _mapping),
    (re.compile(r"_tolerations$"), _sequence),
)


def input_errors(variables):
    """Error messages (each naming its variable) for every value that breaks its rule."""
    errors = []
    for name in sorted(variables or {}):
        value = variables[name]
        if value is None and not name.endswith(("_image", "_name")):
            continue
        for pattern, check in RULES:
            if pattern.search(name):
                errors.extend(check(name, value))
                break
    return errors


class FilterModule(object):
    def filters(self):
        return {"input_errors": input_errors}
