# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an Airflow pod can tell about its deployment, as one JSON document on stdout.

playbooks/status.yml runs this in a running Airflow pod as
`python -c "<this file>" <wait_for_migrations.py source> <health URL> <path>...`:
- schema: the revisions in alembic_version against the head of the installed Airflow, read from
  its migration files by wait_for_migrations.py (the init containers' program, passed as source
  so the two never disagree);
- health: the api-server's /api/v2/monitor/health, through its Service;
- tasks: task instances by state (queued, running, scheduled, deferred, up_for_retry);
- volumes: size and use of each mounted path (statvfs).
A part that cannot be read says why under "error" instead of failing the whole document.
Python 3.9+, the standard library and SQLAlchemy (both in the Airflow image).
"""

import json
import os
import sys
import urllib.request

TASK_STATES = ("queued", "running", "scheduled", "deferred", "up_for_retry")


def load_wait_for_migrations(source):
    """The functions of wait_for_migrations.py, from its source (never run as __main__)."""
    namespace = {"__name__": "wait_for_migrations"}
    exec(compile(source, "wait_for_migrations.py", "exec"), namespace)  # pylint: disable=exec-used
    return namespace


def engine(url):
    import sqlalchemy

    args = {"connect_timeout": 5} if url.startswith("postgres") else {}
    return sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool, connect_args=args)


def schema(db, head):
    """{"current": [revisions], "head": head, "at_head": bool}."""
    import sqlalchemy

    with db.connect() as conn:
        current = sorted(row[0] for row in conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")))
    return {"current": current, "head": head, "at_head": current == [head]}


def task_counts(db):
    """{state: count} for TASK_STATES (0 where none is in that state)."""
    import sqlalchemy

    query = sqlalchemy.text("SELECT state, count(*) FROM task_instance WHERE state IN :states GROUP BY state")
    query = query.bindparams(sqlalchemy.bindparam("states", expanding=True))
    with db.connect() as conn:
        found = dict(conn.execute(query, {"states": list(TASK_STATES)}).fetchall())
    return {state: int(found.get(state, 0)) for state in TASK_STATES}


def health(url, timeout=10):
    """The JSON of /api/v2/monitor/health (it needs no login)."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # nosec: the in-cluster Service URL
        return json.load(resp)


def volume(path, statvfs=os.statvfs):
    """{"path", "size_bytes", "used_bytes", "used_percent"} of the filesystem at path."""
    st = statvfs(path)
    size = st.f_blocks * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    return {"path": path, "size_bytes": size, "used_bytes": used,
            "used_percent": round(100.0 * used / size, 1) if size else 0.0}


def part(read):
    """read()'s value, or {"error": why} when it fails."""
    try:
        return read()
    except Exception as error:  # pylint: disable=broad-except  # one unreadable part must not hide the others
        return {"error": "%s: %s" % (type(error).__name__, str(error).splitlines()[0] if str(error) else "")}


def main(argv, environ=None, versions_dir=None):
    """argv: [wait_for_migrations source, health URL, path...]. Prints the document, returns 0.
    versions_dir: the migration files (default: those of the installed Airflow)."""
    environ = os.environ if environ is None else environ
    wfm = load_wait_for_migrations(argv[0])
    url = environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    db = part(lambda: engine(url)) if url else {"error": "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is not set"}
    head = part(lambda: wfm["migration_head"](versions_dir or wfm["airflow_versions_dir"]()))
    have_db = not isinstance(db, dict)
    doc = {
        "schema": part(lambda: schema(db, head)) if have_db else db,
        "tasks": part(lambda: task_counts(db)) if have_db else db,
        "health": part(lambda: health(argv[1])),
        "volumes": [dict({"path": p}, **part(lambda p=p: volume(p))) for p in argv[2:]],
    }
    print(json.dumps(doc, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
