import EngramCore
import Foundation
import XCTest

@testable import EngramStore
@testable import EngramStoreModel

func temporaryDirectory(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("engram-\(name)-\(UUID().uuidString)")
}

final class EmbeddedStoreTests: XCTestCase {
    var dir: URL!

    override func setUp() { dir = temporaryDirectory("store") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func makeStore() throws -> EmbeddedStore { try EmbeddedStore(directory: dir) }

    func testPersistsAcrossReopen() async throws {
        var rng = StoreRNG(state: 5)
        var expected: [PointID: ([Float], Payload)] = [:]
        do {
            let s = try makeStore()
            try await s.createCollection(CollectionConfig(name: "mem", vectorSize: 8, tenantKey: "tenant"))
            var points: [PointStruct] = []
            for i in 0..<300 {
                let id: PointID = i % 2 == 0 ? .number(UInt64(i)) : .uuid(UUID())
                let p = PointStruct(id: id, vector: rng.vector(8), payload: ["tenant": .string("t\(i % 4)"), "i": .int(Int64(i))])
                points.append(p)
            }
            try await s.upsert("mem", points: points)
            // Overwrite some (changing tenant), delete some.
            for p in points.prefix(20) {
                var q = p
                q.payload["tenant"] = "moved"
                q.vector = rng.vector(8)
                try await s.upsert("mem", points: [q])
            }
            try await s.delete("mem", .ids(points[20..<40].map(\.id)))
            for p in points.prefix(20) { expected[p.id] = nil }
            for p in points[40...] { expected[p.id] = (try await s.retrieve("mem", ids: [p.id], withVector: true)[0].vector!, p.payload) }
            for p in points.prefix(20) {
                let r = try await s.retrieve("mem", ids: [p.id], withVector: true)[0]
                expected[p.id] = (r.vector!, r.payload!)
                XCTAssertEqual(r.payload?["tenant"], "moved")
            }
        }
        let s = try makeStore()
        await assertEqualAsync(try await s.collectionInfo("mem").pointsCount, expected.count)
        let got = try await s.retrieve("mem", ids: Array(expected.keys), withPayload: true, withVector: true)
        XCTAssertEqual(got.count, expected.count)
        for r in got {
            XCTAssertEqual(r.vector, expected[r.id]!.0, "vector of \(r.id)")
            XCTAssertEqual(r.payload, expected[r.id]!.1, "payload of \(r.id)")
        }
        // The rebuilt shards serve searches: every point is its own nearest neighbour within its tenant.
        for (id, (v, payload)) in expected.prefix(40) {
            let hits = try await s.search(
                "mem",
                SearchRequest(
                    vector: v,
                    filter: Filter(must: [.field(FieldCondition(key: "tenant", match: .value(payload["tenant"]!)))]),
                    limit: 1
                )
            )
            XCTAssertEqual(hits.first?.id, id)
            XCTAssertEqual(hits.first?.score ?? 0, 1, accuracy: 1e-5)
        }
        await assertEqualAsync(try await s.collectionInfo("mem").shardCount, 5)
    }

    func testSearchOptionsAndTenantScoping() async throws {
        let s = try makeStore()
        try await s.createCollection(CollectionConfig(name: "c", vectorSize: 2, tenantKey: "tenant"))
        try await s.upsert(
            "c",
            points: (0..<10).map { i in
                PointStruct(
                    id: .number(UInt64(i)),
                    vector: [1, Float(i) / 10],
                    payload: ["tenant": .string(i < 5 ? "a" : "b"), "i": .int(Int64(i))]
                )
            }
        )
        let q: [Float] = [1, 0]
        let all = try await s.search("c", SearchRequest(vector: q, limit: 10))
        XCTAssertEqual(all.map(\.id), (0..<10).map { PointID.number(UInt64($0)) })
        let page2 = try await s.search("c", SearchRequest(vector: q, limit: 3, offset: 3))
        XCTAssertEqual(page2.map(\.id), [.number(3), .number(4), .number(5)])
        let onlyB = try await s.search(
            "c",
            SearchRequest(vector: q, filter: Filter(must: [.field(FieldCondition(key: "tenant", match: .value("b")))]), limit: 10)
        )
        XCTAssertEqual(onlyB.map(\.id), (5..<10).map { PointID.number(UInt64($0)) })
        let bOdd = try await s.search(
            "c",
            SearchRequest(
                vector: q,
                filter: Filter(
                    must: [.field(FieldCondition(key: "tenant", match: .any(["b"]))), .field(FieldCondition(key: "i", match: .any([7, 9])))]),
                limit: 10
            )
        )
        XCTAssertEqual(bOdd.map(\.id), [.number(7), .number(9)])
        let threshold = all[4].score
        let above = try await s.search("c", SearchRequest(vector: q, limit: 10, scoreThreshold: threshold))
        XCTAssertEqual(above.count, 5)
        let bare = try await s.search("c", SearchRequest(vector: q, limit: 1, withPayload: false, withVector: true))
        XCTAssertNil(bare[0].payload)
        XCTAssertEqual(bare[0].vector!, [1, 0])
        await assertEqualAsync(try await s.search("c", SearchRequest(vector: q, limit: 0)), [])
    }

    /// `has_id` searches score only the named points (from memory), with the same scores and
    /// filter semantics as a full scan, and follow deletes, re-inserts and reopening.
    func testHasIDSearchMatchesAFullScan() async throws {
        var s = try makeStore()
        try await s.createCollection(CollectionConfig(name: "c", vectorSize: 3, tenantKey: "tenant"))
        var points: [PointStruct] = []
        for i in 0..<40 {
            let vector: [Float] = [1, Float(i % 7) / 7, Float(i % 3)]
            let tenant: JSONValue = .string(i % 2 == 0 ? "a" : "b")
            points.append(PointStruct(id: .number(UInt64(i)), vector: vector, payload: ["tenant": tenant, "i": .int(Int64(i))]))
        }
        try await s.upsert("c", points: points)
        let q: [Float] = [0.5, 1, -0.25]
        func check(_ filter: Filter, _ want: Set<UInt64>, line: UInt = #line) async throws {
            let got = try await s.search("c", SearchRequest(vector: q, filter: filter, limit: 100))
            XCTAssertEqual(Set(got.map(\.id)), Set(want.map { PointID.number($0) }), line: line)
            // Same scores as an unfiltered scan.
            let full = try await s.search("c", SearchRequest(vector: q, limit: 100))
            for hit in got {
                XCTAssertEqual(hit.score, full.first { $0.id == hit.id }!.score, accuracy: 1e-6, line: line)
            }
            XCTAssertEqual(got.map(\.score), got.map(\.score).sorted(by: >), line: line)
        }
        let ids: [PointID] = [.number(1), .number(2), .number(3), .number(10), .number(11), .number(999)]
        try await check(Filter(must: [.hasID(ids)]), [1, 2, 3, 10, 11])
        try await check(Filter(must: [.field(FieldCondition(key: "tenant", match: .value("b"))), .hasID(ids)]), [1, 3, 11])
        try await check(Filter(must: [.hasID(ids), .field(FieldCondition(key: "i", match: .any([2, 3, 4])))]), [2, 3])
        try await check(Filter(must: [.hasID(ids)], mustNot: [.field(FieldCondition(key: "i", match: .value(10)))]), [1, 2, 3, 11])
        let limited = try await s.search("c", SearchRequest(vector: q, filter: Filter(must: [.hasID(ids)]), limit: 2))
        XCTAssertEqual(limited.count, 2)
        try await s.delete("c", .ids([.number(2)]))
        try await s.upsert("c", points: [PointStruct(id: .number(999), vector: [1, 0, 0], payload: ["tenant": "a", "i": 999])])
        try await check(Filter(must: [.hasID(ids)]), [1, 3, 10, 11, 999])
        s = try makeStore()
        try await check(Filter(must: [.hasID(ids)]), [1, 3, 10, 11, 999])
    }

    /// A batch answers each request exactly as a single search does, while requests on the same
    /// shard share its first scan (int8 path: shards above the threshold).
    func testBatchSearchMatchesSingleSearches() async throws {
        let s = try makeStore()
        try await s.createCollection(CollectionConfig(name: "c", vectorSize: 16, tenantKey: "tenant"))
        var rng: UInt64 = 99
        func next() -> Float {
            rng ^= rng << 13
            rng ^= rng >> 7
            rng ^= rng << 17
            return Float(rng >> 40) / Float(1 << 24) * 2 - 1
        }
        var points: [PointStruct] = []
        for i in 0..<9000 {
            let vector = (0..<16).map { _ in next() }
            let payload: Payload = [
                "tenant": .string(i % 3 == 0 ? "a" : "b"), "state": .string(i % 5 == 0 ? "archived" : "live"),
                "i": .int(Int64(i)),
            ]
            points.append(PointStruct(id: .number(UInt64(i)), vector: vector, payload: payload))
        }
        try await s.upsert("c", points: points)
        func tenant(_ t: String) -> Condition { .field(FieldCondition(key: "tenant", match: .value(.string(t)))) }
        let live = Condition.field(FieldCondition(key: "state", match: .value("live")))
        var requests: [SearchRequest] = []
        for r in 0..<12 {
            let q = (0..<16).map { _ in next() }
            switch r % 6 {
            case 0: requests.append(SearchRequest(vector: q, filter: Filter(must: [tenant("b")]), limit: 10))
            case 1: requests.append(SearchRequest(vector: q, filter: Filter(must: [tenant("b"), live]), limit: 30, withPayload: false))
            case 2: requests.append(SearchRequest(vector: q, filter: Filter(must: [tenant("a"), live]), limit: 5, offset: 3))
            case 3: requests.append(SearchRequest(vector: q, limit: 7, scoreThreshold: 0.5))
            case 4: requests.append(SearchRequest(vector: q, filter: Filter(must: [.hasID([.number(1), .number(2), .number(3)])]), limit: 3))
            default:
                requests.append(
                    SearchRequest(
                        vector: q,
                        filter: Filter(
                            must: [tenant("b")],
                            mustNot: [.field(FieldCondition(key: "i", match: .any([1, 2, 4, 5, 7])))]
                        ),
                        limit: 0
                    )
                )
            }
        }
        let batch = try await s.search("c", batch: requests)
        XCTAssertEqual(batch.count, requests.count)
        for (request, got) in zip(requests, batch) {
            await assertEqualAsync(got, try await s.search("c", request))
        }
        // One bad request fails the batch with its own error, and nothing else changes.
        await assertThrowsAsync(try await s.search("c", batch: [requests[0], SearchRequest(vector: [1, 2], limit: 3)]))
    }

    func testScrollPagesInIDOrder() async throws {
        let s = try makeStore()
        try await s.createCollection(CollectionConfig(name: "c", vectorSize: 2))
        let uuids = (0..<5).map { _ in PointID.uuid(UUID()) }
        let ids: [PointID] = [.number(100), .number(3), .number(20)] + uuids
        try await s.upsert("c", points: ids.map { PointStruct(id: $0, vector: [1, 1]) })
        var seen: [PointID] = []
        var offset: PointID?
        repeat {
            let page = try await s.scroll("c", ScrollRequest(limit: 3, offset: offset))
            XCTAssertLessThanOrEqual(page.points.count, 3)
            seen += page.points.map(\.id)
            offset = page.nextPageOffset
        } while offset != nil
        XCTAssertEqual(seen, ids.sorted())
        XCTAssertEqual(Array(seen.prefix(3)), [.number(3), .number(20), .number(100)])
    }

    func testPayloadOperations() async throws {
        let s = try makeStore()
        try await s.createCollection(CollectionConfig(name: "c", vectorSize: 2, tenantKey: "tenant"))
        try await s.upsert(
            "c",
            points: [
                PointStruct(id: .number(1), vector: [1, 0], payload: ["tenant": "a", "x": 1, "nested": ["k": "v", "z": 2]]),
                PointStruct(id: .number(2), vector: [0, 1], payload: ["tenant": "a", "x": 2]),
            ]
        )
        try await s.setPayload("c", payload: ["y": "new", "x": nil], key: nil, .ids([.number(1)]))
        var p = try await s.retrieve("c", ids: [.number(1)])[0].payload!
        XCTAssertEqual(p["y"], "new")
        XCTAssertNil(p["x"], "setting null deletes the key")
        try await s.setPayload("c", payload: ["q": 5], key: "nested", .ids([.number(1)]))
        p = try await s.retrieve("c", ids: [.number(1)])[0].payload!
        XCTAssertEqual(p["nested"], ["k": "v", "z": 2, "q": 5])
        try await s.deletePayloadKeys("c", keys: ["nested.k"], .ids([.number(1)]))
        p = try await s.retrieve("c", ids: [.number(1)])[0].payload!
        XCTAssertEqual(p["nested"], ["z": 2, "q": 5])
        // Moving a point to another tenant through a payload edit moves its shard.
        try await s.overwritePayload("c", payload: ["tenant": "b"], .filter(Filter(must: [.field(FieldCondition(key: "x", match: .value(2)))])))
        let inB = try await s.search(
            "c",
            SearchRequest(vector: [0, 1], filter: Filter(must: [.field(FieldCondition(key: "tenant", match: .value("b")))]), limit: 5)
        )
        XCTAssertEqual(inB.map(\.id), [.number(2)])
        try await s.clearPayload("c", .ids([.number(1)]))
        await assertEqualAsync(try await s.retrieve("c", ids: [.number(1)])[0].payload, [:])
        await assertEqualAsync(try await s.delete("c", .filter(Filter(must: [.field(FieldCondition(key: "tenant", match: .value("b")))]))), 1)
        await assertEqualAsync(try await s.count("c", filter: nil), 1)
    }

    func testBadInputIsATypedErrorAndStoresNothing() async throws {
        let s = try makeStore()
        await assertThrowsAsync(try await s.upsert("nope", points: [PointStruct(id: .number(1), vector: [1])])) {
            XCTAssertEqual($0 as? StoreError, .collectionNotFound("nope"))
        }
        try await s.createCollection(CollectionConfig(name: "c", vectorSize: 3))
        await assertThrowsAsync(try await s.createCollection(CollectionConfig(name: "c", vectorSize: 3))) {
            XCTAssertEqual($0 as? StoreError, .collectionExists("c"))
        }
        await assertThrowsAsync(try await s.createCollection(CollectionConfig(name: "a/b", vectorSize: 3)))
        await assertThrowsAsync(try await s.createCollection(CollectionConfig(name: "z", vectorSize: 0)))
        // A batch with one bad vector is rejected whole.
        await assertThrowsAsync(
            try await s.upsert(
                "c",
                points: [
                    PointStruct(id: .number(1), vector: [1, 2, 3]), PointStruct(id: .number(2), vector: [1, 2]),
                ]
            )
        ) { XCTAssertEqual($0 as? StoreError, .dimensionMismatch(expected: 3, got: 2)) }
        await assertThrowsAsync(try await s.upsert("c", points: [PointStruct(id: .number(1), vector: [1, .nan, 3])]))
        await assertEqualAsync(try await s.count("c", filter: nil), 0)
        await assertThrowsAsync(try await s.search("c", SearchRequest(vector: [1, 2], limit: 1))) {
            XCTAssertEqual($0 as? StoreError, .dimensionMismatch(expected: 3, got: 2))
            XCTAssertTrue("\($0)".contains("expected dim: 3, got 2"))
        }
        await assertThrowsAsync(try await s.search("missing", SearchRequest(vector: [1, 2, 3])))
        await assertThrowsAsync(try await s.scroll("c", ScrollRequest(limit: -1)))
    }

    func testConcurrentReadersAndWriters() async throws {
        let s = try makeStore()
        try await s.createCollection(CollectionConfig(name: "c", vectorSize: 4, tenantKey: "t"))
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<4 {
                group.addTask {
                    for i in 0..<50 {
                        let id = UInt64(w * 1000 + i)
                        try? await s.upsert(
                            "c",
                            points: [PointStruct(id: .number(id), vector: [1, Float(i), 0, Float(w)], payload: ["t": .string("w\(w)")])]
                        )
                        _ = try? await s.search("c", SearchRequest(vector: [1, 1, 1, 1], limit: 5))
                    }
                }
            }
        }
        await assertEqualAsync(try await s.count("c", filter: nil), 200)
        await assertEqualAsync(try await s.count("c", filter: Filter(must: [.field(FieldCondition(key: "t", match: .value("w2")))])), 50)
    }
}

struct StoreRNG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func vector(_ d: Int) -> [Float] { (0..<d).map { _ in Float(next() >> 40) / Float(1 << 24) * 2 - 1 } }
}
