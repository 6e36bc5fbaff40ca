# Counts the HTTP requests every Python process of an ansible-playbook run sends (the bench puts
# this directory on PYTHONPATH). Each process appends its count to $FLUJO_API_COUNT_FILE at exit.
import atexit
import os

_path = os.environ.get("FLUJO_API_COUNT_FILE")
if _path:
    try:
        import urllib3.connectionpool as _pool

        _count = [0]
        _urlopen = _pool.HTTPConnectionPool.urlopen

        def _counting_urlopen(self, method, url, *args, **kwargs):
            _count[0] += 1
            return _urlopen(self, method, url, *args, **kwargs)

        _pool.HTTPConnectionPool.urlopen = _counting_urlopen

        @atexit.register
        def _write():
            if _count[0]:
                with open(_path, "a") as handle:
                    handle.write("%d\n" % _count[0])
    except ImportError:
        pass
