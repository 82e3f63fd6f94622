import Foundation

/// A JSON value, as stored in point payloads.
///
/// Integers and floating-point numbers are kept apart (Qdrant's `match` takes
/// integers, `range` takes both); numeric comparisons treat them as one domain.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// The numeric value of an `int` or `double`.
    public var number: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }

    /// The string of a `.string`.
    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    /// The member `key` of an object value (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    /// Whether the value is `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Equality as used by `match`: numbers compare by value across int/double.
    public func matches(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case let (.int(a), .double(b)), let (.double(b), .int(a)): return Double(a) == b
        default: return self == other
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
            return
        }
        if let b = try? c.decode(Bool.self) {
            self = .bool(b)
            return
        }
        if let i = try? c.decode(Int64.self) {
            self = .int(i)
            return
        }
        if let d = try? c.decode(Double.self) {
            self = .double(d)
            return
        }
        if let s = try? c.decode(String.self) {
            self = .string(s)
            return
        }
        if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
            return
        }
        if let o = try? c.decode([String: JSONValue].self) {
            self = .object(o)
            return
        }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "unsupported JSON value")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .int(i): try c.encode(i)
        case let .double(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension Dictionary where Key == String, Value == JSONValue {
    /// Every value found at a dotted key path (`metadata.user_id`, `items[].name`).
    ///
    /// Arrays met along the path are traversed element by element (with or without
    /// the `[]` suffix), so the result is flattened the way Qdrant evaluates
    /// conditions. A missing key yields no values.
    public func values(at path: String) -> [JSONValue] {
        var current: [JSONValue] = [.object(self)]
        for rawPart in path.split(separator: ".", omittingEmptySubsequences: false) {
            var part = Substring(rawPart)
            var explicitArray = false
            if part.hasSuffix("[]") {
                part = part.dropLast(2)
                explicitArray = true
            }
            var next: [JSONValue] = []
            for value in current {
                for container in Self.flatten(value) {
                    if case let .object(o) = container, let v = o[String(part)] {
                        if explicitArray, case let .array(items) = v { next += items } else { next.append(v) }
                    }
                }
            }
            current = next
            if current.isEmpty { break }
        }
        return current
    }

    private static func flatten(_ v: JSONValue) -> [JSONValue] {
        if case let .array(items) = v { return items.flatMap(flatten) }
        return [v]
    }
}
