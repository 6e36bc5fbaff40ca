# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write SimpleAuthManager's passwords file from the environment: {AIRFLOW_ADMIN_USER:
AIRFLOW_ADMIN_PASSWORD} as JSON. The api-server container runs this as `python -c "<this file>"`
before it starts the api-server, so the password comes from the Secret (envFrom) and is written
only to the container's in-memory auth volume. Optional argument: another file to write.
Nothing here may rely on __file__; Python 3.9+, standard library only.
"""

import json
import os
import sys

PASSWORDS_FILE = "/opt/airflow/auth/passwords.json"


def write_passwords(path, environ):
    """Write {admin user: admin password} from environ to path as JSON (nothing when one is unset)."""
    passwords = {environ["AIRFLOW_ADMIN_USER"]: environ["AIRFLOW_ADMIN_PASSWORD"]}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(passwords, handle)


if __name__ == "__main__":
    write_passwords(sys.argv[1] if len(sys.argv) > 1 else PASSWORDS_FILE, os.environ)
