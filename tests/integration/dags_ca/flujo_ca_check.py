"""One task that fetches an HTTPS URL (Airflow Variable-free: the URL is fixed by the test) with
requests and with the standard library's default context: both verify the server's certificate
against the trust store the pod was given (SSL_CERT_FILE, REQUESTS_CA_BUNDLE)."""

import ssl
import urllib.request
from datetime import datetime

from airflow.sdk import dag, task

URL = "https://flujo-tls:8443/"


@dag(dag_id="flujo_ca_check", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["test"])
def flujo_ca_check():
    @task(retries=0)
    def fetch():
        import requests

        body = requests.get(URL, timeout=10).text
        with urllib.request.urlopen(URL, timeout=10, context=ssl.create_default_context()) as resp:
            assert resp.read().decode() == body
        print("verified: %s" % body.strip())

    fetch()


flujo_ca_check()
