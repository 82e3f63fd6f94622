import EngramAuth
import EngramMemoryModel
import EngramStore
import EngramStoreModel
import Foundation
import XCTest

@testable import EngramMemory

final class MemoryServiceTests: XCTestCase {
    var dir: URL!
    var store: (any VectorStore)!
    var service: MemoryService!

    override func setUp() async throws {
        (store, dir) = try await MemoryTestSupport.store()
        service = try await MemoryService(store: store, embedder: try MemoryTestSupport.embedder())
    }

    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    let alice = Principal.user("alice")
    let bob = Principal.user("bob")

    func testAddSearchGetUpdateDelete() async throws {
        let added = try await service.add(
            alice,
            NewMemory(content: "This repo runs its tests with swift test --parallel", tags: ["testing"], repo: "github.com/acme/api")
        )
        XCTAssertEqual(added.status, .created)
        XCTAssertEqual(added.memory.state, .published)
        XCTAssertEqual(added.memory.tenant, "user:alice")
        _ = try await service.add(alice, NewMemory(content: "The API client retries three times with exponential backoff"))
        _ = try await service.add(alice, NewMemory(content: "Prefer tabs over spaces in Makefiles"))
        let hits = try await service.search(alice, MemorySearchQuery(query: "how do I run the test suite?", limit: 2))
        XCTAssertEqual(hits.first?.memory.id, added.memory.id)
        XCTAssertNotNil(hits.first?.similarity)
        XCTAssertEqual(try service.get(alice, id: added.memory.id).content, added.memory.content)

        let updated = try await service.update(
            alice,
            id: added.memory.id,
            MemoryPatch(content: "Database migrations live in db/migrate and run with make migrate")
        )
        XCTAssertEqual(updated.id, added.memory.id)
        XCTAssertNotEqual(updated.contentHash, added.memory.contentHash)
        // The old text is no longer found by either index.
        let old = try await service.search(alice, MemorySearchQuery(query: "swift test parallel", limit: 3))
        XCTAssertFalse(old.contains { $0.memory.content.contains("parallel") })
        let new = try await service.search(alice, MemorySearchQuery(query: "where are the database migrations", limit: 1))
        XCTAssertEqual(new.first?.memory.id, added.memory.id)

        try await service.delete(alice, id: added.memory.id)
        XCTAssertThrowsError(try service.get(alice, id: added.memory.id)) { XCTAssertEqual($0 as? MemoryError, .notFound) }
        let afterDelete = try await service.search(alice, MemorySearchQuery(query: "database migrations make migrate", limit: 5))
        XCTAssertFalse(afterDelete.contains { $0.memory.id == added.memory.id }, "deleted memory still found")
        let remaining = try await store.count(service.collection, filter: nil)
        XCTAssertEqual(remaining, 2)
    }

    func testExactAndNearDuplicates() async throws {
        let first = try await service.add(alice, NewMemory(content: "Use   pnpm, not npm, in the web package"))
        let again = try await service.add(alice, NewMemory(content: "Use pnpm, not npm,\nin the web package"))
        XCTAssertEqual(again.status, .duplicate)
        XCTAssertEqual(again.memory.id, first.memory.id)
        // Differs only in case: a different hash, but the uncased model embeds it identically.
        let near = try await service.add(alice, NewMemory(content: "USE PNPM, not npm, in the web package", tags: ["js"]))
        XCTAssertEqual(near.status, .updated)
        XCTAssertEqual(near.memory.id, first.memory.id)
        XCTAssertEqual(near.memory.tags, ["js"])
        // Another author's identical content is a separate memory (different tenant).
        let bobs = try await service.add(bob, NewMemory(content: "USE PNPM, not npm, in the web package"))
        XCTAssertEqual(bobs.status, .created)
        XCTAssertNotEqual(bobs.memory.id, first.memory.id)
        // A different fact stays separate.
        let other = try await service.add(alice, NewMemory(content: "Deploys go out every Tuesday after the standup"))
        XCTAssertEqual(other.status, .created)
        XCTAssertEqual(service.count, 3)
    }

    func testSecretIsRejectedAndNothingIsStored() async throws {
        let token = MemoryTestSupport.fakeGitHubToken()
        let before = try await store.count(service.collection, filter: nil)
        do {
            _ = try await service.add(alice, NewMemory(content: "CI pushes with the token \(token) for the release job"))
            XCTFail("a memory holding a token was accepted")
        } catch let MemoryError.secretDetected(findings) {
            XCTAssertFalse(findings.isEmpty)
            let message = MemoryError.secretDetected(findings: findings).description
            XCTAssertFalse(message.contains(token), "the rejection echoes the secret")
            XCTAssertTrue(message.contains(findings[0].ruleID))
        }
        let after = try await store.count(service.collection, filter: nil)
        XCTAssertEqual(after, before)
        XCTAssertEqual(service.count, 0)
        // Also on update and in tags.
        let ok = try await service.add(alice, NewMemory(content: "Releases are cut from the main branch"))
        do {
            _ = try await service.update(alice, id: ok.memory.id, MemoryPatch(content: "Release token: \(token)"))
            XCTFail("update with a secret was accepted")
        } catch MemoryError.secretDetected {}
        XCTAssertEqual(try service.get(alice, id: ok.memory.id).content, "Releases are cut from the main branch")
        do {
            _ = try await service.add(alice, NewMemory(content: "tagged", tags: [token]))
            XCTFail("a secret in a tag was accepted")
        } catch MemoryError.secretDetected {}
    }

