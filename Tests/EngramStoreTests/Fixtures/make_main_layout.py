#!/usr/bin/env python3
"""Writes main-layout.sql: a service database as the version before the single migrator wrote it.

Three migrators shared the file then: the store's (store-v1, store-v2-sparse-indexes), the member
directory's (auth-v1, auth-v2-invitations) and the audit log's (audit-v1), applied in that order by
`engram serve`. The SQL below is theirs, verbatim; the rows are what `engram serve --dev`, an
invitation, an audit entry and one memory (BM25-only collection) leave behind.
Run: python3 make_main_layout.py > main-layout.sql
"""
import json
import sqlite3
import struct
import sys

MIGRATIONS = [
    ("store-v1", """
CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    vector_size INTEGER NOT NULL,
    distance TEXT NOT NULL,
    tenant_key TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE points (
    rowid INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    pid TEXT NOT NULL,
    tenant TEXT,
    vector BLOB NOT NULL,
    payload BLOB NOT NULL,
    UNIQUE (collection_id, pid)
);
CREATE INDEX points_tenant ON points(collection_id, tenant, pid);
"""),
    ("store-v2-sparse-indexes", """
ALTER TABLE collections ADD COLUMN sparse_vectors TEXT;
ALTER TABLE points ADD COLUMN sparse BLOB;
CREATE TABLE payload_indexes (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    schema TEXT NOT NULL,
    PRIMARY KEY (collection_id, field)
);
"""),
    ("auth-v1", """
CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, require_review INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (org_id, user_id));
CREATE TABLE IF NOT EXISTS revoked_tokens (jti TEXT PRIMARY KEY, revoked_at REAL NOT NULL, expires_at REAL);
"""),
    ("auth-v2-invitations", """
CREATE TABLE invitations (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, user_id TEXT NOT NULL,
    role TEXT NOT NULL, invited_by TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL);
CREATE UNIQUE INDEX invitations_org_user ON invitations(org_id, user_id);
CREATE INDEX invitations_user ON invitations(user_id);
"""),
    ("audit-v1", """
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL, org_id TEXT, actor TEXT NOT NULL, action TEXT NOT NULL,
    memory_id TEXT, before_hash TEXT, after_hash TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS audit_org ON audit_log(org_id, id);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
"""),
]

MEMORY_ID = "6f1c2b9e-4a57-4c1e-9d1b-2f0e8c3a7b10"
T = 1764900000.0

db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
for identifier, sql in MIGRATIONS:
    db.executescript(sql)
    db.execute("INSERT INTO grdb_migrations VALUES (?)", (identifier,))
# The memory collection (BM25-only: one-dimensional placeholder vectors) with its tenant index.
db.execute(
    "INSERT INTO collections (name, vector_size, distance, tenant_key, created_at, sparse_vectors) VALUES (?, ?, ?, ?, ?, ?)",
    ("memories_bm25", 1, "Cosine", "tenant", T, None))
db.execute("INSERT INTO payload_indexes (collection_id, field, schema) VALUES (1, 'tenant', ?)",
           ('{"is_tenant":true,"type":"keyword"}',))
payload = {
    "content": "Use the staging database for migration rehearsals", "content_hash": "9a0364b9e99bb480dd25e1f0284c8555",
    "created_at": "2025-12-05T02:00:00Z", "embedding_model": "none", "kind": "note", "org_id": "alice",
    "scope": "org", "state": "published", "tags": ["db"], "tenant": "org:alice", "updated_at": "2025-12-05T02:00:00Z",
    "user_id": "alice",
}
db.execute("INSERT INTO points (collection_id, pid, tenant, vector, payload, sparse) VALUES (1, ?, ?, ?, ?, NULL)",
           ("u" + MEMORY_ID, "org:alice", struct.pack("<f", 1.0),
            json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()))
# `serve --dev`: the demo user owns its org; bob is a member; carol is invited.
db.execute("INSERT INTO users (id, created_at) VALUES ('alice', ?), ('bob', ?)", (T, T))
db.execute("INSERT INTO orgs (id, name, created_at) VALUES ('alice', 'alice', ?)", (T,))
db.execute("INSERT INTO members (org_id, user_id, role, created_at) VALUES ('alice', 'alice', 'owner', ?), ('alice', 'bob', 'member', ?)", (T, T))
db.execute("INSERT INTO invitations (id, org_id, user_id, role, invited_by, created_at, expires_at) VALUES "
           "('0b5e7d3c-8f61-4a2e-b7c4-5d9e1f2a3b4c', 'alice', 'carol', 'viewer', 'alice', ?, ?)", (T, T + 7 * 86400))
db.execute("INSERT INTO revoked_tokens (jti, revoked_at, expires_at) VALUES ('j-revoked', ?, NULL)", (T,))
db.execute("INSERT INTO audit_log (at, org_id, actor, action, memory_id, before_hash, after_hash, detail) VALUES "
           "(?, 'alice', 'alice', 'invite', NULL, NULL, NULL, 'carol as viewer')", (T,))
db.execute("INSERT INTO audit_log (at, org_id, actor, action, memory_id, before_hash, after_hash, detail) VALUES "
           "(?, 'alice', 'alice', 'publish', ?, NULL, '9a0364b9e99bb480dd25e1f0284c8555', 'state draft→published')",
           (T, MEMORY_ID))
db.commit()
for line in db.iterdump():
    sys.stdout.write(line + "\n")
