import EngramAtRest
import EngramCore
import EngramDatabase
import EngramKernels
import EngramSegments
import Foundation
import Synchronization
import Testing

@testable import EngramStore
@testable import EngramStoreModel

/// Segment files: a store reopened after `persistSegments()` serves its shards from the mapped file,
/// with the same answers as one rebuilt from SQLite, and any file that does not match the database
/// exactly (a later write, a flipped byte, a cut file, another version) is rebuilt instead.
@Suite struct SegmentTests {
    static let dimension = 24

    /// A store with one collection: 5,000 points in tenant `big` (over the int8 scan's threshold)
    /// and 40 in each of `a` and `b`, plus a point without a tenant.
    static func populated(_ dir: URL) async throws -> EmbeddedStore {
        let store = try EmbeddedStore(directory: dir)
        try await store.createCollection(CollectionConfig(name: "c", vectorSize: dimension, tenantKey: "tenant"))
        var rng = SystemRandomNumberGenerator()
        var points: [PointStruct] = []
        for i in 0..<5_081 {
            let tenant: JSONValue? = i < 5_000 ? .string("big") : i < 5_040 ? .string("a") : i < 5_080 ? .string("b") : nil
            var payload: Payload = ["n": .int(Int64(i))]
            if let tenant { payload["tenant"] = tenant }
            let id: PointID = i % 2 == 0 ? .number(UInt64(i)) : .uuid(UUID())
            points.append(PointStruct(id: id, vector: randomVector(&rng), payload: payload))
        }
        for start in stride(from: 0, to: points.count, by: 1_000) {
            try await store.upsert("c", points: Array(points[start..<min(points.count, start + 1_000)]))
        }
        return store
    }

