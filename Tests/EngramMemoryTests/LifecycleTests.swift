import EngramAccounts
import EngramAuth
import EngramDatabase
import EngramEmbedding
import EngramLifecycle
import EngramMemoryModel
import EngramMetadata
import EngramPostgres
import EngramStore
import EngramStoreModel
import Foundation
import Testing

@testable import EngramMemory

/// The memory lifecycle: provenance, code anchors, versions and revert, verdicts, the freshness
/// sweep, code changes from pushes and promotion on merge. Every service here has a real database
/// file (versions, usage, reports and policies live in it).
@Suite struct LifecycleTests {
    let alice = Principal.user("alice")
    let bob = Principal.user("bob")
    let dave = Principal.user("dave")
    let carol = Principal.user("carol", role: .admin)

    struct Fixture {
        let service: MemoryService
        let audit: AuditLog
        let database: EngramDatabase
        let store: any VectorStore
        let directory: MemberDirectory
        /// The metadata store's database (`database`, or PostgreSQL under `Tests/postgres.sh`).
        let metadata: TestMetadata
        var meta: any MetadataStore { metadata.store }
    }

    func make(
        reviewOrgs: Set<String> = [],
        store existing: (any VectorStore)? = nil,
        database existingDB: EngramDatabase? = nil,
        embedder: (any Embedder)? = nil
    )
        async throws -> Fixture
    {
        let store: any VectorStore
        if let existing { store = existing } else { store = try await MemoryTestSupport.store().0 }
        let database =
            try existingDB
            ?? EngramDatabase(directory: FileManager.default.temporaryDirectory.appendingPathComponent("engram-lifecycle-\(UUID().uuidString)"))
        let metadata = try await TestMetadata.make { database }
        let directory = MemberDirectory(metadata: metadata.store)
        for user in ["alice", "bob", "dave", "carol"] {
            try await directory.upsertMember(userId: user, orgId: "acme", role: user == "carol" ? .admin : .member, orgName: "Acme")
        }
        let audit = AuditLog(metadata: metadata.store)
        let service = try await MemoryService(
            store: store,
            embedder: try embedder ?? MemoryTestSupport.embedder(),
            requiresReview: { reviewOrgs.contains($0) },
            audit: audit,
            metadata: metadata.store,
            minRelevance: 0
        )
        return Fixture(service: service, audit: audit, database: database, store: store, directory: directory, metadata: metadata)
    }

    // MARK: Concurrent adds

    /// Concurrent adds share their commits (their version and store writes leave the write lock), yet
    /// each decides as if they ran one after another: sixteen at once of one fact (the same text, other
    /// spacing, other case) make one memory with one recorded version, while distinct facts added
    /// alongside stay separate.
    @Test func concurrentAddsOfOneFactMakeOneMemory() async throws {
        let variants = [
            "Use pnpm, not npm, in the web package", "Use   pnpm, not npm, in the web package",
            "USE PNPM, not npm, in the web package", "use pnpm, NOT npm, in the web package",
        ]
        let distinct = [
            "Deploys go out every Tuesday after the standup", "The API client retries three times with exponential backoff",
            "Database migrations live in db/migrate and run with make migrate", "Prefer tabs over spaces in Makefiles",
            "Integration tests need a local Redis on port 6380", "Feature flags are read from LaunchDarkly at start-up",
            "The iOS app targets iOS 17 and builds with Xcode 16", "Log lines are JSON with a request_id field",
        ]
        // MiniLM's vectors, computed up front: every add gets its vector at once, so all of them reach
        // their decision together instead of one embedding batch after another.
        let embedder = try await PrecomputedEmbedder(MemoryTestSupport.embedder(), texts: variants + distinct)
        let f = try await make(embedder: embedder)
        let (service, alice, bob) = (f.service, alice, bob)
        let results = try await withThrowingTaskGroup(of: (Bool, AddResult).self) { group in
            for i in 0..<16 { group.addTask { (true, try await service.add(alice, NewMemory(content: variants[i % 4]))) } }
            for text in distinct { group.addTask { (false, try await service.add(bob, NewMemory(content: text))) } }
            var out: [(Bool, AddResult)] = []
            for try await r in group { out.append(r) }
            return out
        }
        let fact = results.filter(\.0).map(\.1)
        #expect(fact.filter { $0.status == .created }.count == 1)
        #expect(Set(fact.map(\.memory.id)).count == 1, "one fact became several memories")
        #expect(Set(results.filter { !$0.0 }.map(\.1.memory.id)).count == 8)
        #expect(service.count == 9)
        #expect(try await f.store.count(service.collection, filter: nil) == 9)
        let id = try #require(fact.first?.memory.id)
        let history = try await service.history(alice, id: id)
        #expect(history.filter { $0.reason == "created" }.count == 1)
        #expect(history.map(\.version) == Array(1...history.count))
    }

