import EngramAtRest
import EngramCore
import EngramDatabase
import EngramStoreModel
import Foundation

/// JSON encoding of payloads and raw encoding of vectors for the database.
enum PayloadCoding {
    static func encode(_ payload: Payload) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(payload)
    }

    static func decode(_ data: Data) throws -> Payload {
        do {
            return try JSONDecoder().decode(Payload.self, from: data)
        } catch {
            throw StoreError.corrupt("unreadable payload")
        }
    }

    /// Little-endian Float32 bytes (the host order on every supported platform).
    static func vectorData(_ v: [Float]) -> Data {
        v.withUnsafeBytes { Data($0) }
    }

    static func vector(_ data: Data, dimension: Int) throws -> [Float] {
        guard data.count == dimension * 4 else { throw StoreError.corrupt("vector blob of \(data.count) bytes, expected \(dimension * 4)") }
        return [Float](unsafeUninitializedCapacity: dimension) { buf, n in
            data.withUnsafeBytes { UnsafeMutableRawBufferPointer(buf).copyMemory(from: $0) }
            n = dimension
        }
    }

    /// The shard a payload belongs to: the string value of the tenant field, else nil.
    static func tenant(of payload: Payload, key: String?) -> String? {
        guard let key else { return nil }
        let values = payload.values(at: key)
        guard values.count == 1, case let .string(s) = values[0] else { return nil }
        return s
    }
}

extension EmbeddedStore {
    /// A payload as stored: JSON, sealed with the database's cipher when it has one (encryption at
    /// rest). The point's storage key is the sealed value's identity and its tenant picks the key,
    /// so a payload moved to another point or tenant does not open.
    func encodePayload(_ payload: Payload, key: String, tenant: String?) throws -> Data {
        let json = try PayloadCoding.encode(payload)
        guard let cipher = database.cipher else { return json }
        return try cipher.seal(json, tenant: SealedRecord.pointTenant(tenant), identity: SealedRecord.point(key))
    }

    /// A stored payload decoded (opened first when sealed).
    func decodePayload(_ stored: Data, key: String, tenant: String?) throws -> Payload {
        guard AtRestCipher.isSealed(stored) else { return try PayloadCoding.decode(stored) }
        guard let cipher = database.cipher else { throw StoreError.corrupt("a sealed payload, and no encryption key") }
        do {
            return try PayloadCoding.decode(try cipher.open(stored, tenant: SealedRecord.pointTenant(tenant), identity: SealedRecord.point(key)))
        } catch let error as AtRestCipherError {
            throw StoreError.corrupt("\(error)")
        }
    }
}
