# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Can this deployment keep task logs in airflow_remote_logging's store? Run by the migration Job
(an init container) before any component rolls: it writes and deletes one small object under the
base folder, through the same Airflow connection the log handler will use. A wrong setting exits 3
with one line naming it (the Job fails at once and the run prints that line); the keys are never
printed. Usage: python -c <this file> s3://BUCKET[/PREFIX] CONNECTION_ID"""

import sys

VAR = "airflow_remote_logging"


def fail(message):
    print("%s: %s" % (VAR, message), flush=True)
    sys.exit(3)


def main(folder, conn_id):
    try:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

        from airflow.exceptions import AirflowException
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    except ImportError as exc:
        fail("this image lacks the Amazon provider (apache-airflow-providers-amazon), which S3 task logs need: %s" % exc)
    if not folder.startswith("s3://"):
        fail("base_log_folder %s is not an s3:// URL" % folder)
    bucket, prefix = S3Hook.parse_s3_url(folder)
    hook = S3Hook(aws_conn_id=conn_id)
    try:
        endpoint = hook.conn_config.endpoint_url or "AWS S3"
    except (AirflowException, ValueError) as exc:  # the connection itself cannot be read: name it, not a traceback
        fail("connection %s (Secret airflow-remote-logging) cannot be read: %s" % (conn_id, type(exc).__name__))
    key = "%s/.flujo-write-check" % prefix.strip("/") if prefix.strip("/") else ".flujo-write-check"
    try:
        client = hook.get_conn()
        client.head_bucket(Bucket=bucket)
        client.put_object(Bucket=bucket, Key=key, Body=b"flujo.airflow remote logging check\n")
        client.delete_object(Bucket=bucket, Key=key)
    except NoCredentialsError:
        fail("no credentials for connection %s: set access_key_id and secret_access_key, or give the pods "
             "an identity (airflow_service_account_annotations)" % conn_id)
    except EndpointConnectionError as exc:
        fail("endpoint_url: cannot reach %s (%s)" % (endpoint, exc))
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchBucket"):
            fail("base_log_folder: the bucket %s does not exist at %s: create it first" % (bucket, endpoint))
        if code in ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
            fail("access_key_id/secret_access_key: %s refused them for s3://%s (%s)" % (endpoint, bucket, code))
        fail("%s answered %s for s3://%s/%s" % (endpoint, code or exc, bucket, key))
    except BotoCoreError as exc:
        fail("endpoint_url/region: %s" % exc)
    print("%s: wrote and deleted s3://%s/%s at %s with connection %s" % (VAR, bucket, key, endpoint, conn_id))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
