# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A plain Kubernetes API client configured exactly as kubernetes.core configures its own (the same
options, K8S_AUTH_* variables and precedence), without the dynamic client: its discovery costs a
request per API group on every module run, the largest part of a no-op call against a reachable
cluster. The kinds the roles render map to their REST paths statically; any other kind is looked up
once per group/version.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s import client as core_client
    from kubernetes.client.rest import ApiException
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException
except ImportError:
    core_client = None  # the module fails with missing_required_lib("kubernetes") first

# (apiVersion, kind) -> (plural, namespaced)
STATIC_KINDS = {
    ("v1", "Namespace"): ("namespaces", False),
    ("v1", "ServiceAccount"): ("serviceaccounts", True),
    ("v1", "ConfigMap"): ("configmaps", True),
    ("v1", "Secret"): ("secrets", True),
    ("v1", "Service"): ("services", True),
    ("v1", "PersistentVolumeClaim"): ("persistentvolumeclaims", True),
    ("v1", "Pod"): ("pods", True),
    ("apps/v1", "Deployment"): ("deployments", True),
    ("apps/v1", "StatefulSet"): ("statefulsets", True),
    ("batch/v1", "Job"): ("jobs", True),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("networkpolicies", True),
    ("networking.k8s.io/v1", "Ingress"): ("ingresses", True),
    ("policy/v1", "PodDisruptionBudget"): ("poddisruptionbudgets", True),
}


def connect(module):
    """An Api for module (an AnsibleK8SModule), or the module fails saying why it has no client."""
    try:
        return Api(build_api_client(module))
    except CoreException as exc:
        module.fail_from_exception(exc)
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg="Could not create API client: %s" % exc)


class ApiError(Exception):
    """An API call failed: HTTP status (0 when the cluster was not reached) and the server's reason."""

    def __init__(self, status, reason, message=""):
        super(ApiError, self).__init__("%s %s" % (status, reason) if status else reason)
        self.status, self.reason, self.message = status, reason, message


def build_api_client(module):
    """kubernetes.client.ApiClient built by kubernetes.core's own configuration code."""
    auth = core_client._create_auth_spec(module)
    configuration = core_client._create_configuration(auth)
    api_client = core_client.kubernetes.client.ApiClient(configuration)
    for header, value in core_client._create_headers(module).items():
        core_client._set_header(api_client, header, value)
    return api_client


class Api(object):
    """Raw JSON requests over an ApiClient; objects stay dicts, as the manifests are."""

    def __init__(self, api_client):
        self.api_client = api_client
        self._discovered = {}

    def request(self, method, path, body=None, query=None, content_type="application/json", text=False):
        """The response as JSON (as text with text=True); ApiError on an error status or no connection."""
        headers = {"Accept": "*/*" if text else "application/json", "Content-Type": content_type}
        query = list((query or {}).items())
        client = self.api_client
        try:
            if hasattr(client, "param_serialize"):  # kubernetes >= 37: the generated transport of openapi-generator 7
                response = client.call_api(*client.param_serialize(
                    method, path, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"]))
                response.read()
                if not 200 <= response.status <= 299:
                    client.response_deserialize(response, {})  # raises ApiException
            else:
                response = client.call_api(
                    path, method, query_params=query, header_params=headers, body=body, auth_settings=["BearerToken"],
                    _preload_content=False, _return_http_data_only=True)
        except ApiException as exc:
            message = ""
            try:
                message = json.loads(exc.body).get("message", "")
            except (TypeError, ValueError, AttributeError):
                pass
            raise ApiError(exc.status, exc.reason, message)
        except Exception as exc:  # pylint: disable=broad-except
            # urllib3 connection errors, TLS errors: the cluster was not reached
            raise ApiError(0, "cluster unreachable (%s)" % exc.__class__.__name__, str(exc))
        return response.data.decode("utf-8", "replace") if text else json.loads(response.data)

    def resource(self, api_version, kind):
        """(plural, namespaced) of a kind, from the static map or the API's list of its group/version."""
        known = STATIC_KINDS.get((api_version, kind))
        if known:
            return known
        if api_version not in self._discovered:
            path = "/api/v1" if api_version == "v1" else "/apis/" + api_version
            self._discovered[api_version] = dict(
                (r["kind"], (r["name"], r["namespaced"])) for r in self.request("GET", path).get("resources", [])
                if "/" not in r["name"])
        if kind not in self._discovered[api_version]:
            raise ApiError(404, "the API has no kind %s in %s" % (kind, api_version))
        return self._discovered[api_version][kind]

    def path(self, api_version, kind, namespace=None, name=None):
        plural, namespaced = self.resource(api_version, kind)
        parts = ["/api/v1" if api_version == "v1" else "/apis/" + api_version]
        if namespaced:
            parts += ["namespaces", namespace]
        parts.append(plural)
        if name:
            parts.append(name)
        return "/".join(parts)

    def is_namespaced(self, api_version, kind):
        return self.resource(api_version, kind)[1]
