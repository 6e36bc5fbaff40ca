# Counts the HTTP requests every Python process of an ansible-playbook run sends (the bench puts
# this directory on PYTHONPATH). Each process appends its count to $FLUJO_API_COUNT_FILE at exit.
# Counted at http.client's putrequest: the kubernetes client (urllib3) and our modules' standard
# library path both go through it, once per request (the users program's WebSocket exec does not).
import atexit
import os

_path = os.environ.get("FLUJO_API_COUNT_FILE")
if _path:
    import http.client as _http

    _count = [0]
    _putrequest = _http.HTTPConnection.putrequest

    def _counting_putrequest(self, *args, **kwargs):
        _count[0] += 1
        return _putrequest(self, *args, **kwargs)

    _http.HTTPConnection.putrequest = _counting_putrequest

    @atexit.register
    def _write():
        if _count[0]:
            with open(_path, "a") as handle:
                handle.write("%d\n" % _count[0])
