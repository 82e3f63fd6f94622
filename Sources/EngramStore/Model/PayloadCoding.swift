public import EngramCore
import Foundation

/// A point's payload: a JSON object.
public typealias Payload = [String: JSONValue]

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
