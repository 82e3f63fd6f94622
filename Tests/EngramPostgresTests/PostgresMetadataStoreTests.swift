import EngramAtRest
import EngramDatabase
import EngramMetadata
@_spi(Testing) import EngramPostgres
import Foundation
import Testing

/// `PostgresMetadataStore` against a real server, as the application role: the global surface through the
/// definer functions of migration 0011 (loaders, sweeps, the usage flush and a rescan's quarantine across
/// tenants), memory rows filed under the memory's tenant, and sealed values stored sealed. The domain suites
/// (`EngramMemoryTests` through `TestMetadata`) cover the tenant queries.
@Suite(.enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason))
struct PostgresMetadataStoreTests {
    static func version(_ memory: String, _ n: Int, org: String?, tenant: String?, state: String = "published", at: Double = 1) -> VersionRow {
        VersionRow(
            memoryId: memory,
            version: n,
            at: at,
            actor: "alice",
            channel: "mcp",
            client: nil,
            requestId: nil,
            reason: "created",
            orgId: org,
            state: state,
            contentHash: "h\(n)",
            snapshot: Data("{\"content\":\"\(memory) v\(n)\"}".utf8),
            tenant: tenant
        )
    }

    /// Org `a` with alice and bob; an org memory `m-org`, alice's personal memory `m-own` written inside org
    /// `a` (its versions carry `org_id` a, its tenant is `user:alice`), and one version of bob's `m-bob`.
    static func seed(_ store: PostgresMetadataStore) async throws {
        try await store.write(.org("a", actor: "alice")) { tx in
            try tx.insertUser(id: "alice", at: 1)
            try tx.insertUser(id: "bob", at: 1)
            try tx.insertOrganisation(id: "a", name: "A", at: 1)
            try tx.upsertMember(orgId: "a", userId: "alice", role: "owner", at: 1, replacingRole: true)
            try tx.upsertMember(orgId: "a", userId: "bob", role: "member", at: 1, replacingRole: true)
        }
        try await store.write(.user("alice", org: "a")) { tx in
            try tx.appendVersions([
                version("m-org", 1, org: "a", tenant: "org:a"), version("m-org", 2, org: "a", tenant: "org:a", state: "deleted", at: 5),
                version("m-own", 1, org: "a", tenant: "user:alice"),
            ])
        }
        try await store.write(.user("bob", org: "a")) { tx in try tx.appendVersions([version("m-bob", 1, org: nil, tenant: nil)]) }
    }

    @Test func aPersonalMemoryInsideAnOrgIsFiledUnderItsUser() async throws {
        try await PostgresTestServer.withEngines { app, _ in
            let store = PostgresMetadataStore(engine: app)
            try await Self.seed(store)
            // Bob, in the same org, sees the org memory's versions and not alice's personal ones.
            let (org, own) = try await store.read(.user("bob", org: "a")) { tx in
                (try tx.versions(memoryId: "m-org").count, try tx.versions(memoryId: "m-own").count)
            }
            #expect(org == 2 && own == 0)
            #expect(try await store.read(.user("alice", org: "a")) { tx in try tx.versions(memoryId: "m-own").count } == 1)
            // A report on it, without a tenant of its own, follows the memory's versions.
            try await store.write(.user("alice", org: "a")) { tx in
                try tx.insertReport(ReportRow(at: 2, memoryId: "m-own", orgId: "a", userId: "alice", verdict: "wrong", note: nil))
            }
            #expect(try await store.read(.org("a", actor: "bob")) { tx in try tx.openReports(memoryId: "m-own") }.isEmpty)
            #expect(try await store.read(.user("alice")) { tx in try tx.openReports(memoryId: "m-own") }.count == 1)
        }
    }