    // MARK: Provenance and anchors

    @Test func provenanceIsRecordedAtWriteTimeAndSurvivesEdits() async throws {
        let f = try await make()
        let input = NewMemory(
            content: "The api repo runs its tests with make test-unit",
            repo: "github.com/acme/api",
            taskId: "ENG-7",
            anchors: [CodeAnchor(path: "./Makefile", lines: CodeAnchor.LineRange(start: 3, end: 9))],
            branch: "feature/ENG-7",
            commit: "ABCDEF1234"
        )
        let added = try await f.service.add(alice, input, origin: WriteOrigin(.mcp, client: "claude-code/2.1", requestId: "req-1")).memory
        #expect(
            added.provenance
                == Provenance(channel: .mcp, client: "claude-code/2.1", requestId: "req-1", branch: "feature/ENG-7", commit: "abcdef1234")
        )
        #expect(added.anchors == [CodeAnchor(path: "Makefile", lines: CodeAnchor.LineRange(start: 3, end: 9))])
        #expect(added.version == 1)
        let edited = try await f.service.update(
            alice,
            id: added.id,
            MemoryPatch(content: "The api repo runs its tests with make test-all"),
            origin: WriteOrigin(.rest, client: "curl/8", requestId: "req-2")
        )
        #expect(edited.provenance == added.provenance)
        #expect(edited.version == 2)
        // Reopened from the store: the payload carries all of it.
        let reopened = try await MemoryService(store: f.store, embedder: f.service.embedder, metadata: f.meta)
        let stored = try reopened.get(alice, id: added.id)
        #expect(stored.provenance == added.provenance && stored.anchors == added.anchors && stored.version == 2)
    }

    @Test(arguments: [
        ("Sources/App/Router.swift", "Sources/App/Router.swift"), ("./Sources//App/./Router.swift", "Sources/App/Router.swift"),
        ("docs\\guide.md", "docs/guide.md"), ("Sources/App/", "Sources/App"),
    ])
    func anchorPathsAreNormalised(raw: String, expected: String) throws {
        #expect(try CodeAnchor.normalisedPath(raw) == expected)
    }

    @Test(arguments: ["../secrets.txt", "a/../../b", "/etc/passwd", "~/notes", "C:\\repo\\x.swift", "a\u{0}b", "src/\u{1b}[31m", "", "./", "x/.."])
    func unsafeAnchorPathsAreRejected(raw: String) async throws {
        #expect(throws: MemoryError.self) { try CodeAnchor.normalisedPath(raw) }
        let f = try await make()
        await #expect(throws: MemoryError.self) {
            try await f.service.add(self.alice, NewMemory(content: "The router lives in one file", anchors: [CodeAnchor(path: raw)]))
        }
        #expect(f.service.count == 0)
    }

    @Test func anchorShaAndCountAreChecked() async throws {
        let f = try await make()
        let sha1 = String(repeating: "a", count: 40)
        let sha256 = String(repeating: "B", count: 64)
        let ok = try await f.service.add(
            alice,
            NewMemory(
                content: "Two anchors with content hashes",
                anchors: [CodeAnchor(path: "a.swift", sha: sha1), CodeAnchor(path: "b.swift", sha: sha256)]
            )
        )
        #expect(ok.memory.anchors.map(\.sha) == [sha1, sha256.lowercased()])
        await #expect(throws: MemoryError.self) {
            try await f.service.add(self.alice, NewMemory(content: "A bad hash", anchors: [CodeAnchor(path: "a.swift", sha: "xyz")]))
        }
        let many = (0...CodeAnchor.maxAnchors).map { CodeAnchor(path: "f\($0).swift") }
        await #expect(throws: MemoryError.self) { try await f.service.add(self.alice, NewMemory(content: "Too many anchors", anchors: many)) }
    }

    @Test func writesAroundTheServiceCannotForgeProvenanceAndBecomeVersions() async throws {
        let f = try await make()
        let m = try await f.service.add(
            alice,
            NewMemory(content: "Hotfixes branch from the release tag"),
            origin: WriteOrigin(.mcp, client: "claude-code/2.1", requestId: "r-1")
        ).memory
        // A Qdrant-API client rewrites the point with other text and a provenance of its choosing.
        var forged = m
        forged.content = "Hotfixes branch from main"
        forged.provenance = Provenance(channel: .admin, client: "forged/1.0", requestId: "x")
        forged.version = 99
        try await f.store.upsert(
            f.service.collection,
            points: [PointStruct(id: .uuid(m.id), vector: try await f.service.embed(forged.content), payload: forged.payload)]
        )
        await f.service.reloadFromStore()
        let now = try f.service.get(alice, id: m.id)
        #expect(now.content == "Hotfixes branch from main")
        #expect(now.provenance == m.provenance && now.version == 2)
        let history = try await f.service.history(alice, id: m.id)
        #expect(history.map(\.version) == [1, 2] && history[1].channel == "qdrant-api" && history.allSatisfy { $0.recorded })
        // The stored payload is corrected too, so a restart reads the same.
        let reopened = try await MemoryService(store: f.store, embedder: f.service.embedder, metadata: f.meta)
        #expect(try reopened.get(alice, id: m.id).provenance == m.provenance)
        // A new point written around the service is recorded as coming through the Qdrant API.
        var created = Memory(
            userId: "alice",
            orgId: nil,
            scope: .personal,
            state: .published,
            content: "Tags are signed with the release key",
            contentHash: "x"
        )
        created.provenance = Provenance(channel: .mcp, client: "forged/1.0")
        try await f.store.upsert(
            f.service.collection,
            points: [PointStruct(id: .uuid(created.id), vector: try await f.service.embed(created.content), payload: created.payload)]
        )
        await f.service.reloadFromStore()
        let admitted = try f.service.get(alice, id: created.id)
        #expect(admitted.provenance.channel == .qdrantAPI && admitted.provenance.client == nil && admitted.version == 1)
    }

    // MARK: Versions

    @Test func everyChangeIsAVersionAndRevertAddsOne() async throws {
        let f = try await make()
        let m = try await f.service.add(alice, NewMemory(content: "Deploys run from the release branch", tags: ["deploy"])).memory
        _ = try await f.service.update(alice, id: m.id, MemoryPatch(content: "Deploys run from main after the freeze", tags: ["deploy", "main"]))
        let history = try await f.service.history(alice, id: m.id)
        #expect(history.map(\.version) == [1, 2])
        #expect(history.map(\.reason) == ["created", "edit"])
        #expect(history[0].memory.content == "Deploys run from the release branch")
        #expect(history.allSatisfy { $0.recorded })

        let reverted = try await f.service.revert(alice, id: m.id, to: 1, origin: WriteOrigin(.mcp))
        #expect(reverted.version == 3 && reverted.content == "Deploys run from the release branch" && reverted.tags == ["deploy"])
        let after = try await f.service.history(alice, id: m.id)
        #expect(after.map(\.version) == [1, 2, 3])
        #expect(after[1].memory.content == "Deploys run from main after the freeze")
        #expect(after[2].reason == "revert to v1" && after[2].channel == "mcp")
        // Search finds the restored text (the vector was re-embedded).
        let hits = try await f.service.search(alice, MemorySearchQuery(query: "which branch do deploys run from", limit: 1))
        #expect(hits.first?.memory.content == "Deploys run from the release branch")
        // Nobody else sees or reverts it.
        await #expect(throws: MemoryError.notFound) { try await f.service.history(self.bob, id: m.id) }
        await #expect(throws: MemoryError.notFound) { try await f.service.revert(self.bob, id: m.id, to: 2) }
        await #expect(throws: MemoryError.self) { try await f.service.revert(self.alice, id: m.id, to: 9) }
    }

    @Test func versionRowsAreImmutable() async throws {
        let f = try await make()
        let m = try await f.service.add(alice, NewMemory(content: "Versions cannot be rewritten")).memory
        if let postgres = f.metadata.postgres {
            let id = m.id.lowercasedText
            await #expect(throws: (any Error).self) {
                try await postgres.withTenant(try PostgresTenantScope.user("alice", org: "acme")) { tx in
                    try tx.execute("UPDATE engram.memory_versions SET reason = 'x' WHERE memory_id = \(id)")
                }
            }
        } else {
            #expect(throws: (any Error).self) {
                try f.database.pool.write { db in
                    try db.execute(sql: "UPDATE memory_versions SET reason = 'x' WHERE memory_id = ?", arguments: [m.id.lowercasedText])
                }
            }
        }
    }

    @Test func orgMemoriesAreRevertedByAdminsOnlyAndAudited() async throws {
        let f = try await make()
        let m = try await f.service.add(alice, NewMemory(content: "Releases are tagged by the release bot", scope: .org, taskId: "T-1")).memory
        _ = try await f.service.finish(alice, taskId: "T-1")
        _ = try await f.service.update(alice, id: m.id, MemoryPatch(content: "Releases are tagged by hand now"))
        await #expect(throws: MemoryError.forbidden("reverting an org memory needs the admin or owner role")) {
            try await f.service.revert(self.alice, id: m.id, to: 2)
        }
        // A teammate who can read it cannot read its history (earlier texts were never shown to them).
        await #expect(throws: MemoryError.notFound) { try await f.service.history(self.bob, id: m.id) }
        let reverted = try await f.service.revert(carol, id: m.id, to: 2, origin: WriteOrigin(.admin))
        #expect(reverted.content == "Releases are tagged by the release bot" && reverted.state == .published && reverted.version == 4)
        let entries = try await f.audit.entries(orgId: "acme", limit: 20)
        let revert = try #require(entries.first { $0.action == "revert" })
        #expect(revert.actor == "carol" && revert.memoryId == m.id && revert.afterHash == reverted.contentHash)
        #expect(revert.detail?.contains("to v2 as v4") == true)
    }

    @Test func deletedMemoriesKeepVersionsUntilRetentionAndCanBeRestored() async throws {
        let f = try await make()
        let m = try await f.service.add(alice, NewMemory(content: "The staging database is rebuilt nightly")).memory
        try await f.service.delete(alice, id: m.id)
        #expect(throws: MemoryError.notFound) { try f.service.get(self.alice, id: m.id) }
        let history = try await f.service.history(alice, id: m.id)
        #expect(history.map(\.state) == ["published", "deleted"])
        let restored = try await f.service.revert(alice, id: m.id, to: 1)
        #expect(try f.service.get(alice, id: m.id).content == restored.content && restored.version == 3)

        try await f.service.delete(alice, id: m.id)
        // Within the retention period the sweep keeps the versions; after it, they are purged.
        let early = try await f.service.sweep(now: Date().addingTimeInterval(29 * 86_400))
        #expect(early.purged.isEmpty)
        #expect(try await f.service.history(alice, id: m.id).count == 4)
        let late = try await f.service.sweep(now: Date().addingTimeInterval(31 * 86_400))
        #expect(late.purged == [m.id])
        await #expect(throws: MemoryError.notFound) { try await f.service.history(self.alice, id: m.id) }
        let again = try await f.service.sweep(now: Date().addingTimeInterval(31 * 86_400))
        #expect(again.purged.isEmpty)
    }

    @Test func aVersionLostInACrashIsFilledFromTheStoredMemory() async throws {
        let f = try await make()
        let m = try await f.service.add(alice, NewMemory(content: "Builds use the shared cache")).memory
        // As if the process died between the memory write and the version write.
        var ahead = m
        ahead.content = "Builds use the remote cache"
        ahead.version = 2
        try await f.store.upsert(
            f.service.collection,
            points: [PointStruct(id: .uuid(m.id), vector: try await f.service.embed(ahead.content), payload: ahead.payload)]
        )
        let reopened = try await MemoryService(store: f.store, embedder: f.service.embedder, metadata: f.meta)
        let history = try await reopened.history(alice, id: m.id)
        #expect(history.map(\.version) == [1, 2])
        #expect(history[1].recorded == false && history[1].memory.content == "Builds use the remote cache")
        let edited = try await reopened.update(alice, id: m.id, MemoryPatch(content: "Builds use the remote cache in CI only"))
        #expect(edited.version == 3)
        let filled = try await reopened.history(alice, id: m.id)
        #expect(filled.map(\.version) == [1, 2, 3] && filled.allSatisfy { $0.recorded } && filled[1].reason == "baseline")
    }

    // MARK: Verdicts

    @Test func authorsOutdatedVerdictMakesAPersonalMemoryStale() async throws {
        let f = try await make()
        let m = try await f.service.add(alice, NewMemory(content: "Lint runs with swiftlint strict mode")).memory
        let r = try await f.service.rate(alice, id: m.id, verdict: .outdated, note: "we moved to swift-format")
        #expect(r.outcome == .markedStale && r.memory.state == .stale)
        let hidden = try await f.service.search(alice, MemorySearchQuery(query: "how does lint run"))
        #expect(!hidden.contains { $0.memory.id == m.id })
        var q = MemorySearchQuery(query: "how does lint run")
        q.filter.includeStale = true
        let shown = try await f.service.search(alice, q)
        #expect(shown.first?.memory.id == m.id && shown.first?.freshness == .stale)
        #expect(try await f.service.history(alice, id: m.id).last?.reason.contains("reported outdated") == true)
    }

    @Test func orgMemoryGoesToReviewAfterTwoMembersOrOneAdmin() async throws {
        let f = try await make()
        func publish(_ text: String, _ task: String) async throws -> Memory {
            let m = try await f.service.add(alice, NewMemory(content: text, scope: .org, taskId: task)).memory
            _ = try await f.service.finish(alice, taskId: task)
            return m
        }
        let m = try await publish("Feature flags live in config/flags.yaml", "F-1")
        let first = try await f.service.rate(bob, id: m.id, verdict: .outdated, note: "moved to LaunchDarkly")
        #expect(first.outcome == .recorded && first.reporters == 1 && first.memory.state == .published)
        let repeated = try await f.service.rate(bob, id: m.id, verdict: .wrong)
        #expect(repeated.outcome == .recorded && repeated.reporters == 1)
        let second = try await f.service.rate(dave, id: m.id, verdict: .wrong)
        #expect(second.outcome == .sentToReview && second.memory.state == .pendingReview && second.reporters == 2)
        #expect(try await f.service.reports(carol, id: m.id).compactMap(\.note) == ["moved to LaunchDarkly"])
        await #expect(throws: MemoryError.self) { try await f.service.reports(self.bob, id: m.id) }

        let n = try await publish("The on-call rota is in PagerDuty", "F-2")
        let byAdmin = try await f.service.rate(carol, id: n.id, verdict: .outdated)
        #expect(byAdmin.outcome == .sentToReview)
        // Approving resolves the reports.
        let seen = try f.service.reviewGet(carol, id: n.id)
        _ = try await f.service.review(carol, id: n.id, action: .approve, seenContentHash: seen.contentHash)
        #expect(try await f.service.reports(carol, id: n.id).isEmpty)
        #expect(f.service.usage.usage(n.id).lastConfirmedAt != nil)
    }

    @Test func helpfulConfirmsAndReportsLowerRanking() async throws {
        let f = try await make()
        let m = try await f.service.add(alice, NewMemory(content: "Integration tests need the docker compose stack")).memory
        let r = try await f.service.rate(alice, id: m.id, verdict: .helpful)
        #expect(r.outcome == .confirmed && f.service.usage.usage(m.id).lastConfirmedAt != nil)
        let fresh = FreshnessPrior.prior(m, usage: MemoryUsage(lastConfirmedAt: Date()))
        let reported = FreshnessPrior.prior(m, usage: MemoryUsage(lastConfirmedAt: Date(), openReports: 2))
        let old = FreshnessPrior.prior(m, usage: MemoryUsage(), now: Date().addingTimeInterval(365 * 86_400))
        #expect(fresh > old && old > reported)
        #expect(FreshnessPrior.weight * (fresh - reported) <= 0.04 + 1e-9)
    }

    // MARK: Freshness sweep and expiry

    @Test func sweepMarksUnusedMemoriesStaleOnceAndArchivesExpiredOnes() async throws {
        let f = try await make()
        let old = Date().addingTimeInterval(-200 * 86_400)
        let unused = Memory(
            userId: "alice",
            orgId: nil,
            scope: .personal,
            state: .published,
            content: "The wiki lives on Confluence",
            createdAt: old,
            updatedAt: old
        )
        let served = Memory(
            userId: "alice",
            orgId: nil,
            scope: .personal,
            state: .published,
            content: "Pull requests need two approvals",
            createdAt: old,
            updatedAt: old
        )
        try await f.service.importMemories([MemoryService.ImportItem(memory: unused), MemoryService.ImportItem(memory: served)])
        _ = try await f.service.search(alice, MemorySearchQuery(query: "how many approvals do pull requests need", limit: 1))
        #expect(f.service.usage.usage(served.id).servedCount == 1)
        let expiring = try await f.service.add(alice, NewMemory(content: "The office is closed during the freeze", expiresInDays: 3)).memory

        let first = try await f.service.sweep()
        #expect(first.staled == [unused.id] && first.archived.isEmpty)
        #expect(try f.service.get(alice, id: unused.id).state == .stale)
        #expect(try f.service.get(alice, id: served.id).state == .published)
        let second = try await f.service.sweep()
        #expect(second.staled.isEmpty && second.archived.isEmpty)

        let later = try await f.service.sweep(now: Date().addingTimeInterval(4 * 86_400))
        #expect(later.archived == [expiring.id])
        #expect(try f.service.get(alice, id: expiring.id).state == .archived)
        // A restart (the server flushes usage at shutdown) does not apply it twice.
        try await f.service.usage.flush()
        let reopened = try await MemoryService(store: f.store, embedder: f.service.embedder, metadata: f.meta)
        let afterRestart = try await reopened.sweep(now: Date().addingTimeInterval(4 * 86_400))
        #expect(afterRestart.staled.isEmpty && afterRestart.archived.isEmpty)
        #expect(try await reopened.history(alice, id: unused.id).map(\.reason).last?.hasPrefix("stale") == true)
    }

    @Test func orgPolicySetsTheStalePeriod() async throws {
        let f = try await make()
        let t = Date().addingTimeInterval(-40 * 86_400)
        let m = Memory(
            userId: "alice",
            orgId: "acme",
            scope: .org,
            state: .published,
            content: "Tickets are triaged on Mondays",
            createdAt: t,
            updatedAt: t
        )
        try await f.service.importMemories([MemoryService.ImportItem(memory: m)])
        #expect(try await f.service.sweep().staled.isEmpty)
        await #expect(throws: MemoryError.self) { try await f.service.setPolicy(self.alice, LifecyclePolicy(staleAfterDays: 30)) }
        await #expect(throws: MemoryError.self) { try await f.service.setPolicy(self.carol, LifecyclePolicy(staleAfterDays: 1)) }
        _ = try await f.service.setPolicy(carol, LifecyclePolicy(staleAfterDays: 30))
        #expect(try await f.service.sweep().staled == [m.id])
        // The policy is in the database.
        let reopened = try await MemoryService(store: f.store, embedder: f.service.embedder, metadata: f.meta)
        #expect(reopened.policy(orgId: "acme").staleAfterDays == 30)
    }

    // MARK: Served log

    @Test func searchesAreCountedAndTheLogIsFlushedInBatches() async throws {
        let f = try await make()
        let m = try await f.service.add(alice, NewMemory(content: "Benchmarks run on the perf runner")).memory
        for _ in 0..<3 { _ = try await f.service.search(alice, MemorySearchQuery(query: "where do benchmarks run", limit: 1)) }
        #expect(f.service.usage.usage(m.id).servedCount == 3)
        let served = { try await f.meta.read(.user("alice", org: "acme")) { tx in try tx.served(since: 0) } }
        #expect(try await served().isEmpty)
        #expect(try await f.service.usage.flush() == 3)
        let rows = try await served()
        #expect(rows.count == 3 && rows.allSatisfy { $0.memoryId == m.id.lowercasedText && $0.userId == "alice" && $0.rank == 1 })
        let reopened = try await MemoryService(store: f.store, embedder: f.service.embedder, metadata: f.meta)
        #expect(reopened.usage.usage(m.id).servedCount == 3)
    }

    /// Two replicas on one database each serve the same memory and flush: the stored count is the sum
    /// (each flush adds its increment; an absolute write would keep only the last flusher's count), a
    /// flush with nothing new adds nothing, and the times keep the later of the stored and the new.
    @Test func replicasFlushingTheSameMemoryAddTheirCounts() async throws {
        let f = try await make()
        let m = try await f.service.add(alice, NewMemory(content: "The release train leaves on Thursdays")).memory
        let a = UsageTracker(metadata: f.meta)
        let b = UsageTracker(metadata: f.meta)
        try await a.load()
        try await b.load()
        let early = Date(timeIntervalSince1970: 1_000)
        let late = Date(timeIntervalSince1970: 2_000)
        for _ in 0..<2 { a.served([m.id], to: "alice", at: late) }
        for _ in 0..<3 { b.served([m.id], to: "bob", at: early) }
        a.confirmed(m.id, at: late)
        b.confirmed(m.id, at: early)
        try await a.flush()
        try await b.flush()
        try await a.flush()
        a.served([m.id], to: "alice", at: early)
        try await a.flush()
        let stored = try await f.meta.readGlobal { tx in try tx.allUsage() }.first { $0.memoryId == m.id.lowercasedText }
        #expect(stored?.servedCount == 6)
        #expect(stored?.lastServedAt == late.timeIntervalSince1970)
        #expect(stored?.lastConfirmedAt == late.timeIntervalSince1970)
        let restarted = UsageTracker(metadata: f.meta)
        try await restarted.load()
        #expect(restarted.usage(m.id).servedCount == 6)
    }

    // MARK: Code changes and merges

    @Test func pushFlagsAnchoredMemoriesOnceAndSendsOrgOnesToReview() async throws {
        let f = try await make()
        let repo = RepositoryRef(fullName: "acme/api", urls: ["https://github.com/acme/api"])
        let org = try await f.service.add(
            alice,
            NewMemory(
                content: "Routes are registered in Router.swift",
                scope: .org,
                repo: "github.com/acme/api",
                taskId: "R-1",
                anchors: [CodeAnchor(path: "Sources/App/Router.swift", symbol: "register")]
            )
        ).memory
        _ = try await f.service.finish(alice, taskId: "R-1")
        let personal = try await f.service.add(
            bob,
            NewMemory(content: "I keep scripts under scripts/", repo: "https://github.com/acme/api.git", anchors: [CodeAnchor(path: "scripts")])
        ).memory
        let elsewhere = try await f.service.add(
            dave,
            NewMemory(
                content: "The web app router is in Router.swift too",
                repo: "github.com/acme/web",
                anchors: [CodeAnchor(path: "Sources/App/Router.swift")]
            )
        ).memory

        let marked = try await f.service.markCodeChanged(
            orgId: "acme",
            members: ["alice", "bob", "dave", "carol"],
            repository: repo,
            commit: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            paths: ["Sources/App/Router.swift", "scripts/old.sh", "README.md"]
        )
        #expect(Set(marked.map(\.id)) == [org.id, personal.id])
        let o = try f.service.get(alice, id: org.id)
        #expect(o.state == .pendingReview && o.anchorChange?.paths == ["Sources/App/Router.swift"])
        #expect(try f.service.get(bob, id: personal.id).state == .published)
        #expect(try f.service.get(dave, id: elsewhere.id).anchorChange == nil)
        let hit = try #require(try await f.service.search(bob, MemorySearchQuery(query: "where do I keep scripts", limit: 1)).first)
        #expect(hit.freshness == .codeChanged(commit: "6113728f27ae82c7b1a177c8d03f9e96e0adf246"))
        #expect(hit.freshness.label == "code changed since 6113728f27ae")
        // A replay changes nothing.
        let replay = try await f.service.markCodeChanged(
            orgId: "acme",
            members: ["bob"],
            repository: repo,
            commit: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            paths: ["scripts/old.sh"]
        )
        #expect(replay.isEmpty)
        // An edit of the text answers the change.
        let fixed = try await f.service.update(bob, id: personal.id, MemoryPatch(content: "I keep scripts under tools/"))
        #expect(fixed.anchorChange == nil)
    }

    @Test func mergedPullRequestFinishesTheDraftsItNames() async throws {
        let f = try await make(reviewOrgs: [])
        let repo = RepositoryRef(fullName: "acme/api")
        let named = try await f.service.add(
            alice,
            NewMemory(content: "The router caches compiled routes", scope: .org, repo: "acme/api", taskId: "ENG-123")
        ).memory
        let prefix = try await f.service.add(bob, NewMemory(content: "Caching is off in debug builds", scope: .org, taskId: "ENG-12")).memory
        let otherRepo = try await f.service.add(
            dave,
            NewMemory(content: "Route names are kebab-case", scope: .org, repo: "acme/web", taskId: "ENG-123")
        ).memory
        let promoted = try await f.service.finishMerged(
            orgId: "acme",
            repository: repo,
            branch: "feature/ENG-123-cache-router",
            title: "Cache the router"
        )
        #expect(promoted.map(\.id) == [named.id] && promoted[0].state == .published)
        #expect(try f.service.get(bob, id: prefix.id).state == .draft)
        #expect(try f.service.get(dave, id: otherRepo.id).state == .draft)
        #expect(try await f.service.finishMerged(orgId: "acme", repository: repo, branch: "feature/ENG-123-cache-router", title: "").isEmpty)
        let byTitle = try await f.service.finishMerged(orgId: "acme", repository: repo, branch: "fix", title: "eng-12: turn caching off")
        #expect(byTitle.map(\.id) == [prefix.id])
    }

    @Test(arguments: [
        ("github.com/acme/api", true), ("https://github.com/acme/api.git", true), ("git@github.com:acme/api.git", true), ("acme/api", true),
        ("ACME/API", true), ("github.com/acme/api-v2", false), ("acme/web", false), ("api", false),
    ])
    func repositoriesMatchWhateverTheSpelling(repo: String, expected: Bool) {
        #expect(RepositoryRef(fullName: "acme/api", urls: ["https://github.com/acme/api"]).matches(repo) == expected)
    }

    // MARK: Export and import

    @Test func exportImportKeepsVersionsProvenanceAndUsageByteForByte() async throws {
        let f = try await make()
        let m = try await f.service.add(
            alice,
            NewMemory(content: "Docs are built with DocC", anchors: [CodeAnchor(path: "Docs/Guide.md")], commit: "abc1234"),
            origin: WriteOrigin(.mcp, client: "claude-code/2.1", requestId: "r-9")
        ).memory
        _ = try await f.service.update(alice, id: m.id, MemoryPatch(content: "Docs are built with DocC in CI"))
        _ = try await f.service.search(alice, MemorySearchQuery(query: "how are the docs built", limit: 1))
        _ = try await f.service.rate(alice, id: m.id, verdict: .helpful)
        let page = try await f.service.exportPage(after: nil)
        let item = try #require(page.items.first)
        #expect(item.versions?.count == 2 && item.usage?.servedCount == 1)

        let g = try await make()
        try await g.service.importMemories(page.items)
        let id = m.id.lowercasedText
        let versions = { (store: any MetadataStore) in try await store.read(.user("alice", org: "acme")) { tx in try tx.versions(memoryId: id) } }
        #expect(try await versions(g.meta) == (try await versions(f.meta)))
        let copy = try g.service.get(alice, id: m.id)
        #expect(copy == item.memory)
        #expect(copy.provenance.client == "claude-code/2.1" && copy.anchors.map(\.path) == ["Docs/Guide.md"])
        let u = g.service.usage.usage(m.id)
        #expect(u.servedCount == 1 && u.lastConfirmedAt == f.service.usage.usage(m.id).lastConfirmedAt)
        // Importing again keeps what is recorded.
        try await g.service.importMemories(page.items)
        #expect(try await versions(g.meta).count == 2)
    }

    // MARK: Rescan

    @Test func rescanQuarantinesTextThatFailsTodaysRulesWithoutDeletingIt() async throws {
        let f = try await make()
        let token = MemoryTestSupport.fakeGitHubToken()
        // Written "under older rules": straight into the store and the ledger, around today's filter.
        let clean = try await f.service.add(alice, NewMemory(content: "CI pushes images with the deploy bot")).memory
        var leaked = clean
        leaked.content = "CI pushes images with the deploy bot using \(token)"
        leaked.version = 2
        try await f.store.upsert(
            f.service.collection,
            points: [PointStruct(id: .uuid(clean.id), vector: try await f.service.embed(clean.content), payload: leaked.payload)]
        )
        let leakedRow = MemoryLedger.row(
            leaked,
            state: "published",
            actor: "alice",
            channel: "rest",
            client: nil,
            requestId: nil,
            reason: "edit",
            at: Date()
        )
        try await f.meta.write(.user("alice", org: "acme")) { tx in try tx.appendVersions([leakedRow]) }
        let org = Memory(userId: "alice", orgId: "acme", scope: .org, state: .published, content: "Registry login: \(token)", contentHash: "x")
        try await f.store.upsert(
            f.service.collection,
            points: [PointStruct(id: .uuid(org.id), vector: try await f.service.embed("registry login"), payload: org.payload)]
        )
        let service = try await MemoryService(store: f.store, embedder: f.service.embedder, audit: f.audit, metadata: f.meta, minRelevance: 0)
        _ = try await service.update(alice, id: clean.id, MemoryPatch(content: "CI pushes images with the deploy bot's token from the vault"))

        let dry = try await service.rescan(apply: false)
        #expect(Set(dry.hits.map { "\($0.memoryId)/\($0.version)/\($0.current)" }) == ["\(clean.id)/2/false", "\(org.id)/1/true"])
        #expect(dry.hits.allSatisfy { $0.rules.contains { $0.contains("github") } })
        #expect(try service.get(bob, id: org.id).state == .published)

        let applied = try await service.rescan(apply: true)
        #expect(applied.quarantined == 3)  // the old version, the org memory's text and its quarantine version
        #expect(throws: MemoryError.notFound) { try service.get(self.bob, id: org.id) }
        #expect(throws: MemoryError.notFound) { try service.reviewGet(self.carol, id: org.id) }
        #expect(try service.list(carol, filter: MemoryFilter(state: .quarantined)).memories.isEmpty)
        let found = try await service.search(carol, MemorySearchQuery(query: "registry login", limit: 5))
        #expect(!found.contains { $0.memory.id == org.id })
        let history = try await service.history(alice, id: clean.id)
        #expect(history[1].withheldRules != nil && history[1].memory.content.isEmpty)
        #expect(!history.contains { $0.memory.content.contains(token) })
        await #expect(throws: MemoryError.self) { try await service.revert(self.alice, id: clean.id, to: 2) }
        let listed = try await service.quarantineList(carol)
        #expect(Set(listed.map(\.memoryId)) == [org.id])
        let entries = try await f.audit.entries(orgId: "acme", limit: 10)
        #expect(entries.contains { $0.action == "quarantine" && $0.memoryId == org.id && !($0.detail ?? "").contains(token) })
        // Idempotent, and nothing holding the secret leaves through an export.
        #expect(try await service.rescan(apply: true).quarantined == 0)
        let exported = try await service.exportPage(after: nil).items
        #expect(!exported.contains { $0.memory.id == org.id })
        #expect(
            !(exported.first { $0.memory.id == clean.id }?.versions ?? []).contains { String(decoding: $0.snapshot, as: UTF8.self).contains(token) }
        )
    }
}

/// Answers with vectors computed up front by another embedder (the texts it was given), at once.
struct PrecomputedEmbedder: Embedder {
    let dimensions: Int
    let modelID: String
    let vectors: [String: [Float]]

    init(_ base: some Embedder, texts: [String]) async throws {
        dimensions = base.dimensions
        modelID = base.modelID
        vectors = Dictionary(uniqueKeysWithValues: zip(texts, try await base.embed(texts)))
    }

    func embed(_ texts: [String]) async throws -> [[Float]] {
        try texts.map { text in
            guard let v = vectors[text] else { throw MemoryTestSupport.Missing(description: "no precomputed vector") }
            return v
        }
    }
}
