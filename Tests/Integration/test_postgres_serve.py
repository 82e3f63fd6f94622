"""`engram serve --metadata postgres://…`: the start-up checks against a real PostgreSQL server (the cluster
of Tests/pg_cluster.sh), and the metadata really living there. Skipped without the cluster."""
import base64
import os
import subprocess
import tempfile
import threading
import urllib.parse

import helpers
from conftest import BIN, EngramServer, SECRET, MODEL_DIR, free_port, pg_database, requires_postgres
from helpers import http

pytestmark = requires_postgres


def psql(url, sql):
    """Runs `sql` with psql as the role of `url`; returns stdout (unaligned, tuples only)."""
    out = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def serve_once(env_extra, timeout=60):
    """Runs `engram serve` expecting it to refuse to start; returns the CompletedProcess."""
    env = dict(os.environ, ENGRAM_JWT_SECRET=SECRET, ENGRAM_MODEL_DIR=MODEL_DIR)
    env.update(env_extra)
    data = tempfile.mkdtemp(prefix="engram-pgstart-")
    return subprocess.run([BIN, "serve", "--port", str(free_port()), "--data-dir", data],
                          env=env, capture_output=True, text=True, timeout=timeout)


def with_password(url, password):
    parts = urllib.parse.urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def test_the_metadata_lives_in_postgres_and_the_sqlite_tables_stay_empty():
    s = EngramServer("pg-metadata")
    app, owner = pg_database("pg-metadata")
    s.env.update(ENGRAM_METADATA=app, ENGRAM_METADATA_OWNER=owner)
    s.start()
    try:
        token = s.token("alice", org="acme", role="admin")
        status, _, body = http("POST", s.url + "/v1/memories", {"content": "The billing service tests run with pytest -n 4."},
                               token=token)
        assert status == 201, body
        memory = body["memory"]["id"]
        assert http("PATCH", f"{s.url}/v1/memories/{memory}", {"content": "The billing service tests run with pytest -n 8."},
                    token=token)[0] == 200
        # Versions, members and the audit log are in PostgreSQL (read as the owner, who sees every row) …
        assert psql(owner, f"SELECT count(*) FROM engram.memory_versions WHERE memory_id = '{memory}'") == "2"
        assert psql(owner, "SELECT role FROM engram.members WHERE org_id = 'acme' AND user_id = 'alice'") == "admin"
        assert int(psql(owner, "SELECT count(*) FROM engram.audit_log")) >= 1
        # … and the versions' snapshots are sealed there (the suite runs with ENGRAM_ENCRYPTION_KEY).
        assert psql(owner, "SELECT count(*) FROM engram.memory_versions WHERE position(convert_to('pytest', 'UTF8') in snapshot) > 0") == "0"
        # The history comes back through the API from PostgreSQL.
        status, _, history = http("GET", f"{s.url}/v1/memories/{memory}/versions", token=token)
        assert status == 200 and len(history["versions"]) == 2, history
        # The application role sees nothing without a tenant: row-level security, not the application, decides.
        assert psql(app, "SELECT count(*) FROM engram.memory_versions") == "0"
        assert psql(app, "SELECT count(*) FROM engram.members") == "0"
    finally:
        s.stop()
    # The data directory's SQLite file holds the memories only: no member, version or audit row.
    import sqlite3
    db = sqlite3.connect(s.data / "engram.sqlite")
    try:
        for table in ("members", "memory_versions", "audit_log"):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
    finally:
        db.close()


def test_a_wrong_password_is_a_one_line_refusal_without_the_password():
    app, _ = pg_database("pg-wrong-password")
    wrong = "not-the-password-" + os.urandom(6).hex()
    r = serve_once({"ENGRAM_METADATA": with_password(app, wrong)})
    assert r.returncode == 78, r.stderr
    assert "refusing to start" in r.stderr and "PostgreSQL" in r.stderr
    assert wrong not in r.stderr + r.stdout


def test_an_unmigrated_database_without_the_owner_url_is_refused():
    app, _ = pg_database("pg-unmigrated")
    r = serve_once({"ENGRAM_METADATA": app})
    assert r.returncode == 78, r.stderr
    assert "migration" in r.stderr and "--metadata-owner" in r.stderr


def test_the_owner_role_may_not_serve():
    # The owner owns the schema: row-level security would not bind it, so it may migrate but never serve.
    app, owner = pg_database("pg-owner-serves")
    r = serve_once({"ENGRAM_METADATA": owner})
    assert r.returncode == 78, r.stderr
    assert "row-level security" in r.stderr or "lacks" in r.stderr
    # Once migrated (by a first start with both URLs), the owner as the application is still refused: it owns the schema.
    s = EngramServer("pg-owner-serves-migrate")
    s.env.update(ENGRAM_METADATA=app, ENGRAM_METADATA_OWNER=owner)
    s.start()
    s.stop()
    r = serve_once({"ENGRAM_METADATA": owner})
    assert r.returncode == 78, r.stderr
    assert "owns" in r.stderr
    # The same role for both is a configuration error, named as such.
    r = serve_once({"ENGRAM_METADATA": app, "ENGRAM_METADATA_OWNER": app})
    assert r.returncode != 0 and "same role" in r.stderr


def test_another_encryption_key_is_refused_by_the_database():
    app, owner = pg_database("pg-key")
    s = EngramServer("pg-key")
    s.env.update(ENGRAM_METADATA=app, ENGRAM_METADATA_OWNER=owner)
    s.start()
    s.stop()
    recorded = psql(owner, "SELECT key_id FROM engram.encryption_state WHERE id = 1")
    assert recorded
    other = base64.b64encode(os.urandom(32)).decode()
    helpers.SENT.add(other)
    r = serve_once({"ENGRAM_METADATA": app, "ENGRAM_ENCRYPTION_KEY": other})
    assert r.returncode == 78, r.stderr
    assert recorded in r.stderr and "does not fit" in r.stderr
    # Without any key, a database holding sealed values is refused too.
    r = serve_once({"ENGRAM_METADATA": app, "ENGRAM_ENCRYPTION_KEY": ""})
    assert r.returncode == 78, r.stderr
    assert "ENGRAM_ENCRYPTION_KEY is not set" in r.stderr


def test_two_servers_starting_together_migrate_once_and_share_the_metadata():
    app, owner = pg_database("pg-replicas")
    servers = [EngramServer(f"pg-replica-{i}") for i in range(2)]
    for s in servers:
        s.env.update(ENGRAM_METADATA=app, ENGRAM_METADATA_OWNER=owner)
    errors = []

    def start(s):
        try:
            s.start()
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        migrations = psql(owner, "SELECT count(*), count(DISTINCT id) FROM engram.schema_migrations")
        total, distinct = migrations.split("|")
        assert total == distinct and int(total) >= 11
        # Users and revocations are shared: a token issued by the CLI against the database works on both
        # replicas, and revoking it through the other replica's CLI refuses it on both at once.
        issued = servers[0].cli("token", "issue", "--user", "bob", "--org", "acme")
        token, jti = issued.stdout.strip(), issued.stderr.split("jti: ")[1].split()[0]
        helpers.SENT.add(token)
        for s in servers:
            assert http("GET", s.url + "/v1/memories", token=token)[0] == 200
        servers[1].cli("token", "revoke", "--jti", jti)
        assert psql(owner, f"SELECT count(*) FROM engram.revoked_tokens WHERE jti = '{jti}'") == "1"
        for s in servers:
            assert http("GET", s.url + "/v1/memories", token=token)[0] == 401
    finally:
        for s in servers:
            s.stop()
