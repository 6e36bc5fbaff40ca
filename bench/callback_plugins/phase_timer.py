# Bench-only callback: writes the start and end time of every task to $FLUJO_PHASE_FILE (JSON lines).
import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
  name: phase_timer
  type: aggregate
  short_description: task timings for bench/bench.py
  description: [Writes the start and end time of each task as JSON lines.]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "phase_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("FLUJO_PHASE_FILE")
        self._start = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start[task._uuid] = time.time()

    def _done(self, result):
        if not self._path:
            return
        task = result._task
        with open(self._path, "a") as handle:
            handle.write(json.dumps({"task": task.get_name(), "role": task._role.get_name() if task._role else "",
                                     "start": self._start.get(task._uuid), "end": time.time()}) + "\n")

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = _done
