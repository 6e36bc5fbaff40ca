# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The note of every module built on module_utils/_k8s_api.py: how it reaches the cluster."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options: {}
notes:
  - When the connection is a kubeconfig context (or the in-cluster service account) with a client
    certificate or a token and no other connection option is set, the requests are made with Python's
    standard library, from the same kubeconfig read the same way, without importing the kubernetes
    package (0.5-1 s of every run); everything else (exec and auth-provider plugins, proxies,
    impersonation, host and credentials given as options, several kubeconfig files) goes through
    kubernetes.core's client configuration.
"""
