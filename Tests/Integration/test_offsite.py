"""The off-site copy (`engram backup --offsite`, `engram restore --offsite`) against moto's S3 server with
Object Lock and IAM enforced: the upload is locked in compliance mode until its date, the server's own
credentials can neither delete nor replace it, an administrator cannot delete the locked version either,
uploading the same backup twice is refused, and a restore drill from the off-site copy gives back the
same memories.

moto (server mode) checks every request's SigV4 signature and the caller's IAM policies once
`/moto-api/reset-auth` is given 0: the number of requests it lets through unauthenticated (its
`INITIAL_NO_AUTH_ACTION_COUNT`, counted from the reset). The bucket and the IAM users are made before that.
"""
import datetime
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import helpers
from conftest import BIN, OUTPUT, EngramServer, free_port
from helpers import http

BUCKET = "engram-offsite"
PREFIX = "team/prod"
REGION = "us-east-1"

# What the server's key may do, and what it is explicitly denied even if another policy granted it
# (the README's "Off-site copies" policy, with the bucket name filled in).
BACKUP_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "WriteAndReadBackups", "Effect": "Allow",
         "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObjectRetention"],
         "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        {"Sid": "HeadMissingKeysAs404", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
        # moto names the action of a HEAD request after its API operation (HeadObject); AWS authorises it
        # as s3:GetObject, so the README's policy has no such line.
        {"Sid": "MotoHead", "Effect": "Allow", "Action": "s3:HeadObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        {"Sid": "NeverErase", "Effect": "Deny",
         "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:PutObjectLegalHold",
                    "s3:BypassGovernanceRetention", "s3:PutBucketVersioning", "s3:PutBucketObjectLockConfiguration",
                    "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:DeleteBucket", "s3:DeleteBucketPolicy"],
         "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]},
    ],
}
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def s3_client(endpoint, key):
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key["AccessKeyId"],
                        aws_secret_access_key=key["SecretAccessKey"],
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def reset_auth(endpoint, count):
    # A plain-text body: Flask would parse a form-encoded one away from the `request.data` moto reads.
    req = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=str(count).encode(), method="POST",
                                 headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def moto():
    """moto's server on a loopback port, with the locked bucket, the backup user and an admin; IAM enforced."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    log = open(OUTPUT / "moto-offsite.log", "ab")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log, env=env)
    try:
        deadline = time.time() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"moto exited with {proc.returncode}; see {OUTPUT / 'moto-offsite.log'}")
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                    break
            except urllib.error.HTTPError:
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.time() > deadline:
                    raise RuntimeError("moto did not start in 60 s")
                time.sleep(0.2)
        setup = {"AccessKeyId": "setup", "SecretAccessKey": "setup"}  # any key while auth is off
        iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="setup", aws_secret_access_key="setup")
        keys = {}
        for user, policy in [("engram-backup", BACKUP_POLICY), ("admin", ADMIN_POLICY)]:
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName=f"{user}-policy", PolicyDocument=json.dumps(policy))
            keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
        s3_client(endpoint, setup).create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
        helpers.SENT.add(keys["engram-backup"]["SecretAccessKey"])
        reset_auth(endpoint, 0)
        # From here every request is authenticated and authorised.
        with pytest.raises(ClientError):
            s3_client(endpoint, setup).list_objects_v2(Bucket=BUCKET)
        yield {"endpoint": endpoint, "backup": keys["engram-backup"], "admin": keys["admin"]}
    finally:
        try:
            reset_auth(endpoint, "inf")
        except (urllib.error.URLError, OSError):
            pass
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def offsite_env(moto):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ENGRAM_OFFSITE_", "AWS_"))}
    env.update(ENGRAM_OFFSITE_ENDPOINT=moto["endpoint"], ENGRAM_OFFSITE_REGION=REGION,
               ENGRAM_OFFSITE_ACCESS_KEY_ID=moto["backup"]["AccessKeyId"],
               ENGRAM_OFFSITE_SECRET_ACCESS_KEY=moto["backup"]["SecretAccessKey"])
    return env


def engram(*args, env):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300, env=env)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def uploaded(moto):
    """A server with memories, backed up with `--offsite`: the server, its token, the local backup, the
    off-site folder, the objects' keys in upload order and the CLI's output."""
    server = EngramServer("offsite")
    server.start()
    token = server.token("olga", org="acme", role="admin")
    texts = ["Nightly backups go to the off-site bucket at 02:00 UTC",
             "Off-site backup objects stay locked in compliance mode for thirty days",
             "The quarterly restore drill starts from the off-site copy"]
    ids = []
    for text in texts:
        status, _, body = http("POST", server.url + "/v1/memories", {"content": text, "tags": ["ops"]}, token=token)
        assert status in (200, 201), body
        ids.append(body["memory"]["id"])
    local = pathlib.Path(tempfile.mkdtemp(prefix="engram-offsite-")) / "b1"
    out = engram("backup", "--out", str(local), "--offsite", f"s3://{BUCKET}/{PREFIX}", "--offsite-retain-days", "30",
                 "--data-dir", str(server.data), env=offsite_env(moto))
    assert out.returncode == 0, out.stdout + out.stderr
    manifest = json.loads((local / "manifest.json").read_text())
    created = datetime.datetime.strptime(manifest["createdAt"], "%Y-%m-%dT%H:%M:%SZ")
    folder = f"{PREFIX}/backup-{created:%Y%m%d-%H%M%S}"
    keys = [f"{folder}/{f['name']}" for f in manifest["files"]] + [f"{folder}/manifest.json"]
    try:
        yield {"server": server, "token": token, "ids": ids, "texts": texts, "local": local, "manifest": manifest,
               "created": created, "folder": folder, "keys": keys, "output": out.stdout + out.stderr}
    finally:
        server.stop()


def test_the_upload_is_locked_in_compliance_mode_until_its_date(moto, uploaded):
    admin = s3_client(moto["endpoint"], moto["admin"])
    assert f"off-site copy s3://{BUCKET}/{uploaded['folder']}: {len(uploaded['keys'])} objects" in uploaded["output"]
    until = uploaded["output"].split("locked (COMPLIANCE) until ")[1].split()[0]
    expected = uploaded["created"] + datetime.timedelta(days=30)
    stated = datetime.datetime.strptime(until, "%Y-%m-%dT%H:%M:%SZ")
    # The retention runs from the upload, a few seconds at most after the backup's creation.
    assert datetime.timedelta(0) <= stated - expected <= datetime.timedelta(minutes=10), (stated, expected)
    listed = admin.list_objects_v2(Bucket=BUCKET, Prefix=uploaded["folder"] + "/")
    assert sorted(o["Key"] for o in listed["Contents"]) == sorted(uploaded["keys"])
    for key in uploaded["keys"]:
        head = admin.head_object(Bucket=BUCKET, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE", key
        assert head["ObjectLockRetainUntilDate"].replace(tzinfo=None) == stated, key
        body = admin.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert body == (uploaded["local"] / key.rsplit("/", 1)[1]).read_bytes(), key
    for f in uploaded["manifest"]["files"]:
        body = admin.get_object(Bucket=BUCKET, Key=f"{uploaded['folder']}/{f['name']}")["Body"].read()
        assert len(body) == f["bytes"] and sha256(body) == f["sha256"]


def test_the_servers_credentials_cannot_erase_or_replace_the_copy(moto, uploaded):
    server_s3 = s3_client(moto["endpoint"], moto["backup"])
    admin = s3_client(moto["endpoint"], moto["admin"])
    database_key = uploaded["keys"][0]
    original = admin.get_object(Bucket=BUCKET, Key=database_key)["Body"].read()
    version = admin.head_object(Bucket=BUCKET, Key=database_key)["VersionId"]

    def refused(call, code="AccessDenied"):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == code, caught.value.response["Error"]

    refused(lambda: server_s3.delete_object(Bucket=BUCKET, Key=database_key))
    refused(lambda: server_s3.delete_object(Bucket=BUCKET, Key=database_key, VersionId=version))
    refused(lambda: server_s3.delete_object(Bucket=BUCKET, Key=database_key, VersionId=version, BypassGovernanceRetention=True))
    refused(lambda: server_s3.put_object_retention(
        Bucket=BUCKET, Key=database_key, VersionId=version,
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": datetime.datetime(2000, 1, 1)}))
    refused(lambda: server_s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"}))
    # A conditional write (what engram sends) is refused by the server itself.
    refused(lambda: server_s3.put_object(Bucket=BUCKET, Key=database_key, Body=b"replacement", IfNoneMatch="*"),
            code="PreconditionFailed")
    # The administrator cannot delete the locked version either (compliance mode, before its date), though
    # the same call removes a version that carries no lock: the refusal is the lock's, not the policy's.
    refused(lambda: admin.delete_object(Bucket=BUCKET, Key=database_key, VersionId=version))
    control = admin.put_object(Bucket=BUCKET, Key="control/unlocked", Body=b"no lock")["VersionId"]
    admin.delete_object(Bucket=BUCKET, Key="control/unlocked", VersionId=control)
    assert "Versions" not in admin.list_object_versions(Bucket=BUCKET, Prefix="control/unlocked")
    versions = admin.list_object_versions(Bucket=BUCKET, Prefix=database_key)
    assert [v["VersionId"] for v in versions.get("Versions", [])] == [version]
    assert "DeleteMarkers" not in versions
    assert admin.get_object(Bucket=BUCKET, Key=database_key, VersionId=version)["Body"].read() == original
    assert sha256(original) == uploaded["manifest"]["files"][0]["sha256"]


def test_uploading_the_same_backup_again_is_refused_and_changes_nothing(moto, uploaded):
    admin = s3_client(moto["endpoint"], moto["admin"])
    before = {key: admin.head_object(Bucket=BUCKET, Key=key)["VersionId"] for key in uploaded["keys"]}
    out = engram("backup", "--upload", str(uploaded["local"]), "--offsite", f"s3://{BUCKET}/{PREFIX}", env=offsite_env(moto))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "OFF-SITE COPY FAILED" in out.stderr
    assert f"{uploaded['keys'][0]} already exists off-site" in out.stderr
    for key in uploaded["keys"]:
        versions = admin.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions", [])
        assert [v["VersionId"] for v in versions] == [before[key]], key
        assert admin.get_object(Bucket=BUCKET, Key=key)["Body"].read() == (uploaded["local"] / key.rsplit("/", 1)[1]).read_bytes()


def test_a_restore_drill_from_the_offsite_copy_gives_back_the_same_memories(moto, uploaded):
    target = pathlib.Path(tempfile.mkdtemp(prefix="engram-offsite-restored-")) / "data"
    out = engram("restore", "--offsite", f"s3://{BUCKET}/{uploaded['folder']}", "--to", str(target), env=offsite_env(moto))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "sizes and sha256 match the manifest" in out.stdout and "restored into" in out.stdout
    assert [p.name for p in target.parent.iterdir()] == ["data"], "the download folder is removed"
    # Row counts as the manifest recorded them (the restore's own gates), checked again here.
    verify = engram("verify", str(uploaded["local"]), env=offsite_env(moto))
    assert verify.returncode == 0
    rows = {k: v for k, v in (pair.split("=") for pair in
            next(line for line in out.stdout.splitlines() if line.startswith("ok   row counts")).split(": ", 1)[1].split())}
    assert {k: int(v) for k, v in rows.items()} == uploaded["manifest"]["tables"]
    assert sha256((target / "engram.sqlite").read_bytes()) == uploaded["manifest"]["files"][0]["sha256"]
    # A server on the restored data serves the same memories.
    copy = EngramServer("offsite-restored")
    copy.data = target
    copy.start()
    try:
        status, _, body = http("GET", copy.url + "/v1/memories?limit=50", token=uploaded["token"])
        assert status == 200, body
        assert sorted(m["content"] for m in body["memories"]) == sorted(uploaded["texts"])
        for mid, text in zip(uploaded["ids"], uploaded["texts"]):
            status, _, body = http("GET", f"{copy.url}/v1/memories/{mid}", token=uploaded["token"])
            assert status == 200 and body["memory"]["content"] == text, body
    finally:
        copy.stop()
    # Restoring again over the restored data is refused; the data stays.
    again = engram("restore", "--offsite", f"s3://{BUCKET}/{uploaded['folder']}", "--to", str(target), env=offsite_env(moto))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_a_damaged_offsite_copy_is_refused_before_anything_is_restored(moto, uploaded):
    """An administrator plants a backup folder whose database does not match its manifest (moto keeps it
    unlocked): the drill refuses it on the checksum and restores nothing."""
    admin = s3_client(moto["endpoint"], moto["admin"])
    folder = f"{PREFIX}/backup-19990101-000000"
    database = bytearray((uploaded["local"] / "engram.sqlite").read_bytes())
    database[len(database) // 2] ^= 0xFF
    admin.put_object(Bucket=BUCKET, Key=f"{folder}/engram.sqlite", Body=bytes(database))
    admin.put_object(Bucket=BUCKET, Key=f"{folder}/manifest.json", Body=(uploaded["local"] / "manifest.json").read_bytes())
    target = pathlib.Path(tempfile.mkdtemp(prefix="engram-offsite-damaged-")) / "data"
    out = engram("restore", "--offsite", f"s3://{BUCKET}/{folder}", "--to", str(target), env=offsite_env(moto))
    assert out.returncode == 1, out.stdout
    assert "RESTORE FAILED" in out.stderr and "does not match" in out.stderr
    assert not target.exists()
    assert list(target.parent.iterdir()) == [], "the download folder is removed"


def test_missing_or_wrong_credentials_fail_before_or_at_the_first_request(moto, uploaded):
    env = offsite_env(moto)
    del env["ENGRAM_OFFSITE_SECRET_ACCESS_KEY"]
    target = pathlib.Path(tempfile.mkdtemp()) / "b"
    out = engram("backup", "--out", str(target), "--offsite", f"s3://{BUCKET}/{PREFIX}",
                 "--data-dir", str(uploaded["server"].data), env=env)
    assert out.returncode == 1 and "ENGRAM_OFFSITE_SECRET_ACCESS_KEY" in out.stderr
    assert not target.exists(), "the settings are checked before the backup is taken"
    wrong = "wrong-secret-" + "x" * 30
    env = offsite_env(moto) | {"ENGRAM_OFFSITE_SECRET_ACCESS_KEY": wrong}
    out = engram("backup", "--upload", str(uploaded["local"]), "--offsite", f"s3://{BUCKET}/elsewhere", env=env)
    assert out.returncode == 1
    assert "OFF-SITE COPY FAILED" in out.stderr and "HTTP 403" in out.stderr
    assert wrong not in out.stdout + out.stderr


def test_no_output_or_setting_shows_the_secret(moto, uploaded):
    secret = moto["backup"]["SecretAccessKey"]
    assert secret not in uploaded["output"]
    out = engram("config", "--json", env=offsite_env(moto))
    assert out.returncode == 0, out.stderr
    rows = {row["variable"]: row for row in json.loads(out.stdout)}
    assert rows["ENGRAM_OFFSITE_SECRET_ACCESS_KEY"]["value"] == "(set)"
    assert rows["ENGRAM_OFFSITE_ACCESS_KEY_ID"]["value"] == moto["backup"]["AccessKeyId"]
    assert secret not in out.stdout + out.stderr
