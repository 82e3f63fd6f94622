"""`engram keys status|rotate` with the metadata in PostgreSQL: the version snapshots, webhook and TOTP
secrets in schema `engram` are counted and resealed under the new key along with the data directory's
memory payloads, a rotation stopped half-way (in either part) completes when run again with the server
serving, and afterwards the new key alone opens everything while the old one alone is refused.
Skipped without the cluster of Tests/pg_cluster.sh."""
import base64
import hashlib
import hmac
import os
import re
import subprocess
import uuid

import httpx
import pytest

from conftest import BIN, EngramServer, pg_database, requires_postgres
from helpers import SENT, http, new_password, totp, totp_step

pytestmark = requires_postgres


def new_key():
    key = base64.b64encode(os.urandom(32)).decode()
    SENT.add(key)
    return key


def key_id(key):
    """`AtRestCipher.MasterKey.id`: hex of the first 8 bytes of HMAC-SHA256(key, "engram-key-id")."""
    return hmac.new(base64.b64decode(key), b"engram-key-id", hashlib.sha256).digest()[:8].hex()


def psql(url, sql):
    """Runs `sql` with psql as the role of `url`; returns stdout (unaligned, tuples only)."""
    out = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def keys(server, *args, env=None):
    return subprocess.run([BIN, "keys", *args, "--data-dir", str(server.data)], env=env or server.env,
                          capture_output=True, text=True, timeout=300)


def status(server):
    """`engram keys status` as {"payloads": (current, other, plaintext), "postgres versions": …, …} and the
    `postgres:` state line."""
    r = keys(server, "status")
    assert r.returncode == 0, r.stdout + r.stderr
    counts = {}
    state = None
    for line in r.stdout.splitlines():
        m = re.fullmatch(r"(.+): current=(\d+) other=(\d+) plaintext=(\d+)", line)
        if m:
            counts[m.group(1)] = tuple(int(x) for x in m.groups()[1:])
        elif line.startswith("postgres: "):
            state = line
    return counts, state


def stored_key_ids(owner):
    """The key ids of the sealed values in PostgreSQL, per column (read as the owner, who sees every row)."""
    versions = psql(owner, "SELECT DISTINCT encode(substring(snapshot from 5 for 8), 'hex') FROM engram.memory_versions")
    totps = psql(owner, "SELECT DISTINCT encode(substring(totp_secret from 5 for 8), 'hex') FROM engram.credentials "
                        "WHERE totp_secret IS NOT NULL")
    hooks = psql(owner, "SELECT webhook_secret FROM engram.orgs WHERE webhook_secret IS NOT NULL").split()
    assert hooks and all(h.startswith("e1:") for h in hooks), "webhook secrets are sealed"
    return {
        "versions": set(versions.split()),
        "totp": set(totps.split()),
        "webhook": {base64.b64decode(h[3:])[4:12].hex() for h in hooks},
    }


def sign_in(server, user, password, code=None):
    """A signed-in httpx client and its CSRF token."""
    client = httpx.Client(base_url=server.url, timeout=60, headers={"Accept": "application/json"})
    body = {"user_id": user, "password": password}
    if code is not None:
        SENT.add(code)
        body["totp_code"] = code
    r = client.post("/v1/session", json=body)
    assert r.status_code == 200, r.text
    SENT.add(r.json()["csrf_token"])
    return client, r.json()["csrf_token"]


