# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the module tests share: a module run whose exit_json/fail_json are caught before Ansible
masks anything (so "no value in the result" is checked on the raw result), and an environment with
no cluster configuration of the machine running the tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import kubernetes.client
import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class Exit(Exception):
    """exit_json or fail_json was called; carries the result as the module built it."""

    def __init__(self, failed, result, no_log_values):
        super(Exit, self).__init__(result.get("msg", ""))
        self.failed, self.result, self.no_log_values = failed, result, set(no_log_values)


def _exit_json(self, **kwargs):
    raise Exit(False, kwargs, self.no_log_values)


def _fail_json(self, msg, **kwargs):
    kwargs["msg"] = msg
    raise Exit(True, kwargs, self.no_log_values)


def isolate(monkeypatch, tmp_path):
    """No K8S_AUTH_* variable, no ~/.kube/config and no in-cluster service leak into a test."""
    for name in list(os.environ):
        if name.startswith("K8S_AUTH_") or name.startswith("KUBERNETES_SERVICE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "home" / "no-kubeconfig"))
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)
    # load_kube_config sets the client's process-wide default configuration (with a hook that rewrites
    # host and token on every request): every test starts without one, as every module run does
    monkeypatch.setattr(kubernetes.client.Configuration, "_default", None)


def run_module(main, args, check=False, diff=False):
    """The Exit of one run of main with args (check and diff mode as Ansible passes them)."""
    args = dict(args)
    if check:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args):
        with pytest.raises(Exit) as caught:
            main()
    return caught.value


def succeeded(out):
    assert not out.failed, out.result["msg"]
    return out.result


def did_fail(out):
    assert out.failed, out.result
    return out
