import EngramCore
public import Foundation

/// A point identifier: an unsigned integer or a UUID, as in Qdrant.
///
/// Ordering follows Qdrant's scroll order: all integers (ascending) before all
/// UUIDs (ascending by their bytes).
public enum PointID: Hashable, Sendable, Comparable, CustomStringConvertible {
    case number(UInt64)
    case uuid(UUID)

    /// Parses a UUID string (hyphenated or 32 hex digits) or a decimal integer.
    public init?(string: String) {
        if let n = UInt64(string) {
            self = .number(n)
            return
        }
        if let u = UUID(uuidString: string) {
            self = .uuid(u)
            return
        }
        if string.count == 32, string.allSatisfy(\.isHexDigit) {
            let s = Array(string)
            let hyphenated =
                String(s[0..<8]) + "-" + String(s[8..<12]) + "-" + String(s[12..<16]) + "-"
                + String(s[16..<20]) + "-" + String(s[20..<32])
            if let u = UUID(uuidString: hyphenated) {
                self = .uuid(u)
                return
            }
        }
        return nil
    }

    public var description: String {
        switch self {
        case let .number(n): return String(n)
        case let .uuid(u): return u.lowercasedText
        }
    }

    /// Storage key whose byte order is the scroll order: 20-digit zero-padded
    /// integers sort before `u`-prefixed lowercase UUIDs.
    public var storageKey: String {
        switch self {
        case let .number(n):
            let digits = String(n)
            return String(repeating: "0", count: 20 - digits.count) + digits
        case let .uuid(u): return "u" + u.lowercasedText
        }
    }

    /// Inverse of `storageKey`.
    public init?(storageKey: String) {
        if storageKey.hasPrefix("u") {
            guard let u = UUID(uuidString: String(storageKey.dropFirst())) else { return nil }
            self = .uuid(u)
        } else {
            guard let n = UInt64(storageKey) else { return nil }
            self = .number(n)
        }
    }

    public static func < (lhs: PointID, rhs: PointID) -> Bool { lhs.storageKey < rhs.storageKey }
}

extension PointID: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(UInt64.self) {
            self = .number(n)
            return
        }
        if let s = try? c.decode(String.self) {
            if let u = UUID(uuidString: s) {
                self = .uuid(u)
                return
            }
            if let id = PointID(string: s), case .uuid = id {
                self = id
                return
            }
            throw DecodingError.dataCorruptedError(
                in: c,
                debugDescription: "Unable to parse UUID: \(s)"
            )
        }
        throw DecodingError.dataCorruptedError(
            in: c,
            debugDescription: "point id must be an unsigned integer or a UUID string"
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .number(n): try c.encode(n)
        case .uuid: try c.encode(description)
        }
    }
}
