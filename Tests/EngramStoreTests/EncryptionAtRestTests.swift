import Crypto
import EngramAtRest
import EngramCore
import EngramDatabase
import EngramMetadata
import Foundation
import GRDB
import Testing

@testable import EngramStore
@testable import EngramStoreModel

/// Encryption at rest: the cipher's envelope, a sealed embedded store, the file's key record and
/// key rotation.
@Suite struct EncryptionAtRestTests {
    static func key() -> AtRestCipher.MasterKey {
        AtRestCipher.MasterKey(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    // MARK: The cipher

    @Test func sealsWithFreshNoncesAndOpens() throws {
        let cipher = AtRestCipher(current: Self.key())
        let plain = Data("use swift test --parallel".utf8)
        let a = try cipher.seal(plain, tenant: "org:acme", identity: "point:1")
        let b = try cipher.seal(plain, tenant: "org:acme", identity: "point:1")
        #expect(a != b, "a fresh nonce per value")
        #expect(AtRestCipher.isSealed(a) && cipher.isCurrent(a))
        #expect(a.range(of: plain) == nil)
        #expect(try cipher.open(a, tenant: "org:acme", identity: "point:1") == plain)
        #expect(AtRestCipher.keyID(of: a) == cipher.current.id)
    }

    @Test func everyAlteredByteIsDetected() throws {
        let cipher = AtRestCipher(current: Self.key())
        let sealed = try cipher.seal(Data("content".utf8), tenant: "org:a", identity: "point:1")
        // Past the magic: key id, nonce, ciphertext and tag.
        for i in 4..<sealed.count {
            var bad = sealed
            bad[bad.startIndex + i] ^= 0x01
            #expect(throws: AtRestCipherError.self, "byte \(i)") { try cipher.open(bad, tenant: "org:a", identity: "point:1") }
        }
        #expect(throws: AtRestCipherError.self) { try cipher.open(sealed.dropLast(), tenant: "org:a", identity: "point:1") }
    }

    @Test func aValueMovedToAnotherRecordOrTenantDoesNotOpen() throws {
        let cipher = AtRestCipher(current: Self.key())
        let sealed = try cipher.seal(Data("content".utf8), tenant: "org:a", identity: "point:1")
        #expect(throws: AtRestCipherError.corrupt("point:2")) { try cipher.open(sealed, tenant: "org:a", identity: "point:2") }
        #expect(throws: AtRestCipherError.corrupt("point:1")) { try cipher.open(sealed, tenant: "org:b", identity: "point:1") }
        let text = try cipher.sealText("webhook-secret-123456", tenant: "org:a", identity: "org:a:webhook_secret")
        #expect(text.hasPrefix("e1:"))
        #expect(throws: AtRestCipherError.self) { try cipher.openText(text, tenant: "org:b", identity: "org:b:webhook_secret") }
    }

    @Test func previousKeyOpensAndUnknownKeyIsNamed() throws {
        let old = AtRestCipher(current: Self.key())
        let sealed = try old.seal(Data("x".utf8), tenant: "", identity: "point:1")
        let rotating = AtRestCipher(current: Self.key(), previous: old.current)
        #expect(try rotating.open(sealed, tenant: "", identity: "point:1") == Data("x".utf8))
        #expect(!rotating.isCurrent(sealed))
        let stranger = AtRestCipher(current: Self.key())
        #expect(throws: AtRestCipherError.unknownKey(old.current.id)) { try stranger.open(sealed, tenant: "", identity: "point:1") }
        // Plaintext values (stored before encryption was on) pass through.
        #expect(try stranger.open(Data("{}".utf8), tenant: "", identity: "point:1") == Data("{}".utf8))
    }

    @Test func keySettings() throws {
        let bytes = Data((0..<32).map { UInt8($0) })
        let key = try AtRestCipher.MasterKey(setting: bytes.base64EncodedString())
        #expect(key.id == AtRestCipher.MasterKey(bytes: bytes).id)
        #expect(key.id.count == 16)
        #expect(throws: AtRestCipherError.self) { try AtRestCipher.MasterKey(setting: "short") }
    }

    // MARK: The sealed store

    static func collection() -> CollectionConfig { CollectionConfig(name: "mem", vectorSize: 4, tenantKey: "tenant") }

    static func fileBytes(_ dir: URL) throws -> Data {
        var all = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            all.append(try Data(contentsOf: dir.appendingPathComponent(name)))
        }
        return all
    }

    @Test func payloadsAreSealedOnDiskAndReadBackInPlaintext() async throws {
        let dir = temporaryDirectory("sealed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cipher = AtRestCipher(current: Self.key())
        let canary = "canary-\(UUID().uuidString)"
        do {
            let store = try EmbeddedStore(directory: dir, cipher: cipher)
            try await store.createCollection(Self.collection())
            try await store.upsert(
                "mem",
                points: (0..<20).map { i in
                    PointStruct(
                        id: .number(UInt64(i)),
                        vector: [1, Float(i), 0, 1],
                        payload: ["tenant": .string("org:\(i % 2)"), "content": .string("\(canary) \(i)")]
                    )
                }
            )
            try await store.setPayload("mem", payload: ["note": .string(canary + " edited")], key: nil, .ids([.number(3)]))
            let got = try await store.retrieve("mem", ids: [.number(3)], withPayload: true)
            #expect(got.first?.payload?["content"] == .string("\(canary) 3"))
            #expect(got.first?.payload?["note"] == .string(canary + " edited"))
            // Bytes on disk (database and WAL, before any checkpoint) never hold the canary.
            #expect(try Self.fileBytes(dir).range(of: Data(canary.utf8)) == nil)
        }
        // Reopened with the key: the shards are rebuilt and filtered reads decode.
        let store = try EmbeddedStore(directory: dir, cipher: cipher)
        let hits = try await store.scroll("mem", ScrollRequest(limit: 100))
        #expect(hits.points.count == 20)
        #expect(hits.points.allSatisfy { ($0.payload?["content"]?.stringValue ?? "").hasPrefix(canary) })
        let near = try await store.search(
            "mem",
            SearchRequest(
                vector: [1, 5, 0, 1],
                filter: Filter(must: [.field(FieldCondition(key: "tenant", match: .value(.string("org:1"))))]),
                limit: 1,
                withPayload: true
            )
        )
        #expect(near.first?.payload?["content"] == .string("\(canary) 5"))
    }

    @Test func theFileRefusesAMissingOrWrongKey() async throws {
        let dir = temporaryDirectory("keycheck")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cipher = AtRestCipher(current: Self.key())
        do {
            let store = try EmbeddedStore(directory: dir, cipher: cipher)
            try await store.createCollection(Self.collection())
        }
        #expect(throws: EncryptionKeyProblem.missing(keyID: cipher.current.id)) { try EngramDatabase(directory: dir) }
        let wrong = AtRestCipher(current: Self.key())
        #expect(throws: EncryptionKeyProblem.mismatch(recorded: cipher.current.id, target: nil, held: wrong.current.id)) {
            try EngramDatabase(directory: dir, cipher: wrong)
        }
        _ = try EngramDatabase(directory: dir, cipher: cipher)
    }

    @Test func aPayloadCopiedToAnotherPointDoesNotOpen() async throws {
        let dir = temporaryDirectory("moved")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cipher = AtRestCipher(current: Self.key())
        let store = try EmbeddedStore(directory: dir, cipher: cipher)
        try await store.createCollection(Self.collection())
        try await store.upsert(
            "mem",
            points: [
                PointStruct(id: .number(1), vector: [1, 0, 0, 0], payload: ["tenant": "org:a", "content": "one"]),
                PointStruct(id: .number(2), vector: [0, 1, 0, 0], payload: ["tenant": "org:a", "content": "two"]),
            ]
        )
        try await store.database.pool.write { db in
            try db.execute(
                sql: "UPDATE points SET payload = (SELECT payload FROM points WHERE pid = ?) WHERE pid = ?",
                arguments: [PointID.number(1).storageKey, PointID.number(2).storageKey]
            )
        }
        let reopened = try EmbeddedStore(directory: dir, cipher: cipher)
        await #expect(throws: StoreError.self) { try await reopened.retrieve("mem", ids: [.number(2)], withPayload: true) }
        #expect(try await reopened.retrieve("mem", ids: [.number(1)], withPayload: true).first?.payload?["content"] == "one")
    }

    // MARK: Rotation

    @Test func rotationMidwayThenAgainFinishes() async throws {
        let dir = temporaryDirectory("rotate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let old = AtRestCipher(current: Self.key())
        do {
            // Ten plaintext payloads from before encryption, then ten sealed ones and sealed versions.
            let plain = try EmbeddedStore(directory: dir)
            try await plain.createCollection(Self.collection())
            try await plain.upsert(
                "mem",
                points: (0..<10).map { PointStruct(id: .number(UInt64($0)), vector: [1, 1, 0, Float($0)], payload: ["tenant": "user:u"]) }
            )
        }
        do {
            let store = try EmbeddedStore(directory: dir, cipher: old)
            try await store.upsert(
                "mem",
                points: (10..<20).map { PointStruct(id: .number(UInt64($0)), vector: [1, 1, 0, Float($0)], payload: ["tenant": "org:a"]) }
            )
            let versions = LifecycleRecords(database: store.database)
            try await versions.appendVersions(
                (1...3).map {
                    VersionRow(
                        memoryId: "m1",
                        version: $0,
                        at: 1,
                        actor: "u",
                        channel: "mcp",
                        client: nil,
                        requestId: nil,
                        reason: "created",
                        orgId: "a",
                        state: "published",
                        contentHash: "h",
                        snapshot: Data("{\"content\":\"v\($0)\"}".utf8)
                    )
                }
            )
        }
        let new = AtRestCipher(current: Self.key(), previous: old.current)
        let database = try EngramDatabase(directory: dir, cipher: new)
        #expect(try database.encryptionState()?.rotating == true)
        // The old key alone no longer fits: new values may be under the new one.
        #expect(throws: EncryptionKeyProblem.self) { try EngramDatabase(directory: dir, cipher: old) }
        let identity: (Data, String) throws -> Data = { data, _ in data }
        let first = try database.rotateKeys(batch: 4, stopAfter: 7, reopenTOTP: identity, sealTOTP: identity)
        #expect(!first.finished)
        #expect(first.resealed.values.reduce(0, +) == 7)
        let second = try database.rotateKeys(batch: 4, reopenTOTP: identity, sealTOTP: identity)
        #expect(second.finished)
        let firstCount = first.resealed.values.reduce(0, +)
        let secondCount = second.resealed.values.reduce(0, +)
        #expect(firstCount + secondCount == 23)
        let counts = try database.sealedCounts()
        let payloads = try #require(counts[.payloads])
        #expect(payloads.current == 20 && payloads.other == 0 && payloads.plaintext == 0)
        let versionCounts = try #require(counts[.versions])
        #expect(versionCounts.current == 3 && versionCounts.other == 0 && versionCounts.plaintext == 0)
        let state = try #require(try database.encryptionState())
        #expect(state.keyID == new.current.id && state.targetKeyID == nil && !state.rotating)
        // The new key alone opens everything; versions read back in plaintext.
        let alone = AtRestCipher(current: new.current)
        let store = try EmbeddedStore(directory: dir, cipher: alone)
        #expect(try await store.scroll("mem", ScrollRequest(limit: 100)).points.count == 20)
        let snapshots = try await LifecycleRecords(database: store.database).versions(memoryId: "m1").map {
            String(decoding: $0.snapshot, as: UTF8.self)
        }
        #expect(snapshots == ["{\"content\":\"v1\"}", "{\"content\":\"v2\"}", "{\"content\":\"v3\"}"])
        // Versions stay immutable outside a rotation, and for every column but the snapshot during one.
        #expect(throws: DatabaseError.self) {
            try store.database.pool.write { db in try db.execute(sql: "UPDATE memory_versions SET snapshot = x'00' WHERE version = 1") }
        }
        #expect(throws: DatabaseError.self) {
            try store.database.pool.write { db in
                try db.execute(sql: "UPDATE encryption_state SET rotating = 1")
                try db.execute(sql: "UPDATE memory_versions SET state = 'rejected' WHERE version = 1")
            }
        }
    }
}
