# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flujo.airflow contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes rendered manifests into a directory of the controller, in the controller's own process:
render mode writes about thirty files, and ansible.builtin.copy ran two modules for each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dest", "files", "mode"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dest = self._task.args.get("dest")
        files = self._task.args.get("files") or []
        mode = int(str(self._task.args.get("mode", "0644")), 8)
        if not dest or not os.path.isdir(dest):
            raise AnsibleActionFail("dest: %r is not a directory" % dest)
        written = []
        for index, entry in enumerate(files):
            name, content = entry.get("name"), entry.get("content")
            if not name or os.path.basename(name) != name or content is None:
                raise AnsibleActionFail("files[%d]: a plain file name and its content are required" % index)
            path = os.path.join(dest, name)
            data = to_bytes(content)
            try:
                with open(path, "rb") as existing:
                    if existing.read() == data:
                        continue
            except (IOError, OSError):
                pass  # a new file
            if not self._task.check_mode:
                with open(path, "wb") as out:
                    out.write(data)
                os.chmod(path, mode)
            written.append(name)
        result.update(changed=bool(written), written=written, dest=dest)
        return result
