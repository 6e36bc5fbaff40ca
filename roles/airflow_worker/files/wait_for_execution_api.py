# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until the Execution API answers as itself, then exec the worker.

The worker container runs `python -c "<this file>" <timeout seconds> airflow celery worker`
(embedded into the manifest, so nothing here may rely on __file__). A worker that takes tasks
while the API server cannot be reached fails them before they start: the task's supervisor gives
up after its retries, and a 404 from whatever answers in its place (stale Service endpoints after
a node restart route to an old pod IP, which another pod may hold) is not retried at all; the
scheduler then fails the queued task. So Celery starts only once
`$AIRFLOW__CORE__EXECUTION_API_SERVER_URL/health` returns {"status": "healthy"}. Exits 1 when the
time is up (the container restarts and waits again). Python 3.9+, the standard library only.
"""

import json
import os
import sys
import time
import urllib.request

POLL_SECONDS = 2


def healthy(url, timeout=5):
    """(True, "") when url answers {"status": "healthy"}, else (False, what answered instead)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read(4096)
        return (json.loads(body.decode("utf-8")) == {"status": "healthy"}), "unexpected answer"
    except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors; bad JSON a ValueError
        return False, "%s: %s" % (type(error).__name__, getattr(error, "code", None) or getattr(error, "reason", error))


def wait(url, timeout, check=healthy, clock=time.time, sleep=time.sleep):
    """None once url is healthy; the last failure when timeout seconds have passed."""
    deadline, last = clock() + timeout, None
    while True:
        ok, why = check(url)
        if ok:
            return None
        if why != last:
            print("waiting for the Execution API at %s (%s)" % (url, why), flush=True)
            last = why
        if clock() > deadline:
            return "the Execution API at %s did not answer healthy within %d s (%s)" % (url, timeout, why)
        sleep(POLL_SECONDS)


def main(argv, environ=None):
    """argv: [timeout seconds, command...]. Execs the command once the API is healthy."""
    environ = os.environ if environ is None else environ
    timeout, command = int(argv[0]), argv[1:]
    base = environ.get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "")
    if base:
        failure = wait(base.rstrip("/") + "/health", timeout)
        if failure:
            print(failure, file=sys.stderr, flush=True)
            return 1
        print("Execution API healthy; starting %s" % " ".join(command), flush=True)
    os.execvp(command[0], command)
    return 1  # pragma: no cover (execvp does not return)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
