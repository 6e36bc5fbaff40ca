# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the hack/airflow-*.py generators share: running a command in an Airflow image and writing
the reference file the preflight reads (roles/airflow_preflight/files/airflow-<version>-<what>.json)."""
import json
import os
import subprocess

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_in_image(image, *command):
    """stdout of COMMAND in a throwaway container of IMAGE."""
    return subprocess.run(["docker", "run", "--rm", image, *command],
                          check=True, capture_output=True, text=True).stdout


def write_reference(what, version, data):
    """Write DATA as roles/airflow_preflight/files/airflow-VERSION-WHAT.json and print its path."""
    path = os.path.join(TOP, "roles", "airflow_preflight", "files", "airflow-%s-%s.json" % (version, what))
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print(path)
