# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print the revisions of the metadata database's alembic_version table, as `revisions: <rev> ...`.

Run by the preflight in a running Airflow pod (`python -c "<this file>"`), with that pod's own
database connection, so it reads the built-in PostgreSQL and an external database alike. On an
error it prints only the error's type (`unreadable: <type>`), never the URL.
"""
import os

import sqlalchemy

engine = sqlalchemy.create_engine(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], poolclass=sqlalchemy.pool.NullPool)
try:
    with engine.connect() as conn:
        print("revisions:", *[row[0] for row in conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))])
except sqlalchemy.exc.SQLAlchemyError as error:
    print("unreadable:", type(error).__name__)
