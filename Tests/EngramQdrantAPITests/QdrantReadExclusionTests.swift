import EngramCore
import EngramQdrantAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Quarantined memories leave the Qdrant-compatible read path too: with a `ReadExclusion`, points
/// whose payload says `state: quarantined` are absent from retrieve, get, scroll, search, query and
/// count of that collection, and only of that collection.
@Suite struct QdrantReadExclusionTests {
    static let exclusion = ReadExclusion(collection: "memories_x", key: "state", values: ["quarantined"])

    func seed(_ q: QdrantClient, collection: String) async throws {
        _ = try await q.call(.put, "/collections/\(collection)", ["vectors": ["size": 2, "distance": "Cosine"]])
        let up = try await q.call(
            .put,
            "/collections/\(collection)/points?wait=true",
            [
                "points": [
                    ["id": 1, "vector": [1, 0], "payload": ["state": "published"]],
                    ["id": 2, "vector": [1, 0.1], "payload": ["state": "quarantined"]],
                ]
            ]
        )
        #expect(up.status == .ok)
    }

    @Test func quarantinedPointsAreAbsentFromEveryRead() async throws {
        try await QdrantServer().test(readExclusion: Self.exclusion) { q in
            try await seed(q, collection: "memories_x")
            try await seed(q, collection: "other")
            let base = "/collections/memories_x/points"
            let retrieved = try await q.call(.post, base, ["ids": [1, 2], "with_payload": false])
            #expect(retrieved.value["result"]?.elements.count == 1)
            #expect(retrieved.value["result"]?.elements.first?["payload"] == .null)
            #expect(try await q.call(.get, "\(base)/2").status == .notFound)
            #expect(try await q.call(.get, "\(base)/1").status == .ok)
            let scrolled = try await q.call(.post, "\(base)/scroll", ["limit": 10])
            #expect(scrolled.value["result"]?["points"]?.elements.map { $0["id"] } == [1])
            let searched = try await q.call(.post, "\(base)/search", ["vector": [1, 0], "limit": 10])
            #expect(searched.value["result"]?.elements.map { $0["id"] } == [1])
            let queried = try await q.call(.post, "\(base)/query", ["query": [1, 0], "limit": 10])
            #expect(queried.value["result"]?["points"]?.elements.map { $0["id"] } == [1])
            let counted = try await q.call(.post, "\(base)/count", ["exact": true])
            #expect(counted.value["result"]?["count"] == 1)
            // Another collection is untouched.
            let other = try await q.call(.post, "/collections/other/points/count", ["exact": true])
            #expect(other.value["result"]?["count"] == 2)
        }
    }
}
