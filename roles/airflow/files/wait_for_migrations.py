# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait until the metadata database schema is at the head revision of the installed Airflow.

The init container of every Airflow pod runs this as `python -c "<this file>" <timeout seconds>`;
the migration Job's, as `... <timeout seconds> database`, which waits until the database answers
(on a new deployment the Job starts with PostgreSQL, and a failed first try would cost a back-off).
(embedded into the manifest, so nothing here may rely on __file__). It polls the alembic_version
table and reads the head revision from the package's migration files without importing Airflow;
where it cannot tell (no single head, no database URL) it hands over to
`airflow db check-migrations`. Exit 0 once the schema is at head, non-zero when the time is up.
Python 3.9+, the standard library and SQLAlchemy (imported only when needed).
"""

import glob
import importlib.util
import os
import re
import subprocess
import sys
import time

REVISION = re.compile(r"^revision\s*=\s*[\"'](\w+)[\"']", re.M)
DOWN_REVISION = re.compile(r"^down_revision\s*=\s*(.+)$", re.M)
QUOTED = re.compile(r"[\"'](\w+)[\"']")
POLL_SECONDS = 2


def migration_heads(versions_dir):
    """The revisions of the alembic version files in versions_dir that no other file revises.
    A merge revision's down_revision is a tuple: every revision in it counts as revised."""
    revisions, revised = set(), set()
    for path in glob.glob(os.path.join(versions_dir, "*.py")):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        revisions.update(REVISION.findall(text))
        for value in DOWN_REVISION.findall(text):
            revised.update(QUOTED.findall(value))
    return revisions - revised


def migration_head(versions_dir):
    """The single head revision of versions_dir, or None when there is not exactly one."""
    heads = migration_heads(versions_dir)
    return next(iter(heads)) if len(heads) == 1 else None


def airflow_versions_dir():
    """The migration files of the installed Airflow package (found without importing it)."""
    package = importlib.util.find_spec("airflow").submodule_search_locations[0]
    return os.path.join(package, "migrations", "versions")


def schema_reader(url):
    """A function returning the set of revisions in the alembic_version table of url, or a
    'no answer (<error>)' string while the database cannot be read."""
    import sqlalchemy

    args = {"connect_timeout": 5} if url.startswith("postgres") else {}
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool, connect_args=args)

    def read():
        try:
            with engine.connect() as conn:
                return {row[0] for row in conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))}
        except sqlalchemy.exc.SQLAlchemyError as error:
            return "no answer (%s)" % type(error).__name__
    return read


def database_reader(url):
    """A function returning True once url answers a query, or a 'no answer (<error>)' string."""
    import sqlalchemy

    args = {"connect_timeout": 5} if url.startswith("postgres") else {}
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool, connect_args=args)

    def read():
        try:
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text("SELECT 1"))
                return True
        except sqlalchemy.exc.SQLAlchemyError as error:
            return "no answer (%s)" % type(error).__name__
    return read


def wait_for_database(read, timeout, clock=time.time, sleep=time.sleep):
    """Poll read() every second until it returns True. Returns None once it does, or the failure
    message when timeout seconds have passed."""
    deadline = clock() + timeout
    while True:
        found = read()
        if found is True:
            return None
        if clock() > deadline:
            return "database not answering after %d s: %s" % (timeout, found)
        sleep(1)


def wait_for_head(head, read, timeout, clock=time.time, sleep=time.sleep):
    """Poll read() every POLL_SECONDS until it returns {head}. Returns None once it does, or the
    failure message when timeout seconds have passed."""
    deadline = clock() + timeout
    while True:
        found = read()
        if found == {head}:
            return None
        if clock() > deadline:
            return "schema not at head %s after %d s: %s" % (head, timeout, found)
        sleep(POLL_SECONDS)


def check_migrations(timeout):
    """The Airflow command's verdict, for when the head cannot be read from the files."""
    return subprocess.call(["airflow", "db", "check-migrations", "--migration-wait-timeout=%d" % timeout])


def main(argv, environ=None, versions_dir=None):
    """argv: [timeout seconds] or [timeout seconds, "database"]. Returns the exit status: 0, a
    command's code or a message."""
    timeout = int(argv[0])
    url = (os.environ if environ is None else environ).get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    if argv[1:] == ["database"]:
        failure = wait_for_database(database_reader(url), timeout) if url else None
        if failure:
            return failure
        print("database answers" if url else "no database URL: not waiting")
        return 0
    head = migration_head(versions_dir or airflow_versions_dir())
    if head is None or not url:
        return check_migrations(timeout)
    failure = wait_for_head(head, schema_reader(url), timeout)
    if failure:
        return failure
    print("schema at head %s" % head)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
