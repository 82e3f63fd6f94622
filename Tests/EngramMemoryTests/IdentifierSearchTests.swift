import EngramAuth
import EngramMemoryModel
import EngramStore
import EngramStoreModel
import Foundation
import Testing

@testable import EngramMemory

/// A query naming one service must find that service's memory before another service's memory
/// that shares the common words (the identifier is a rare term, the common words are not).
@Suite("Identifiers in queries")
struct IdentifierSearchTests {
    static let memories = [
        "onyx-media upload retry policy: exponential backoff with jitter, five attempts, then the dead-letter queue",
        "juniper-media retries a failed upload once without backoff, then pages the on-call engineer",
        "juniper-auth rotates its signing keys every 30 days",
        "juniper-billing closes the books on the first of the month",
        "juniper-search rebuilds its index nightly from the events topic",
        "coral-media transcodes video to three resolutions",
        "onyx-billing retries invoice delivery with exponential backoff",
        "upload retry policy for the web client: three attempts with backoff",
    ]

    @Test(
        "the named service ranks first",
        arguments: [
            ("juniper-media upload retry policy with backoff", 1),
            ("what is the upload retry policy of juniper-media", 1),
            ("onyx-media retry policy", 0),
        ]
    )
    func namedServiceFirst(query: String, expected: Int) async throws {
        let (store, directory) = try await MemoryTestSupport.store()
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try await MemoryService(store: store, embedder: try MemoryTestSupport.embedder())
        let alice = Principal.user("alice")
        var ids: [UUID] = []
        for text in Self.memories {
            ids.append(try await service.add(alice, NewMemory(content: text)).memory.id)
        }
        let hits = try await service.search(alice, MemorySearchQuery(query: query, limit: 3))
        #expect(
            hits.first?.memory.id == ids[expected],
            "ranking: \(hits.map { String($0.memory.content.prefix(24)) + String(format: " %.3f", $0.score) })"
        )
    }
}
