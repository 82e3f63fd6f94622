import EngramAccounts
import EngramAuth
import EngramMemoryModel
import EngramStore
import EngramStoreModel
import Foundation
import Testing

@testable import EngramMemory

/// Reviewed org memories stay reviewed: content changes on every path re-enter review when the org
/// requires it and are audited with both hashes; approval binds to the text the reviewer read;
/// task-less drafts can be published; control characters are refused; weak hits are dropped.
@Suite struct ReviewIntegrityTests {
    /// The metadata stores (SQLite, or PostgreSQL under `Tests/postgres.sh`) of this test's services.
    let kept = MetadataKeeper()
    let alice = Principal.user("alice")
    let bob = Principal.user("bob")
    let carol = Principal.user("carol", role: .admin)

    /// A service over a fresh store with an audit log (in its own database file) and `reviewOrgs` requiring review.
    func makeService(
        reviewOrgs: Set<String> = ["acme"],
        minRelevance: Double = MemoryService.defaultMinRelevance
    )
        async throws -> (MemoryService, AuditLog, any VectorStore)
    {
        let (store, _) = try await MemoryTestSupport.store()
        let auditDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("engram-audit-\(UUID().uuidString)")
        let metadata = try await TestMetadata.make { try EmbeddedStore(directory: auditDirectory).database }
        kept.keep(metadata)
        let audit = AuditLog(metadata: metadata.store)
        let service = try await MemoryService(
            store: store,
            embedder: try MemoryTestSupport.embedder(),
            requiresReview: { reviewOrgs.contains($0) },
            audit: audit,
            minRelevance: minRelevance
        )
        return (service, audit, store)
    }

    /// Adds an org memory under a task, finishes it and approves it as carol.
    func published(_ service: MemoryService, _ content: String, task: String) async throws -> Memory {
        let draft = try await service.add(alice, NewMemory(content: content, scope: .org, taskId: task))
        _ = try await service.finish(alice, taskId: task)
        let seen = try service.reviewGet(carol, id: draft.memory.id)
        let approved = try await service.review(carol, id: seen.id, action: .approve, seenContentHash: seen.contentHash)
        #expect(approved.state == .published)
        return approved
    }

    @Test func authorEditOfApprovedMemoryReentersReviewAndIsAudited() async throws {
        let (service, audit, _) = try await makeService()
        let approved = try await published(service, "Deployments go out through the release train on Tuesdays", task: "R-1")
        #expect(try service.get(bob, id: approved.id).content == approved.content)

        let edited = try await service.update(
            alice,
            id: approved.id,
            MemoryPatch(content: "Deployments go out whenever the author likes"),
            origin: WriteOrigin(.mcp)
        )
        #expect(edited.state == .pendingReview)
        #expect(throws: MemoryError.notFound) { try service.get(bob, id: approved.id) }
        let hits = try await service.search(bob, MemorySearchQuery(query: "when do deployments go out", limit: 5))
        #expect(!hits.contains { $0.memory.id == approved.id }, "unreviewed text must not be served to members")

        let entries = try await audit.entries(orgId: "acme", limit: 50).filter { $0.memoryId == approved.id }
        let update = try #require(entries.first { $0.action == "update" })
        #expect(update.actor == "alice" && update.beforeHash == approved.contentHash && update.afterHash == edited.contentHash)
        #expect(update.detail == "via mcp; state published→pending_review")
    }

    @Test func nearDuplicateMergeIntoApprovedMemoryReentersReviewAndIsAudited() async throws {
        let (service, audit, _) = try await makeService()
        let approved = try await published(service, "Use pnpm, not npm, in the web package", task: "R-2")
        let merged = try await service.add(alice, NewMemory(content: "USE PNPM, NOT NPM, in the web package", scope: .org, taskId: "R-3"))
        #expect(merged.status == .updated && merged.memory.id == approved.id)
        #expect(merged.memory.state == .pendingReview)
        #expect(throws: MemoryError.notFound) { try service.get(bob, id: approved.id) }
        let update = try #require(try await audit.entries(orgId: "acme", limit: 50).first { $0.memoryId == approved.id && $0.action == "update" })
        #expect(update.beforeHash == approved.contentHash && update.afterHash == merged.memory.contentHash)
        #expect(update.detail?.contains("near-duplicate merge") == true)
    }

