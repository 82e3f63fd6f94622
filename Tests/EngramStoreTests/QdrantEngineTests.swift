import Foundation
import XCTest

@testable import EngramStore
@testable import EngramStoreModel

/// Engine features behind the Qdrant-compatible API: sparse vectors with IDF, vector updates,
/// strict payload edits, payload index definitions and collection snapshots.
final class QdrantEngineTests: XCTestCase {
    var dir: URL!

    override func setUp() { dir = temporaryDirectory("qdrant-engine") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func makeStore() throws -> EmbeddedStore { try EmbeddedStore(directory: dir) }

    let mem0 = CollectionConfig(name: "m", vectorSize: 3, sparseVectors: ["bm25": SparseVectorParams(modifier: .idf)])

    func sv(_ pairs: [(UInt32, Float)]) -> SparseVector { SparseVector(indices: pairs.map(\.0), values: pairs.map(\.1)) }

    func idf(_ n: Double, _ df: Double) -> Double { log((n - df + 0.5) / (df + 0.5) + 1) }

    func testSparseIDFScoringMatchesQdrant() async throws {
        let s = try makeStore()
        try await s.createCollection(mem0)
        try await s.upsert(
            "m",
            points: [
                PointStruct(id: .number(1), vector: [1, 0, 0], payload: ["u": "a"], sparseVectors: ["bm25": sv([(3, 2), (1, 1)])]),
                PointStruct(id: .number(2), vector: [0, 1, 0], payload: ["u": "b"], sparseVectors: ["bm25": sv([(1, 1)])]),
                PointStruct(id: .number(3), vector: [0, 0, 1], payload: ["u": "a"], sparseVectors: ["bm25": sv([(7, 1)])]),
            ]
        )
        let hits = try await s.searchSparse("m", SparseSearchRequest(using: "bm25", vector: sv([(1, 1), (3, 1)])))
        // Point 3 shares no index: not a hit. N = 3; df(1) = 2, df(3) = 1.
        XCTAssertEqual(hits.map(\.id), [.number(1), .number(2)])
        XCTAssertEqual(Double(hits[0].score), idf(3, 2) * 1 + idf(3, 1) * 2, accuracy: 1e-5)
        XCTAssertEqual(Double(hits[1].score), idf(3, 2), accuracy: 1e-5)
        let filtered = try await s.searchSparse(
            "m",
            SparseSearchRequest(
                using: "bm25",
                vector: sv([(1, 1)]),
                filter: Filter(must: [.field(FieldCondition(key: "u", match: .value("b")))])
            )
        )
        XCTAssertEqual(filtered.map(\.id), [.number(2)])
        // Unsorted input is sorted; repeated indices are refused.
        await assertThrowsAsync(
            try await s.upsert("m", points: [PointStruct(id: .number(4), vector: [1, 1, 1], sparseVectors: ["bm25": sv([(2, 1), (2, 1)])])])
        )
        await assertThrowsAsync(
            try await s.upsert("m", points: [PointStruct(id: .number(4), vector: [1, 1, 1], sparseVectors: ["nope": sv([(2, 1)])])])
        )
        await assertEqualAsync(try await s.count("m", filter: nil), 3)
    }

    func testSparseVectorsAndIndexesSurviveReopenAndUpdates() async throws {
        do {
            let s = try makeStore()
            try await s.createCollection(mem0)
            try await s.createPayloadIndex("m", field: "user_id", schema: .object(["type": "keyword", "is_tenant": true]))
            try await s.upsert(
                "m",
                points: [
                    PointStruct(id: .number(1), vector: [1, 0, 0], sparseVectors: ["bm25": sv([(5, 1), (2, 3)])]),
                    PointStruct(id: .number(2), vector: [0, 1, 0]),
                ]
            )
            // Dense-only update keeps the sparse vector; sparse update keeps the dense one.
            try await s.updateVectors("m", [PointVectorsUpdate(id: .number(1), vector: [0, 0, 2])])
            try await s.updateVectors("m", [PointVectorsUpdate(id: .number(2), sparseVectors: ["bm25": sv([(9, 1)])])])
            await assertThrowsAsync(
                try await s.updateVectors(
                    "m",
                    [
                        PointVectorsUpdate(id: .number(2), vector: [1, 0, 0]),
                        PointVectorsUpdate(id: .number(99), vector: [1, 0, 0]),
                    ]
                )
            ) {
                XCTAssertEqual($0 as? StoreError, .pointNotFound(.number(99)))
            }
        }
        let s = try makeStore()
        await assertEqualAsync(try await s.collectionInfo("m").config.sparseVectors, ["bm25": SparseVectorParams(modifier: .idf)])
        await assertEqualAsync(try await s.payloadIndexes("m")["user_id"], .object(["type": "keyword", "is_tenant": true]))
        let r = try await s.retrieve("m", ids: [.number(1), .number(2)], withVector: true)
        XCTAssertEqual(r[0].vector, [0, 0, 1])
        XCTAssertEqual(r[0].sparseVectors?["bm25"], sv([(2, 3), (5, 1)]))
        XCTAssertEqual(r[1].vector, [0, 1, 0], "the failed batch wrote nothing")
        XCTAssertEqual(r[1].sparseVectors?["bm25"], sv([(9, 1)]))
        await assertEqualAsync(try await s.search("m", SearchRequest(vector: [0, 0, 1], limit: 1)).first?.id, .number(1))
        await assertEqualAsync(try await s.searchSparse("m", SparseSearchRequest(using: "bm25", vector: sv([(9, 1)]))).map(\.id), [.number(2)])
        await assertTrueAsync(try await s.deletePayloadIndex("m", field: "user_id"))
        await assertFalseAsync(try await s.deletePayloadIndex("m", field: "user_id"))
    }

    func testTenantIndexReshardsByThatField() async throws {
        do {
            let s = try makeStore()
            try await s.createCollection(CollectionConfig(name: "t", vectorSize: 2))
            try await s.upsert(
                "t",
                points: (0..<30).map { i in
                    PointStruct(id: .number(UInt64(i)), vector: [Float(i), 1], payload: ["user_id": .string("u\(i % 3)")])
                }
            )
            await assertEqualAsync(try await s.collectionInfo("t").shardCount, 1)
            try await s.createPayloadIndex("t", field: "user_id", schema: .object(["type": "keyword", "is_tenant": true]))
            await assertEqualAsync(try await s.collectionInfo("t").config.tenantKey, "user_id")
            await assertEqualAsync(try await s.collectionInfo("t").shardCount, 3)
        }
        let s = try makeStore()
        let info = try await s.collectionInfo("t")
        XCTAssertEqual(info.config.tenantKey, "user_id")
        XCTAssertEqual(info.shardCount, 3)
        XCTAssertEqual(info.pointsCount, 30)
        let hits = try await s.search(
            "t",
            SearchRequest(
                vector: [1, 0],
                filter: Filter(must: [.field(FieldCondition(key: "user_id", match: .value("u1")))]),
                limit: 3
            )
        )
        XCTAssertEqual(hits.map(\.id), [.number(28), .number(25), .number(22)])
    }

    func testStrictPayloadEditsWriteNothingWhenAnIdIsMissing() async throws {
        let s = try makeStore()
        try await s.createCollection(CollectionConfig(name: "c", vectorSize: 2))
        try await s.upsert("c", points: [PointStruct(id: .number(1), vector: [1, 0], payload: ["a": 1])])
        await assertThrowsAsync(try await s.setPayload("c", payload: ["b": 2], key: nil, .ids([.number(1), .number(7)]), requireAll: true)) {
            XCTAssertEqual($0 as? StoreError, .pointNotFound(.number(7)))
        }
        await assertThrowsAsync(try await s.clearPayload("c", .ids([.number(7)]), requireAll: true))
        await assertEqualAsync(try await s.retrieve("c", ids: [.number(1)])[0].payload, ["a": 1])
        // The lenient (memory domain) path is unchanged: missing ids are skipped.
        try await s.editPayloads("c", .ids([.number(1), .number(7)])) { p in
            var q = p
            q["b"] = 2
            return q
        }
        await assertEqualAsync(try await s.retrieve("c", ids: [.number(1)])[0].payload, ["a": 1, "b": 2])
    }

    func testSnapshotRestoresIntoAnotherStore() async throws {
        let s = try makeStore()
        try await s.createCollection(
            CollectionConfig(
                name: "memories_x",
                vectorSize: 2,
                tenantKey: "tenant",
                sparseVectors: ["bm25": SparseVectorParams(modifier: .idf)]
            )
        )
        try await s.createCollection(CollectionConfig(name: "other", vectorSize: 2))
        try await s.upsert("other", points: [PointStruct(id: .number(1), vector: [1, 1])])
        var points: [PointStruct] = []
        for i in 0..<50 {
            points.append(
                PointStruct(
                    id: i % 2 == 0 ? .number(UInt64(i)) : .uuid(UUID()),
                    vector: [Float(i), 1],
                    payload: ["tenant": .string("user:\(i % 3)"), "i": .int(Int64(i))],
                    sparseVectors: i % 5 == 0 ? [:] : ["bm25": sv([(UInt32(i % 7), 1)])]
                )
            )
        }
        try await s.upsert("memories_x", points: points)
        try await s.createPayloadIndex("memories_x", field: "tenant", schema: "keyword")
        let snap = try await s.createSnapshot("memories_x")
        await assertEqualAsync(try await s.listSnapshots("memories_x").map(\.name), [snap.name])
        let found = try await s.snapshotFile("memories_x", name: snap.name)
        let file = try XCTUnwrap(found)
        let outside = try await s.snapshotFile("memories_x", name: "../engram.sqlite")
        XCTAssertNil(outside)
        // Writes after the snapshot are not in it.
        try await s.delete("memories_x", .ids([.number(0), .number(2)]))

        let otherDir = temporaryDirectory("qdrant-restore")
        defer { try? FileManager.default.removeItem(at: otherDir) }
        do {
            let t = try EmbeddedStore(directory: otherDir)
            try await t.createCollection(CollectionConfig(name: "copy", vectorSize: 9))
            // A validator may refuse the restore: nothing changes.
            struct No: Error {}
            await assertThrowsAsync(try await t.restoreSnapshot("copy", from: file) { _, payload in if payload["i"] == 7 { throw No() } })
            await assertEqualAsync(try await t.collectionInfo("copy").config.vectorSize, 9)
            try await t.restoreSnapshot("copy", from: file)
        }
        let t = try EmbeddedStore(directory: otherDir)  // reopened: the restore is durable
        let info = try await t.collectionInfo("copy")
        XCTAssertEqual(info.pointsCount, 50)
        XCTAssertEqual(info.config.tenantKey, "tenant")
        XCTAssertEqual(info.shardCount, 3)
        await assertEqualAsync(try await t.payloadIndexes("copy"), ["tenant": "keyword"])
        let page = try await t.scroll("copy", ScrollRequest(limit: 100, withVector: true))
        let original = try await s.retrieve("memories_x", ids: page.points.map(\.id), withVector: true)
        XCTAssertEqual(page.points.count, 50)
        XCTAssertEqual(Array(page.points.dropFirst(2)), original, "vectors, payloads and sparse vectors are identical")
        let q = SearchRequest(vector: [3, 1], filter: Filter(must: [.field(FieldCondition(key: "tenant", match: .value("user:1")))]), limit: 5)
        await assertEqualAsync(try await t.search("copy", q).map(\.id), try await s.search("memories_x", q).map(\.id))
        // i % 7 == 3 and i % 5 != 0
        await assertEqualAsync(try await t.searchSparse("copy", SparseSearchRequest(using: "bm25", vector: sv([(3, 1)]))).count, 5)
        await assertThrowsAsync(try await t.collectionInfo("other"), "only the snapshotted collection is copied")

        // Not a snapshot: refused without touching the store.
        let junk = otherDir.appendingPathComponent("junk.snapshot")
        try Data("not a database".utf8).write(to: junk)
        await assertThrowsAsync(try await t.restoreSnapshot("copy", from: junk))
        await assertEqualAsync(try await t.collectionInfo("copy").pointsCount, 50)
        await assertTrueAsync(try await s.deleteSnapshot("memories_x", name: snap.name))
        await assertEqualAsync(try await s.listSnapshots("memories_x"), [])
    }
}