    func testValidation() async throws {
        for bad in [
            NewMemory(content: "   "), NewMemory(content: String(repeating: "x", count: 8 * 1024 + 1)),
            NewMemory(content: "ok", tags: Array(repeating: "t", count: 1) + (0..<25).map { "t\($0)" }),
        ] {
            do {
                _ = try await service.add(alice, bad)
                XCTFail("accepted invalid input")
            } catch MemoryError.invalid {}
        }
        do {
            _ = try await service.search(alice, MemorySearchQuery(query: "x", limit: 0))
            XCTFail()
        } catch MemoryError.invalid {}
        do {
            _ = try await service.search(alice, MemorySearchQuery(query: "  "))
            XCTFail()
        } catch MemoryError.invalid {}
        XCTAssertThrowsError(try service.list(alice, cursor: "%%%"))
    }

    func testFinishPromotesDraftsIdempotently() async throws {
        let d1 = try await service.add(
            alice,
            NewMemory(content: "The payments service uses idempotency keys on every POST", scope: .org, taskId: "T-1")
        )
        let d2 = try await service.add(alice, NewMemory(content: "Feature flags are read from LaunchDarkly at start-up", scope: .org, taskId: "T-1"))
        let other = try await service.add(alice, NewMemory(content: "Staging is reset every night at 2am", scope: .org, taskId: "T-2"))
        XCTAssertEqual(d1.memory.state, .draft)
        // Bob (same org) cannot see alice's drafts.
        XCTAssertThrowsError(try service.get(bob, id: d1.memory.id)) { XCTAssertEqual($0 as? MemoryError, .notFound) }
        let bobHits = try await service.search(bob, MemorySearchQuery(query: "idempotency keys payments", limit: 5))
        XCTAssertTrue(bobHits.isEmpty)
        // Bob finishing alice's task promotes nothing.
        let bobFinish = try await service.finish(bob, taskId: "T-1")
        XCTAssertEqual(bobFinish, [])
        let promoted = try await service.finish(alice, taskId: "T-1")
        XCTAssertEqual(Set(promoted.map(\.id)), [d1.memory.id, d2.memory.id])
        XCTAssertTrue(promoted.allSatisfy { $0.state == .published })
        let repeated = try await service.finish(alice, taskId: "T-1")
        XCTAssertEqual(repeated, [], "finish is idempotent")
        XCTAssertEqual(try service.get(bob, id: d1.memory.id).state, .published)
        XCTAssertEqual(try service.get(alice, id: other.memory.id).state, .draft)
        // Durable: a fresh service over the same store sees the published state.
        let reopened = try await MemoryService(store: store, embedder: service.embedder)
        XCTAssertEqual(try reopened.get(bob, id: d2.memory.id).state, .published)
        XCTAssertEqual(reopened.count, 3)
    }

    func testFinishWithReviewGoesToPendingReview() async throws {
        let reviewed = try await MemoryService(store: store, embedder: service.embedder, requiresReview: { $0 == "acme" })
        let d = try await reviewed.add(alice, NewMemory(content: "All services log in JSON to stdout", scope: .org, taskId: "T-9"))
        let promoted = try await reviewed.finish(alice, taskId: "T-9")
        XCTAssertEqual(promoted.map(\.state), [.pendingReview])
        XCTAssertThrowsError(try reviewed.get(bob, id: d.memory.id), "members do not see pending reviews")
        XCTAssertEqual(try reviewed.get(.user("carol", role: .admin), id: d.memory.id).state, .pendingReview)
    }

    func testListPagesNewestFirst() async throws {
        var ids: [UUID] = []
        for i in 0..<7 {
            ids.append(try await service.add(alice, NewMemory(content: "Distinct fact number \(i) about module \(i * 7919)")).memory.id)
        }
        var seen: [UUID] = []
        var cursor: String?
        repeat {
            let page = try service.list(alice, limit: 3, cursor: cursor)
            seen += page.memories.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        XCTAssertEqual(seen, ids.reversed())
        XCTAssertTrue(try service.list(bob).memories.isEmpty)
    }
}
