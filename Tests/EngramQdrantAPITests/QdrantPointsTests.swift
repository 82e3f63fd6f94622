import EngramCore
import Foundation
import HummingbirdTesting
import Testing

/// Points through the Qdrant-compatible API, in process, over one collection of five 4-d points:
/// upsert answers `completed` with `wait=true`, search (`/points/search` and `/points/query`) returns
/// the nearest point first with payloads on request, scroll pages by `limit` and `next_page_offset`
/// until it is null, and count agrees with the points and with a payload filter.
@Suite struct QdrantPointsTests {
    /// Five unit-ish vectors on distinct axes with a `colour` payload.
    static let points: JSONValue = [
        "points": [
            ["id": 1, "vector": [1, 0, 0, 0], "payload": ["colour": "red"]],
            ["id": 2, "vector": [0, 1, 0, 0], "payload": ["colour": "green"]],
            ["id": 3, "vector": [0, 0, 1, 0], "payload": ["colour": "red"]],
            ["id": 4, "vector": [0, 0, 0, 1], "payload": ["colour": "blue"]],
            ["id": 5, "vector": [0.7, 0.7, 0, 0], "payload": ["colour": "green"]],
        ]
    ]

    /// Creates `docs` (4-d, cosine) and upserts the five points.
    static func populate(_ q: QdrantClient) async throws {
        let created = try await q.call(.put, "/collections/docs", ["vectors": ["size": 4, "distance": "Cosine"]])
        #expect(created.value["result"] == true)
        let upserted = try await q.call(.put, "/collections/docs/points?wait=true", points)
        #expect(upserted.status == .ok)
        #expect(upserted.value["result"] == ["operation_id": 0, "status": "completed"])
    }

    @Test func searchReturnsTheNearestPointFirst() async throws {
        try await QdrantServer().test { q in
            try await Self.populate(q)
            let search = try await q.call(
                .post,
                "/collections/docs/points/search",
                ["vector": [0.1, 0, 0.9, 0], "limit": 2, "with_payload": true]
            )
            #expect(search.status == .ok)
            let hits = try #require(search.value["result"]).elements
            #expect(hits.map { $0["id"] } == [3, 1])
            #expect(hits.first?["payload"] == ["colour": "red"])
            let top = try #require(hits.first?["score"]?.number)
            let second = try #require(hits.last?["score"]?.number)
            #expect(top > 0.99 && top <= 1.0001)
            #expect(second < top)
        }
    }

    @Test func queryReturnsTheNearestPointFirst() async throws {
        try await QdrantServer().test { q in
            try await Self.populate(q)
            let query = try await q.call(.post, "/collections/docs/points/query", ["query": [0.6, 0.8, 0, 0], "limit": 3])
            #expect(query.status == .ok)
            let hits = try #require(query.value["result"]?["points"]).elements
            #expect(hits.map { $0["id"] } == [5, 2, 1])
            let filtered = try await q.call(
                .post,
                "/collections/docs/points/query",
                [
                    "query": [0.6, 0.8, 0, 0], "limit": 3,
                    "filter": ["must": [["key": "colour", "match": ["value": "red"]]]],
                ]
            )
            #expect(filtered.value["result"]?["points"]?.elements.map { $0["id"] } == [1, 3])
        }
    }

    /// One scroll page of `limit` points from `offset`: the ids, whether any payload came back, and `next_page_offset`.
    static func scroll(_ q: QdrantClient, limit: Int64, offset: JSONValue? = nil) async throws -> (ids: [JSONValue], payloads: Bool, next: JSONValue?)
    {
        var body: [String: JSONValue] = ["limit": .int(limit), "with_payload": false]
        body["offset"] = offset
        let page = try await q.call(.post, "/collections/docs/points/scroll", .object(body))
        #expect(page.status == .ok)
        let points = page.value["result"]?["points"]?.elements ?? []
        let payloads = points.contains { $0["payload"] != nil && $0["payload"] != .null }
        return (points.compactMap { $0["id"] }, payloads, page.value["result"]?["next_page_offset"])
    }

    @Test func scrollPagesWithNextPageOffset() async throws {
        try await QdrantServer().test { q in
            try await Self.populate(q)
            let first = try await Self.scroll(q, limit: 2)
            #expect(first.ids == [1, 2])
            #expect(!first.payloads)
            #expect(first.next == 3)
            let second = try await Self.scroll(q, limit: 2, offset: first.next)
            #expect(second.ids == [3, 4])
            #expect(second.next == 5)
            let last = try await Self.scroll(q, limit: 2, offset: second.next)
            #expect(last.ids == [5])
            #expect(last.next == .null)
            let whole = try await Self.scroll(q, limit: 10)
            #expect(whole.ids == [1, 2, 3, 4, 5])
            #expect(whole.next == .null)
        }
    }

    @Test func countMatchesThePointsAndFilters() async throws {
        try await QdrantServer().test { q in
            try await Self.populate(q)
            let all = try await q.call(.post, "/collections/docs/points/count", ["exact": true])
            #expect(all.status == .ok)
            #expect(all.value["result"] == ["count": 5])
            let red = try await q.call(
                .post,
                "/collections/docs/points/count",
                [
                    "exact": true, "filter": ["must": [["key": "colour", "match": ["value": "red"]]]],
                ]
            )
            #expect(red.value["result"] == ["count": 2])
            let deleted = try await q.call(.post, "/collections/docs/points/delete?wait=true", ["points": [1, 2]])
            #expect(deleted.status == .ok)
            #expect(try await q.call(.post, "/collections/docs/points/count", [:]).value["result"] == ["count": 3])
            let info = try await q.call(.get, "/collections/docs")
            #expect(info.value["result"]?["points_count"] == 3)
        }
    }
}