def enrol_totp(server, user, password):
    """Enrols TOTP over the API; returns the secret and the step of the code used."""
    client, csrf = sign_in(server, user, password)
    try:
        r = client.post("/v1/me/totp/setup", headers={"X-CSRF-Token": csrf})
        assert r.status_code in (200, 201), r.text
        secret = r.json()["secret"]
        SENT.add(secret)
        SENT.add(r.json()["otpauth_uri"])
        csrf = r.json().get("csrf_token", csrf)
        step = totp_step()
        code = totp(secret, step * 30)
        SENT.add(code)
        r = client.post("/v1/me/totp/enable", json={"code": code}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        for c in r.json()["backup_codes"]:
            SENT.add(c)
    finally:
        client.close()
    return secret, step


def started_on_postgres(name, key):
    """A started server under `key` alone whose metadata is a fresh PostgreSQL database; returns it and the
    database's application and owner URLs."""
    app, owner = pg_database(name)
    s = EngramServer(name, ENGRAM_ENCRYPTION_KEY=key)
    s.env.update(ENGRAM_METADATA=app, ENGRAM_METADATA_OWNER=owner)
    s.env.pop("ENGRAM_ENCRYPTION_KEY_PREVIOUS", None)
    s.start()
    return s, app, owner


def test_rotation_reseals_the_postgres_metadata_and_resumes():
    old = new_key()
    s, app, owner = started_on_postgres("pg-keys", old)
    try:
        token = s.token("kira", org="keys", role="owner")
        solo = s.token("solo")
        originals = {}
        for who, t, text in [("kira", token, "the deploy queue drains every hour"), ("kira", token, "releases are tagged from main"),
                             ("solo", solo, "my notes sync at night")]:
            content = f"Key rotation memory {uuid.uuid4().hex}: {text}"
            status_code, _, body = http("POST", f"{s.url}/v1/memories", {"content": content}, token=t)
            assert status_code == 201, body
            originals[body["memory"]["id"]] = (t, [content])
        edited_id = next(iter(originals))
        edited = originals[edited_id][1][0] + " (edited)"
        status_code, _, body = http("PATCH", f"{s.url}/v1/memories/{edited_id}", {"content": edited}, token=token)
        assert status_code == 200, body
        originals[edited_id][1].append(edited)
        secret = "whsec-" + os.urandom(16).hex()
        SENT.add(secret)
        s.cli("org", "set", "--org", "keys", "--webhook-secret", "-", input=secret + "\n")
        password = s.set_password("tess", new_password("tess"), org="keys")
        totp_secret, enrolled_step = enrol_totp(s, "tess", password)
    finally:
        s.stop()
    old_id = key_id(old)
    assert stored_key_ids(owner) == {"versions": {old_id}, "totp": {old_id}, "webhook": {old_id}}
    versions = int(psql(owner, "SELECT count(*) FROM engram.memory_versions"))
    assert versions == 4

    # Without the owner's URL the PostgreSQL part cannot see every tenant's rows: refused, nothing done.
    new = new_key()
    s.env.update(ENGRAM_ENCRYPTION_KEY=new, ENGRAM_ENCRYPTION_KEY_PREVIOUS=old)
    no_owner = {k: v for k, v in s.env.items() if k != "ENGRAM_METADATA_OWNER"}
    r = keys(s, "rotate", env=no_owner)
    assert r.returncode != 0 and "--metadata-owner" in r.stderr, r.stdout + r.stderr

    # The server runs with the new key and the old one as previous, and keeps serving while the rotation runs.
    s.start()
    try:
        counts, state = status(s)
        payloads = counts["payloads"][1]
        assert payloads >= 3, counts
        assert counts["postgres versions"] == (0, versions, 0), counts
        assert counts["postgres webhook_secrets"] == (0, 1, 0), counts
        assert counts["postgres totp_secrets"] == (0, 1, 0), counts
        assert state == f"postgres: key id {old_id}, rotating to {key_id(new)}", state

        r = keys(s, "rotate", "--stop-after", "1")
        assert r.returncode == 0 and "stopped after 1" in r.stdout, r.stdout + r.stderr
        counts, _ = status(s)
        assert counts["payloads"][1] == payloads - 1, counts
        assert counts["postgres versions"] == (0, versions, 0), "the file goes first"

        # This run finishes the file and stops two values into PostgreSQL, one row per transaction.
        r = keys(s, "rotate", "--stop-after", str(payloads + 1), "--batch", "1")
        assert r.returncode == 0 and f"stopped after {payloads + 1}" in r.stdout, r.stdout + r.stderr
        assert "postgres versions: resealed=2 unreadable=0" in r.stdout, r.stdout
        counts, state = status(s)
        assert counts["payloads"][1:] == (0, 0), counts
        assert counts["postgres versions"] == (2, versions - 2, 0), counts
        assert state == f"postgres: key id {old_id}, rotating to {key_id(new)}", state
        for mid, (t, texts) in originals.items():
            status_code, _, body = http("GET", f"{s.url}/v1/memories/{mid}/versions", token=t)
            assert status_code == 200 and [v["memory"]["content"] for v in body["versions"]] == texts, "served mid-rotation"

        r = keys(s, "rotate")
        assert r.returncode == 0 and "done" in r.stdout, r.stdout + r.stderr
        assert "postgres webhook_secrets: resealed=1" in r.stdout and "postgres totp_secrets: resealed=1" in r.stdout, r.stdout
        counts, state = status(s)
        assert counts and all(c[1:] == (0, 0) for c in counts.values()), counts
        assert counts["postgres versions"] == (versions, 0, 0), counts
        assert state == f"postgres: key id {key_id(new)}", state
        # Running it again finds nothing to do.
        r = keys(s, "rotate")
        assert r.returncode == 0 and "done" in r.stdout and "resealed=" not in r.stdout, r.stdout + r.stderr
    finally:
        s.stop()
    assert stored_key_ids(owner) == {"versions": {key_id(new)}, "totp": {key_id(new)}, "webhook": {key_id(new)}}
    assert psql(owner, "SELECT key_id, target_key_id IS NULL, rotating FROM engram.encryption_state") == f"{key_id(new)}|t|f"

    # The new key alone opens everything: the history, and the TOTP secret (a code of a later step signs in).
    s.env.pop("ENGRAM_ENCRYPTION_KEY_PREVIOUS")
    s.start()
    try:
        for mid, (t, texts) in originals.items():
            status_code, _, body = http("GET", f"{s.url}/v1/memories/{mid}/versions", token=t)
            assert status_code == 200 and [v["memory"]["content"] for v in body["versions"]] == texts, body
        step = max(enrolled_step + 1, totp_step())
        client, _ = sign_in(s, "tess", password, code=totp(totp_secret, step * 30))
        client.close()
    finally:
        s.stop()

    # The old key alone is refused at start-up (exit 78).
    s.env["ENGRAM_ENCRYPTION_KEY"] = old
    with pytest.raises(RuntimeError):
        s.start()
    s.log.close()
    assert s.proc.returncode == 78
    r = keys(s, "status")
    assert r.returncode != 0 and "does not fit" in r.stderr, r.stdout + r.stderr


def test_a_snapshot_that_does_not_open_is_counted_and_left_as_it_is():
    old = new_key()
    s, app, owner = started_on_postgres("pg-keys-tamper", old)
    try:
        token = s.token("tam", org="tamper", role="owner")
        for text in ("the build cache lives on the shared volume", "the linter runs before the tests",
                     "staging resets every night"):
            status_code, _, body = http("POST", f"{s.url}/v1/memories", {"content": f"Tamper {uuid.uuid4().hex}: {text}"},
                                        token=token)
            assert status_code == 201, body
    finally:
        s.stop()
    new = new_key()
    s.env.update(ENGRAM_ENCRYPTION_KEY=new, ENGRAM_ENCRYPTION_KEY_PREVIOUS=old)
    counts, _ = status(s)
    payloads = counts["payloads"][1]
    # One version resealed: PostgreSQL now records the rotation, which lets a snapshot change.
    r = keys(s, "rotate", "--stop-after", str(payloads + 1))
    assert r.returncode == 0 and "postgres versions: resealed=1" in r.stdout, r.stdout + r.stderr
    target = psql(owner, f"SELECT memory_id FROM engram.memory_versions WHERE substring(snapshot from 5 for 8) = "
                         f"decode('{key_id(old)}', 'hex') ORDER BY memory_id LIMIT 1")
    assert target
    psql(owner, f"UPDATE engram.memory_versions SET snapshot = set_byte(snapshot, 30, get_byte(snapshot, 30) # 1) "
                f"WHERE memory_id = '{target}'")
    r = keys(s, "rotate")
    assert r.returncode != 0 and "did not open" in r.stderr, r.stdout + r.stderr
    assert "postgres versions: resealed=1 unreadable=1" in r.stdout, r.stdout
    counts, state = status(s)
    assert counts["postgres versions"] == (2, 1, 0), counts
    assert state == f"postgres: key id {key_id(old)}, rotating to {key_id(new)}", "not finished: the old key is still needed"
    # Rerunning resumes and meets the same value again, still untouched.
    r = keys(s, "rotate")
    assert r.returncode != 0 and "postgres versions: resealed=0 unreadable=1" in r.stdout, r.stdout + r.stderr
