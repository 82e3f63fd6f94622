BEGIN TRANSACTION;
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL, org_id TEXT, actor TEXT NOT NULL, action TEXT NOT NULL,
    memory_id TEXT, before_hash TEXT, after_hash TEXT, detail TEXT);
INSERT INTO "audit_log" VALUES(1,1764900000.0,'alice','alice','invite',NULL,NULL,NULL,'carol as viewer');
INSERT INTO "audit_log" VALUES(2,1764900000.0,'alice','alice','publish','6f1c2b9e-4a57-4c1e-9d1b-2f0e8c3a7b10',NULL,'9a0364b9e99bb480dd25e1f0284c8555','state draft→published');
CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    vector_size INTEGER NOT NULL,
    distance TEXT NOT NULL,
    tenant_key TEXT,
    created_at REAL NOT NULL
, sparse_vectors TEXT);
INSERT INTO "collections" VALUES(1,'memories_bm25',1,'Cosine','tenant',1764900000.0,NULL);
CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
INSERT INTO "grdb_migrations" VALUES('store-v1');
INSERT INTO "grdb_migrations" VALUES('store-v2-sparse-indexes');
INSERT INTO "grdb_migrations" VALUES('auth-v1');
INSERT INTO "grdb_migrations" VALUES('auth-v2-invitations');
INSERT INTO "grdb_migrations" VALUES('audit-v1');
CREATE TABLE invitations (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE, user_id TEXT NOT NULL,
    role TEXT NOT NULL, invited_by TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL);
INSERT INTO "invitations" VALUES('0b5e7d3c-8f61-4a2e-b7c4-5d9e1f2a3b4c','alice','carol','viewer','alice',1764900000.0,1765504800.0);
CREATE TABLE members (
    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (org_id, user_id));
INSERT INTO "members" VALUES('alice','alice','owner',1764900000.0);
INSERT INTO "members" VALUES('alice','bob','member',1764900000.0);
CREATE TABLE orgs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, require_review INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
INSERT INTO "orgs" VALUES('alice','alice',0,1764900000.0);
CREATE TABLE payload_indexes (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    schema TEXT NOT NULL,
    PRIMARY KEY (collection_id, field)
);
INSERT INTO "payload_indexes" VALUES(1,'tenant','{"is_tenant":true,"type":"keyword"}');
CREATE TABLE points (
    rowid INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    pid TEXT NOT NULL,
    tenant TEXT,
    vector BLOB NOT NULL,
    payload BLOB NOT NULL, sparse BLOB,
    UNIQUE (collection_id, pid)
);
INSERT INTO "points" VALUES(1,1,'u6f1c2b9e-4a57-4c1e-9d1b-2f0e8c3a7b10','org:alice',X'0000803F',X'7B22636F6E74656E74223A22557365207468652073746167696E6720646174616261736520666F72206D6967726174696F6E2072656865617273616C73222C22636F6E74656E745F68617368223A223961303336346239653939626234383064643235653166303238346338353535222C22637265617465645F6174223A22323032352D31322D30355430323A30303A30305A222C22656D62656464696E675F6D6F64656C223A226E6F6E65222C226B696E64223A226E6F7465222C226F72675F6964223A22616C696365222C2273636F7065223A226F7267222C227374617465223A227075626C6973686564222C2274616773223A5B226462225D2C2274656E616E74223A226F72673A616C696365222C22757064617465645F6174223A22323032352D31322D30355430323A30303A30305A222C22757365725F6964223A22616C696365227D',NULL);
CREATE TABLE revoked_tokens (jti TEXT PRIMARY KEY, revoked_at REAL NOT NULL, expires_at REAL);
INSERT INTO "revoked_tokens" VALUES('j-revoked',1764900000.0,NULL);
CREATE TABLE users (id TEXT PRIMARY KEY, created_at REAL NOT NULL);
INSERT INTO "users" VALUES('alice',1764900000.0);
INSERT INTO "users" VALUES('bob',1764900000.0);
CREATE INDEX points_tenant ON points(collection_id, tenant, pid);
CREATE UNIQUE INDEX invitations_org_user ON invitations(org_id, user_id);
CREATE INDEX invitations_user ON invitations(user_id);
CREATE INDEX audit_org ON audit_log(org_id, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('audit_log',2);
COMMIT;