    static func randomVector(_ rng: inout SystemRandomNumberGenerator) -> [Float] {
        (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) }
    }

    /// Every shard's matrix, by tenant.
    static func shards(_ store: EmbeddedStore) -> [String?: VectorMatrix] {
        store.lock.read { store.collections["c"]!.shards }
    }

    /// Ids and score bit patterns of a search, for exact comparison.
    static func answers(_ store: EmbeddedStore, _ queries: [[Float]]) async throws -> [[String]] {
        var out: [[String]] = []
        for (i, q) in queries.enumerated() {
            let filter: Filter? =
                i % 3 == 0
                ? Filter(must: [.field(FieldCondition(key: "tenant", match: .value("big")))])
                : i % 3 == 1
                    ? nil
                    : Filter(must: [.field(FieldCondition(key: "tenant", match: .value("a")))])
            let hits = try await store.search("c", SearchRequest(vector: q, filter: filter, limit: 10))
            out.append(hits.map { "\($0.id) \($0.score.bitPattern)" })
        }
        return out
    }

    /// The answers of a store rebuilt from the same database without segments.
    static func rebuiltAnswers(_ dir: URL, _ queries: [[Float]]) async throws -> [[String]] {
        let database = try EngramDatabase(directory: dir)
        let store = try EmbeddedStore(database: database, segments: false)
        #expect(shards(store).values.allSatisfy { !$0.isMapped })
        return try await answers(store, queries)
    }

    static func queries() -> [[Float]] {
        var rng = SystemRandomNumberGenerator()
        return (0..<12).map { _ in randomVector(&rng) }
    }

    static func segmentFile(_ dir: URL) throws -> URL {
        let segments = dir.appendingPathComponent(EngramDatabase.fileName + ".segments")
        let names = try FileManager.default.contentsOfDirectory(atPath: segments.path).filter { $0.hasSuffix(".seg") }
        try #require(names.count == 1)
        return segments.appendingPathComponent(names[0])
    }

    /// Flips `bits` of one byte of the big shard's float rows in `file`, `fraction` of the way in (a
    /// damage only the verification after opening sees).
    static func flipFloatByte(_ file: URL, at fraction: Double, bits: UInt8) throws {
        var bytes = [UInt8](try Data(contentsOf: file))
        let floats = try #require(try SegmentFile.mapped(file).header.shards.first { $0.count == 5_000 }).floats
        bytes[floats.offset + Int(Double(floats.length) * fraction)] ^= bits
        try Data(bytes).write(to: file)
    }

    /// A populated store's directory after `persistSegments()`, and its segment file.
    static func persistedStore(_ name: String) async throws -> (dir: URL, file: URL) {
        let dir = temporaryDirectory(name)
        let store = try await populated(dir)
        try await store.persistSegments()
        return (dir, try segmentFile(dir))
    }

    @Test func aPersistedSegmentServesTheNextOpenWithTheSameAnswers() async throws {
        let dir = temporaryDirectory("segments")
        defer { try? FileManager.default.removeItem(at: dir) }
        let queries = Self.queries()
        do {
            let store = try await Self.populated(dir)
            #expect(try await store.persistSegments() == 1)
            // Nothing changed since: nothing to write.
            #expect(try await store.persistSegments() == 0)
        }
        let store = try EmbeddedStore(directory: dir)
        await store.segmentsVerified()
        let shards = Self.shards(store)
        #expect(shards.count == 4 && shards.values.allSatisfy { $0.isMapped })
        // Verified, so read in: searches no longer ask for their float rows ahead.
        #expect(shards.values.allSatisfy { !$0.readsRowsAhead })
        #expect(try await store.collectionInfo("c").pointsCount == 5_081)
        #expect(try await Self.answers(store, queries) == Self.rebuiltAnswers(dir, queries))
        // Point ids come back from the file: retrieve by id, and `has_id` search.
        let some = try await store.scroll("c", ScrollRequest(limit: 50, withPayload: true))
        for record in some.points {
            let vector = try #require(try await store.retrieve("c", ids: [record.id], withVector: true).first?.vector)
            let hit = try await store.search("c", SearchRequest(vector: vector, limit: 1))
            #expect(hit.first?.id == record.id)
        }
        let ids = Array(some.points.prefix(5).map(\.id))
        let hasID = try await store.search("c", SearchRequest(vector: queries[0], filter: Filter(must: [.hasID(ids)]), limit: 10))
        #expect(Set(hasID.map(\.id)) == Set(ids))
    }

    @Test func aWriteAfterPersistingDisqualifiesTheSegmentUntilTheNextOne() async throws {
        let dir = temporaryDirectory("segments-stale")
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SystemRandomNumberGenerator()
        let late = Self.randomVector(&rng)
        do {
            let store = try await Self.populated(dir)
            try await store.persistSegments()
            try await store.upsert("c", points: [PointStruct(id: .number(999_999), vector: late, payload: ["tenant": .string("a")])])
        }
        do {
            let store = try EmbeddedStore(directory: dir)
            #expect(Self.shards(store).values.allSatisfy { !$0.isMapped })
            let hit = try await store.search("c", SearchRequest(vector: late, limit: 1))
            #expect(hit.first?.id == .number(999_999))
            // A vector update, a deletion and a tenant move disqualify a fresh segment too.
            #expect(try await store.persistSegments() == 1)
            try await store.updateVectors("c", [PointVectorsUpdate(id: .number(2), vector: late)])
        }
        do {
            let store = try EmbeddedStore(directory: dir)
            #expect(Self.shards(store).values.allSatisfy { !$0.isMapped })
            let hits = try await store.search("c", SearchRequest(vector: late, limit: 2))
            #expect(Set(hits.map(\.id)) == [.number(2), .number(999_999)])
            #expect(try await store.persistSegments() == 1)
            try await store.delete("c", .ids([.number(999_999)]))
        }
        do {
            let store = try EmbeddedStore(directory: dir)
            #expect(Self.shards(store).values.allSatisfy { !$0.isMapped })
            #expect(try await store.search("c", SearchRequest(vector: late, limit: 1)).first?.id != .number(999_999))
            #expect(try await store.persistSegments() == 1)
            try await store.setPayload("c", payload: ["tenant": .string("b")], key: nil, .ids([.number(0)]))
        }
        let store = try EmbeddedStore(directory: dir)
        #expect(Self.shards(store).values.allSatisfy { !$0.isMapped })
        let inB = try await store.scroll(
            "c",
            ScrollRequest(filter: Filter(must: [.field(FieldCondition(key: "tenant", match: .value("b")))]), limit: 100)
        )
        #expect(inB.points.contains { $0.id == .number(0) })
        #expect(try await store.collectionInfo("c").pointsCount == 5_081)
    }

    /// Damage of every kind: each is rejected and the collection rebuilt with the same answers.
    @Test(arguments: ["flip an int8 row byte", "flip a point id byte", "flip a header byte", "cut the file", "another version", "empty file"])
    func aDamagedSegmentIsRebuilt(_ damage: String) async throws {
        let (dir, file) = try await Self.persistedStore("segments-damaged")
        defer { try? FileManager.default.removeItem(at: dir) }
        let queries = Self.queries()
        var bytes = [UInt8](try Data(contentsOf: file))
        let opened = try SegmentFile.mapped(file)
        switch damage {
        case "flip an int8 row byte":
            let codes = opened.header.shards.first { $0.count == 5_000 }!.codes
            bytes[codes.offset + codes.length / 2] ^= 0x10
        case "flip a point id byte":
            let pointIDs = opened.header.shards.first { $0.count == 40 }!.pointIDs
            bytes[pointIDs.offset + 3] ^= 0x01
        case "flip a header byte":
            bytes[bytes.count - SegmentFile.trailerBytes - 10] ^= 0x01
        case "cut the file":
            bytes.removeLast(SegmentFile.trailerBytes + 100)
        case "another version":
            var header = opened.header
            header.version = SegmentFile.version + 1
            let json = [UInt8](try JSONEncoder().encode(header))
            let headerOffset = Int(bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: $0.count - SegmentFile.trailerBytes, as: UInt64.self) })
            var trailer = [UInt8](repeating: 0, count: SegmentFile.trailerBytes)
            trailer.withUnsafeMutableBytes { t in
                t.storeBytes(of: UInt64(headerOffset).littleEndian, toByteOffset: 0, as: UInt64.self)
                t.storeBytes(of: UInt32(json.count).littleEndian, toByteOffset: 8, as: UInt32.self)
                let sum = json.withUnsafeBytes { Checksum.of($0) }
                t.storeBytes(of: sum.littleEndian, toByteOffset: 12, as: UInt32.self)
            }
            trailer.replaceSubrange(16..., with: SegmentFile.magic)
            bytes = Array(bytes[0..<headerOffset]) + json + trailer
        default:
            bytes = []
        }
        try Data(bytes).write(to: file)
        #expect(throws: SegmentFile.Rejected.self) { try SegmentFile.mapped(file) }
        let store = try EmbeddedStore(directory: dir)
        #expect(Self.shards(store).values.allSatisfy { !$0.isMapped })
        #expect(try await Self.answers(store, queries) == Self.rebuiltAnswers(dir, queries))
        // The next persist replaces the damaged file with a good one.
        #expect(try await store.persistSegments() == 1)
        let again = try EmbeddedStore(directory: dir)
        #expect(Self.shards(again).values.allSatisfy { $0.isMapped })
    }

    /// A flipped float byte (the rows read only to rescore) passes the checks at open and is caught
    /// by the verification after it: the collection is then rebuilt, with the same answers as a store
    /// rebuilt from the start, and the next persist writes a good file.
    @Test func aFlippedFloatRowIsCaughtAfterOpeningAndRebuilt() async throws {
        let (dir, file) = try await Self.persistedStore("segments-floats")
        defer { try? FileManager.default.removeItem(at: dir) }
        let queries = Self.queries()
        try Self.flipFloatByte(file, at: 1.0 / 2, bits: 0x10)
        let opened = try SegmentFile.mapped(file)
        #expect(opened.verify(.serving, concurrently: false))
        #expect(!opened.verify(.floats, concurrently: false))
        let store = try EmbeddedStore(directory: dir)
        await store.segmentsVerified()
        #expect(Self.shards(store).values.allSatisfy { !$0.isMapped })
        #expect(try await Self.answers(store, queries) == Self.rebuiltAnswers(dir, queries))
        #expect(try await store.persistSegments() == 1)
        let again = try EmbeddedStore(directory: dir)
        await again.segmentsVerified()
        #expect(Self.shards(again).values.allSatisfy { $0.isMapped })
    }

    /// Writes go on while a segment that failed its verification is rebuilt: whichever way the rebuild
    /// goes (built aside and swapped in, or loaded again under the lock because a write overtook it),
    /// every write is kept and the answers equal a store rebuilt from the start.
    @Test func writesDuringARebuildAreKept() async throws {
        let (dir, file) = try await Self.persistedStore("segments-rebuild-writes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let queries = Self.queries()
        try Self.flipFloatByte(file, at: 1.0 / 3, bits: 0x04)
        let store = try EmbeddedStore(directory: dir)
        var rng = SystemRandomNumberGenerator()
        var written: [PointStruct] = []
        for i in 0..<40 {
            let tenant: JSONValue = .string(i % 2 == 0 ? "big" : "a")
            let point = PointStruct(id: .number(UInt64(8_000_000 + i)), vector: Self.randomVector(&rng), payload: ["tenant": tenant])
            try await store.upsert("c", points: [point])
            written.append(point)
        }
        await store.segmentsVerified()
        #expect(Self.shards(store).values.allSatisfy { !$0.isMapped })
        #expect(try await store.collectionInfo("c").pointsCount == 5_081 + 40)
        for point in written {
            #expect(try await store.search("c", SearchRequest(vector: point.vector, limit: 1)).first?.id == point.id)
        }
        #expect(try await Self.answers(store, queries) == Self.rebuiltAnswers(dir, queries))
    }

    /// A database changed behind the triggers' back (a row deleted, the recorded name put back) still
    /// names the file, which opens; the row-count check after opening finds the shard one row long and
    /// rebuilds the collection from the database.
    @Test func aRowCountMismatchIsCaughtAfterOpeningAndRebuilt() async throws {
        let (dir, _) = try await Self.persistedStore("segments-counts")
        defer { try? FileManager.default.removeItem(at: dir) }
        let queries = Self.queries()
        do {
            let database = try EngramDatabase(directory: dir)
            try await database.pool.write { db in
                let token = try String.fetchOne(db, sql: "SELECT segment FROM collections")
                try #require(token != nil)
                try db.execute(sql: "DELETE FROM points WHERE rowid = (SELECT MAX(rowid) FROM points WHERE tenant = 'a')")
                try db.execute(sql: "UPDATE collections SET segment = ?", arguments: [token])
            }
        }
        let store = try EmbeddedStore(directory: dir)
        await store.segmentsVerified()
        #expect(Self.shards(store).values.allSatisfy { !$0.isMapped })
        #expect(try await store.collectionInfo("c").pointsCount == 5_080)
        #expect(Self.shards(store)["a"]?.count == 39)
        #expect(try await Self.answers(store, queries) == Self.rebuiltAnswers(dir, queries))
    }

    /// Writes go on while a file is written: a point written between two shards clears the name
    /// recorded before the first, so that file is never used (the next open rebuilds, with the point),
    /// and the next persist writes one that is.
    @Test func aWriteWhilePersistingLeavesThatFileUnused() async throws {
        let dir = temporaryDirectory("segments-during")
        defer { try? FileManager.default.removeItem(at: dir) }
        let queries = Self.queries()
        var rng = SystemRandomNumberGenerator()
        let late = PointStruct(id: .number(9_999_999), vector: Self.randomVector(&rng), payload: ["tenant": .string("big")])
        do {
            let store = try await Self.populated(dir)
            let first = Mutex(true)
            let written = try await store.persistSegments(afterEachShard: {
                guard
                    first.withLock({ isFirst in
                        defer { isFirst = false }
                        return isFirst
                    })
                else { return }
                // A real write, between the first shard and the second (the store's lock is free here).
                let done = DispatchSemaphore(value: 0)
                Task {
                    try? await store.upsert("c", points: [late])
                    done.signal()
                }
                done.wait()
            })
            #expect(written == 0)
        }
        do {
            let store = try EmbeddedStore(directory: dir)
            #expect(Self.shards(store).values.allSatisfy { !$0.isMapped })
            #expect(try await store.collectionInfo("c").pointsCount == 5_082)
            #expect(try await store.persistSegments() == 1)
        }
        let store = try EmbeddedStore(directory: dir)
        await store.segmentsVerified()
        #expect(Self.shards(store).values.allSatisfy { $0.isMapped })
        #expect(try await store.collectionInfo("c").pointsCount == 5_082)
        #expect(try await store.search("c", SearchRequest(vector: late.vector, limit: 1)).first?.id == late.id)
        #expect(try await Self.answers(store, queries) == Self.rebuiltAnswers(dir, queries))
    }

    /// Writes to a store served from its segment change memory only (the private mapping copies the
    /// pages they touch): the file stays byte for byte, and the answers follow the writes, including
    /// appends past the file's room for rows.
    @Test func writesToMappedShardsLeaveTheFileAlone() async throws {
        let (dir, file) = try await Self.persistedStore("segments-writes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let queries = Self.queries()
        let before = try Data(contentsOf: file)
        let store = try EmbeddedStore(directory: dir)
        var rng = SystemRandomNumberGenerator()
        // In place, a removal (the last row moves into the hole), and appends past the room of `a` (1,024 rows).
        try await store.upsert("c", points: [PointStruct(id: .number(2), vector: Self.randomVector(&rng), payload: ["tenant": .string("big")])])
        try await store.delete("c", .ids([.number(4), .number(5_040)]))
        let appended = (0..<1_100).map { i in
            PointStruct(id: .number(UInt64(2_000_000 + i)), vector: Self.randomVector(&rng), payload: ["tenant": .string("a")])
        }
        try await store.upsert("c", points: appended)
        let shards = Self.shards(store)
        #expect(shards["big"]?.isMapped == true)
        #expect(shards["a"]?.isMapped == false)
        #expect(try Data(contentsOf: file) == before)
        #expect(try await Self.answers(store, queries) == Self.rebuiltAnswers(dir, queries))
    }

    @Test func anEncryptedDatabaseKeepsNoSegments() async throws {
        let dir = temporaryDirectory("segments-encrypted")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cipher = AtRestCipher(current: EncryptionAtRestTests.key())
        let store = try EmbeddedStore(directory: dir, cipher: cipher)
        try await store.createCollection(CollectionConfig(name: "c", vectorSize: Self.dimension))
        var rng = SystemRandomNumberGenerator()
        try await store.upsert("c", points: [PointStruct(id: .number(1), vector: Self.randomVector(&rng))])
        #expect(try await store.persistSegments() == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent(EngramDatabase.fileName + ".segments").path))
    }

    @Test func theChecksumIsTheSameOnEveryPath() {
        var rng = SystemRandomNumberGenerator()
        for length in [0, 1, 7, 8, 31, 32, 33, 64, 100, 4_097, 70_001] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            bytes.withUnsafeBytes { b in
                let fast = Checksum.of(b)
                #expect(fast == Checksum.of(b, portable: true), "length \(length)")
                if length > 0 {
                    var flipped = bytes
                    flipped[length / 2] ^= 1
                    flipped.withUnsafeBytes { f in #expect(Checksum.of(f) != fast) }
                }
            }
        }
    }
}
