import EngramAtRest
import EngramDatabase
import EngramMetadata
import EngramPostgres
import Foundation
import Testing

/// The metadata-store seam on SQLite (or on PostgreSQL under `Tests/postgres.sh`, through `TestMetadata`):
/// one representative transaction of each area (members, accounts, OAuth, the audit log, the lifecycle) and
/// the global surface, all through `any MetadataStore` and the query protocols rather than the concrete
/// types, with the at-rest sealing of the lifecycle intact.
@Suite struct MetadataSeamTests {
    /// A fresh database in a temporary directory (or a fresh PostgreSQL database), with an at-rest cipher
    /// when asked. Keep `metadata` alive while the store is used.
    static func store(sealed: Bool = false) async throws -> (store: any MetadataStore, directory: URL, metadata: TestMetadata) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engram-seam-\(UUID())")
        let cipher = sealed ? AtRestCipher(current: AtRestCipher.MasterKey(bytes: Data((0..<32).map { _ in UInt8.random(in: 0...255) }))) : nil
        let metadata = try await TestMetadata.make(sealer: cipher) { try EngramDatabase(directory: directory, cipher: cipher) }
        return (metadata.store, directory, metadata)
    }

    @Test func tenantScopeKeys() {
        #expect(TenantScope.user("ada", org: "acme").tenants == ["user:ada", "org:acme"])
        #expect(TenantScope.user("ada").userId == "ada")
        #expect(TenantScope.org("acme").tenants == ["org:acme"] && TenantScope.org("acme").userId == nil)
        #expect(TenantScope(org: "acme", user: "ada").tenants == ["org:acme", "user:ada"])
        #expect(TenantScope(tenants: ["org:a", "org:a", "user:b"], userId: nil).tenants == ["org:a", "user:b"])
        #expect(TenantScope.tenant(org: nil, user: "ada").tenants == ["user:ada"])
    }

    @Test func membersThroughTheSeam() async throws {
        let (store, directory, metadata) = try await Self.store()
        defer {
            try? FileManager.default.removeItem(at: directory)
            withExtendedLifetime(metadata) {}
        }
        #expect(store.engine == TestMetadata.engine && !store.sealsSecrets)
        try await store.write(.org("acme", actor: "ada")) { tx in
            try tx.insertUser(id: "ada", at: 1)
            try tx.insertOrganisation(id: "acme", name: "Acme", at: 1)
            try tx.upsertMember(orgId: "acme", userId: "ada", role: "owner", at: 1, replacingRole: true)
        }
        let (role, owners, members) = try await store.read(.user("ada", org: "acme")) { tx in
            (try tx.role(orgId: "acme", userId: "ada"), try tx.memberCount(orgId: "acme", role: "owner"), try tx.members(orgId: "acme"))
        }
        #expect(role == "owner" && owners == 1)
        #expect(members == [MemberRow(orgId: "acme", userId: "ada", role: "owner", createdAt: 1)])
        // A thrown error rolls the whole body back.
        await #expect(throws: SeamError.self) {
            try await store.write(.org("acme")) { tx in
                try tx.deleteMember(orgId: "acme", userId: "ada")
                throw SeamError()
            }
        }
        #expect(try await store.read(.org("acme")) { tx in try tx.role(orgId: "acme", userId: "ada") } == "owner")
    }

    @Test func accountsAndTheGlobalLookups() async throws {
        let (store, directory, metadata) = try await Self.store()
        defer {
            try? FileManager.default.removeItem(at: directory)
            withExtendedLifetime(metadata) {}
        }
        let session = SessionRow(
            id: "s1",
            secretHash: "hash-1",
            userId: "ada",
            orgId: nil,
            csrfToken: "csrf",
            createdAt: 1,
            lastSeenAt: 1,
            expiresAt: 100,
            reauthAt: 1,
            ip: nil,
            userAgent: nil
        )
        try await store.write(.user("ada")) { tx in
            try tx.insertUser(id: "ada", at: 1)
            try tx.setPassword(userId: "ada", hash: "bcrypt", at: 2)
            try tx.insertSession(session)
        }
        #expect(try await store.read(.user("ada")) { tx in try tx.credential(userId: "ada")?.passwordHash } == "bcrypt")
        // Before a principal exists: the cookie's session, whoever's it is; then the owner's scope.
        let owner = try await store.readGlobal { tx in try tx.session(secretHash: "hash-1")?.userId }
        #expect(owner == "ada")
        #expect(try await store.write(.user("ada")) { tx in try tx.deleteSessions(userId: "ada") } == 1)
        try await store.writeGlobal { tx in try tx.revoke(jti: "j1", at: 1, expiresAt: nil) }
        #expect(try await store.readGlobal { tx in try tx.isRevoked(jti: "j1") })
        #expect(try await store.readGlobal { tx in try tx.isRevoked(jti: "j2") } == false)
    }

    @Test func oauthCodeIsSpentOnce() async throws {
        let (store, directory, metadata) = try await Self.store()
        defer {
            try? FileManager.default.removeItem(at: directory)
            withExtendedLifetime(metadata) {}
        }
        try await store.writeGlobal { tx in
            try tx.insertClient(OAuthClientRow(clientId: "c1", clientName: "Client", redirectURIs: ["https://x.example/cb"], createdAt: 1))
        }
        #expect(try await store.readGlobal { tx in try tx.client(id: "c1")?.redirectURIs } == ["https://x.example/cb"])
        let code = OAuthGrantRow(
            hash: "code-1",
            family: "f1",
            clientId: "c1",
            userId: "ada",
            orgId: nil,
            resource: "r",
            scope: "memories",
            expiresAt: 100,
            redirectURI: "https://x.example/cb",
            codeChallenge: "challenge"
        )
        try await store.write(.user("ada")) { tx in try tx.insertCode(code) }
        let found = try await store.readGlobal { tx in try tx.code(hash: "code-1") }
        #expect(found?.userId == "ada" && found?.family == "f1")
        #expect(try await store.write(.user("ada")) { tx in try tx.useCode(hash: "code-1", at: 2) })
        #expect(try await store.write(.user("ada")) { tx in try tx.useCode(hash: "code-1", at: 3) } == false)
    }

    @Test func auditRowsNewestFirst() async throws {
        let (store, directory, metadata) = try await Self.store()
        defer {
            try? FileManager.default.removeItem(at: directory)
            withExtendedLifetime(metadata) {}
        }
        let rows = (1...3).map {
            AuditRow(at: Double($0), orgId: "acme", actor: "ada", action: "a\($0)", memoryId: nil, beforeHash: nil, afterHash: nil, detail: nil)
        }
        try await store.write(.org("acme", actor: "ada")) { tx in try tx.appendAudit(rows) }
        let read = try await store.read(.org("acme")) { tx in try tx.auditRows(orgId: "acme", limit: 2, before: nil) }
        #expect(read.map(\.action) == ["a3", "a2"])
        let older = try await store.read(.org("acme")) { tx in try tx.auditRows(orgId: "acme", limit: 5, before: read.last?.id) }
        #expect(older.map(\.action) == ["a1"])
    }

    @Test func lifecycleVersionsAndWebhookSecretStaySealedAtRest() async throws {
        let (store, directory, metadata) = try await Self.store(sealed: true)
        defer {
            try? FileManager.default.removeItem(at: directory)
            withExtendedLifetime(metadata) {}
        }
        #expect(store.sealsSecrets)
        let canary = "seam-canary-\(UUID().uuidString)"
        let version = VersionRow(
            memoryId: "m1",
            version: 1,
            at: 1,
            actor: "ada",
            channel: "mcp",
            client: nil,
            requestId: nil,
            reason: "created",
            orgId: "acme",
            state: "published",
            contentHash: "h",
            snapshot: Data("{\"content\":\"\(canary)\"}".utf8)
        )
        let webhook = "webhook-\(canary)"
        try await store.write(.org("acme", actor: "ada")) { tx in
            try tx.insertOrganisation(id: "acme", name: "Acme", at: 1)
            try tx.appendVersions([version])
            #expect(try tx.setWebhookSecret(webhook, orgId: "acme"))
        }
        let (versions, secret) = try await store.read(.org("acme")) { tx in
            (try tx.versions(memoryId: "m1"), try tx.webhookSecret(orgId: "acme"))
        }
        #expect(versions == [version])
        #expect(secret == webhook)
        #expect(try await store.readGlobal { tx in try tx.latestVersionNumbers() } == ["m1": 1])
        // Neither the snapshot nor the secret lies in the database in plaintext: PostgreSQL's stored
        // columns, or SQLite's file and its WAL.
        if let postgres = metadata.postgres {
            let stored = try await postgres.withTenant(try PostgresTenantScope.org("acme"), readOnly: true) { tx in
                (
                    try tx.column("SELECT snapshot FROM engram.memory_versions WHERE memory_id = 'm1'", as: Data.self),
                    try tx.column("SELECT webhook_secret FROM engram.orgs WHERE id = 'acme'", as: String.self)
                )
            }
            #expect(stored.0.count == 1 && stored.0.allSatisfy { $0.range(of: Data(canary.utf8)) == nil && $0.starts(with: AtRestCipher.magic) })
            #expect(stored.1.count == 1 && stored.1.allSatisfy { !$0.contains(canary) && $0.hasPrefix(AtRestCipher.textPrefix) })
        }
        let files = ["engram.sqlite", "engram.sqlite-wal"].map { directory.appendingPathComponent($0) }
        for file in files {
            let bytes = (try? Data(contentsOf: file)) ?? Data()
            #expect(bytes.range(of: Data(canary.utf8)) == nil, "\(file.lastPathComponent) holds the plaintext")
        }
    }

    struct SeamError: Error {}
}