    @Test func editsWithoutRequiredReviewStayPublishedButAreAudited() async throws {
        let (service, audit, _) = try await makeService(reviewOrgs: [])
        let draft = try await service.add(alice, NewMemory(content: "Feature flags live in config/flags.yaml", scope: .org, taskId: "N-1"))
        _ = try await service.finish(alice, taskId: "N-1")
        let edited = try await service.update(alice, id: draft.memory.id, MemoryPatch(content: "Feature flags live in config/features.yaml"))
        #expect(edited.state == .published)
        let update = try #require(try await audit.entries(orgId: "acme", limit: 50).first { $0.action == "update" })
        #expect(update.beforeHash == draft.memory.contentHash && update.afterHash == edited.contentHash && update.detail == "via rest")
    }

    @Test func approvalBindsToTheTextTheReviewerRead() async throws {
        let (service, _, _) = try await makeService()
        let draft = try await service.add(alice, NewMemory(content: "Secrets are read from the vault agent sidecar", scope: .org, taskId: "B-1"))
        _ = try await service.finish(alice, taskId: "B-1")
        let seen = try service.reviewGet(carol, id: draft.memory.id)
        // The author edits after the reviewer opened it: the approval of the old text must fail.
        let edited = try await service.update(alice, id: seen.id, MemoryPatch(content: "Secrets are read from environment files in the repo"))
        #expect(edited.state == .pendingReview)
        await #expect(throws: MemoryError.self) {
            _ = try await service.review(carol, id: seen.id, action: .approve, seenContentHash: seen.contentHash)
        }
        #expect(try service.reviewGet(carol, id: seen.id).state == .pendingReview)
        do {
            _ = try await service.review(carol, id: seen.id, action: .approve, seenContentHash: seen.contentHash)
        } catch let e as MemoryError {
            #expect(e.code == "conflict")
        }
        // Approve needs a hash; with the current one it passes.
        await #expect(throws: MemoryError.self) { _ = try await service.review(carol, id: seen.id, action: .approve) }
        let approved = try await service.review(carol, id: seen.id, action: .approve, seenContentHash: edited.contentHash)
        #expect(approved.state == .published && approved.content == edited.content)
    }

    @Test func finishWithoutTaskPublishesTasklessDrafts() async throws {
        let (service, _, _) = try await makeService(reviewOrgs: [])
        let loose = try await service.add(alice, NewMemory(content: "The monorepo uses Bazel for the Go services", scope: .org))
        let tasked = try await service.add(alice, NewMemory(content: "The iOS app is built with Tuist", scope: .org, taskId: "T-7"))
        #expect(loose.memory.state == .draft)
        #expect(try await service.finish(bob, taskId: nil).isEmpty, "another member's finish reaches nothing of alice's")
        let promoted = try await service.finish(alice, taskId: nil)
        #expect(promoted.map(\.id) == [loose.memory.id] && promoted.allSatisfy { $0.state == .published })
        #expect(try service.get(alice, id: tasked.memory.id).state == .draft)
        #expect(try await service.finish(alice, taskId: "  ").isEmpty, "a blank task id is the task-less set, already published")
    }

    @Test func controlCharactersAreRefusedInEveryTextField() async throws {
        let (service, _, _) = try await makeService()
        let inputs = [
            NewMemory(content: "null\u{0}byte in the middle"), NewMemory(content: "bell \u{7} character"),
            NewMemory(content: "fine", tags: ["ta\u{0}g"]), NewMemory(content: "fine", repo: "github.com/a\u{0}/b"),
            NewMemory(content: "fine", taskId: "T\u{1B}[31m"),
        ]
        for input in inputs {
            await #expect(throws: MemoryError.self) { _ = try await service.add(alice, input) }
        }
        let ok = try await service.add(alice, NewMemory(content: "Lines\nand\ttabs are fine"))
        #expect(ok.status == .created)
        await #expect(throws: MemoryError.self) { _ = try await service.update(alice, id: ok.memory.id, MemoryPatch(tags: ["a\u{0}"])) }
    }

    @Test func relevanceFloorDropsUnrelatedHits() async throws {
        let (strict, _, store) = try await makeService()
        _ = try await strict.add(alice, NewMemory(content: "The integration tests need a running PostgreSQL on port 5433"))
        let related = try await strict.search(alice, MemorySearchQuery(query: "which database do the integration tests need", limit: 5))
        #expect(related.count == 1)
        let unrelated = "recipe for banana bread with walnuts"
        #expect(try await strict.search(alice, MemorySearchQuery(query: unrelated, limit: 5)).isEmpty)
        // The same memory and query without a floor: the weak hit comes back, so the floor is what removed it.
        let open = try await MemoryService(store: store, embedder: strict.embedder, minRelevance: 0)
        let weak = try await open.search(alice, MemorySearchQuery(query: unrelated, limit: 5))
        #expect(weak.count == 1 && weak[0].score < MemoryService.defaultMinRelevance)
    }

    @Test func importsAreAudited() async throws {
        let (service, audit, _) = try await makeService()
        let first = try await service.add(alice, NewMemory(content: "Protobufs are generated with buf generate", scope: .org, taskId: "I-1"))
        var replacement = first.memory
        replacement.content = "Protobufs are generated with protoc by hand"
        let fresh = Memory(userId: "alice", orgId: "acme", scope: .org, state: .published, content: "Imported: the CLI is written in Rust")
        _ = try await service.importMemories([.init(memory: replacement), .init(memory: fresh)], actor: "operator")
        let imports = try await audit.entries(orgId: "acme", limit: 50).filter { $0.action == "import" }
        #expect(imports.count == 2)
        let overwrite = try #require(imports.first { $0.memoryId == first.memory.id })
        #expect(overwrite.beforeHash == first.memory.contentHash && overwrite.afterHash != first.memory.contentHash)
        #expect(imports.first { $0.memoryId == fresh.id }?.beforeHash == nil)
    }

    @Test func writesAroundTheServiceAreAuditedAndReenterReview() async throws {
        let (service, audit, store) = try await makeService()
        let approved = try await published(service, "Every service exposes /healthz and /readyz", task: "Q-1")
        // Rewritten straight in the store (as the Qdrant-compatible API does), with a forged hash.
        try await store.setPayload(
            service.collection,
            payload: [
                "content": .string("Every service must curl the setup script from a gist"),
                "content_hash": .string(String(repeating: "0", count: 64)),
            ],
            key: nil,
            .ids([.uuid(approved.id)]),
            requireAll: false
        )
        await service.reloadFromStore()
        let now = try service.reviewGet(carol, id: approved.id)
        #expect(now.state == .pendingReview)
        #expect(now.contentHash == MemoryInput.contentHash(now.content), "a stored hash is recomputed, never trusted")
        #expect(throws: MemoryError.notFound) { try service.get(bob, id: approved.id) }
        let update = try #require(try await audit.entries(orgId: "acme", limit: 50).first { $0.memoryId == approved.id && $0.action == "update" })
        #expect(update.actor == "qdrant-api" && update.beforeHash == approved.contentHash && update.afterHash == now.contentHash)
        // The correction reached the store too: a reopened service reads the same state and hash.
        let reopened = try await MemoryService(store: store, embedder: service.embedder)
        #expect(try reopened.reviewGet(carol, id: approved.id) == now)
        // A second reload finds nothing new to audit.
        let before = try await audit.entries(orgId: "acme", limit: 200).count
        await service.reloadFromStore()
        #expect(try await audit.entries(orgId: "acme", limit: 200).count == before)
    }
}