    @Test func theGlobalSurfaceAnswersAcrossTenants() async throws {
        try await PostgresTestServer.withEngines { app, _ in
            let store = PostgresMetadataStore(engine: app)
            try await Self.seed(store)
            #expect(try await store.readGlobal { tx in try tx.latestVersionNumbers() } == ["m-org": 2, "m-own": 1, "m-bob": 1])
            #expect(
                try await store.readGlobal { tx in try tx.allVersions() }.map { "\($0.memoryId)/\($0.version)" } == [
                    "m-bob/1", "m-org/1", "m-org/2", "m-own/1",
                ]
            )
            #expect(try await store.readGlobal { tx in try tx.deletedBefore(10) }.map(\.memoryId) == ["m-org"])
            #expect(try await store.readGlobal { tx in try tx.deletedBefore(5) }.isEmpty)
            #expect(try await store.readGlobal { tx in try tx.policies() }.keys.sorted() == ["a"])

            // The batched flush writes every tenant's rows, each under its memory's tenant.
            try await store.writeGlobal { tx in
                try tx.recordUsage(
                    served: [
                        ServedRow(at: 3, memoryId: "m-own", userId: "alice", rank: 1), ServedRow(at: 4, memoryId: "m-bob", userId: "bob", rank: 2),
                    ],
                    usage: [
                        UsageRow(memoryId: "m-own", servedCount: 1, lastServedAt: 3, lastConfirmedAt: nil),
                        UsageRow(memoryId: "m-bob", servedCount: 1, lastServedAt: 4, lastConfirmedAt: nil),
                        UsageRow(memoryId: "m-unknown", servedCount: 1, lastServedAt: 4, lastConfirmedAt: nil),
                    ]
                )
            }
            #expect(Set(try await store.readGlobal { tx in try tx.allUsage() }.map(\.memoryId)) == ["m-own", "m-bob"])
            #expect(try await store.read(.user("alice")) { tx in try tx.served(since: 0) }.map(\.memoryId) == ["m-own"])
            #expect(try await store.read(.user("bob")) { tx in try tx.served(since: 0) }.map(\.memoryId) == ["m-bob"])
            #expect(try await store.writeGlobal { tx in try tx.purgeServedLog(before: 4) } == 1)

            // A rescan's hits across tenants; a version recorded already stays as it was.
            let hits = [
                QuarantineRow(memoryId: "m-own", version: 1, orgId: "a", rules: "github-token", at: 6),
                QuarantineRow(memoryId: "m-org", version: 1, orgId: "a", rules: "aws-key", at: 7),
            ]
            #expect(try await store.writeGlobal { tx in try tx.quarantine(hits) } == 2)
            #expect(try await store.writeGlobal { tx in try tx.quarantine(hits) } == 0)
            #expect(try await store.readGlobal { tx in try tx.quarantined(orgId: nil) }.map(\.memoryId) == ["m-org", "m-own"])
            #expect(try await store.read(.org("a", actor: "bob")) { tx in try tx.quarantined(orgId: "a") }.map(\.memoryId) == ["m-org"])

            // Reports, deliveries, sessions; then the retention purge.
            try await store.write(.org("a", actor: "bob")) { tx in
                try tx.insertReport(ReportRow(at: 2, memoryId: "m-org", orgId: "a", userId: "bob", verdict: "helpful", note: nil))
                #expect(try tx.recordDelivery(orgId: "a", provider: "github", deliveryId: "d1", at: 1))
                #expect(try tx.recordDelivery(orgId: "a", provider: "github", deliveryId: "d1", at: 1) == false)
            }
            #expect(try await store.readGlobal { tx in try tx.allReports() }.map(\.memoryId) == ["m-org"])
            try await store.writeGlobal { tx in try tx.purgeDeliveries(before: 2) }
            #expect(try await store.write(.org("a")) { tx in try tx.recordDelivery(orgId: "a", provider: "github", deliveryId: "d1", at: 3) })
            let session = SessionRow(
                id: "s1",
                secretHash: "hash-1",
                userId: "alice",
                orgId: "a",
                csrfToken: "csrf",
                createdAt: 1,
                lastSeenAt: 1,
                expiresAt: 10,
                reauthAt: nil,
                ip: "192.0.2.1",
                userAgent: "tests"
            )
            try await store.write(.user("alice")) { tx in try tx.insertSession(session) }
            #expect(try await store.readGlobal { tx in try tx.session(secretHash: "hash-1") } == session)
            try await store.writeGlobal { tx in try tx.deleteExpiredSessions(before: 11) }
            #expect(try await store.readGlobal { tx in try tx.session(secretHash: "hash-1") } == nil)
            try await store.writeGlobal { tx in try tx.purge(memoryIds: ["m-org"]) }
            #expect(try await store.readGlobal { tx in try tx.latestVersionNumbers() } == ["m-own": 1, "m-bob": 1])
            #expect(try await store.readGlobal { tx in try tx.allReports() }.isEmpty)
            #expect(try await store.readGlobal { tx in try tx.quarantined(orgId: nil) }.map(\.memoryId) == ["m-own"])
        }
    }

    @Test func sealedValuesAreStoredSealedAndOpenWithTheSQLiteIdentities() async throws {
        try await PostgresTestServer.withEngines { app, owner in
            let cipher = AtRestCipher(current: AtRestCipher.MasterKey(bytes: Data((0..<32).map { _ in UInt8.random(in: 0...255) })))
            let store = PostgresMetadataStore(engine: app, sealer: cipher)
            #expect(store.engine == .postgres && store.sealsSecrets)
            try await Self.seed(store)
            #expect(try await store.write(.org("a")) { tx in try tx.setWebhookSecret("whsec-canary", orgId: "a") })
            #expect(try await store.read(.org("a")) { tx in try tx.webhookSecret(orgId: "a") } == "whsec-canary")
            let (snapshot, secret) = try await owner.withGlobal { tx in
                (
                    try tx.column("SELECT snapshot FROM engram.memory_versions WHERE memory_id = 'm-org' AND version = 1", as: Data.self),
                    try tx.column("SELECT webhook_secret FROM engram.orgs WHERE id = 'a'", as: String.self)
                )
            }
            // The bytes open with SQLite's tenant and identity for that record, and with no other.
            let sealed = try #require(snapshot.first)
            #expect(AtRestCipher.isSealed(sealed))
            #expect(
                try cipher.open(sealed, tenant: "org:a", identity: "memory_version:m-org:1") == Data("{\"content\":\"m-org v1\"}".utf8)
            )
            #expect(throws: (any Error).self) { try cipher.open(sealed, tenant: "org:a", identity: "memory_version:m-org:2") }
            let text = try #require(secret.first)
            #expect(!text.contains("canary"))
            #expect(try cipher.openText(text, tenant: "org:a", identity: "org:a:webhook_secret") == "whsec-canary")
            // Without the key, a snapshot reads empty and a webhook secret is an error, as on SQLite.
            let keyless = PostgresMetadataStore(engine: app)
            #expect(try await keyless.read(.org("a")) { tx in try tx.versions(memoryId: "m-org") }.map(\.snapshot) == [Data(), Data()])
            await #expect(throws: SealedValueUnreadable.self) { try await keyless.read(.org("a")) { tx in try tx.webhookSecret(orgId: "a") } }
        }
    }
}
