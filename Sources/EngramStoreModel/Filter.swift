public import EngramCore
import Foundation

/// A Qdrant filter: every `must` condition holds, at least one `should` holds
/// (when any are given), and no `must_not` condition holds.
public struct Filter: Sendable, Hashable, Codable {
    public var must: [Condition]?
    public var should: [Condition]?
    public var mustNot: [Condition]?
    /// At least `minCount` of `conditions` must hold.
    public var minShould: MinShould?

    public init(
        must: [Condition]? = nil,
        should: [Condition]? = nil,
        mustNot: [Condition]? = nil,
        minShould: MinShould? = nil
    ) {
        self.must = must
        self.should = should
        self.mustNot = mustNot
        self.minShould = minShould
    }

    /// Whether the filter has no conditions at all (matches everything).
    public var isEmpty: Bool {
        (must ?? []).isEmpty && (should ?? []).isEmpty && (mustNot ?? []).isEmpty && minShould == nil
    }

    /// Whether every condition is a top-level `must` `has_id` (nothing to check beyond the id).
    public var onlyHasID: Bool {
        (should ?? []).isEmpty && (mustNot ?? []).isEmpty && minShould == nil
            && (must ?? []).allSatisfy { if case .hasID = $0 { return true } else { return false } }
    }

    enum CodingKeys: String, CodingKey {
        case must, should
        case mustNot = "must_not"
        case minShould = "min_should"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        must = try Self.decodeConditions(c, .must)
        should = try Self.decodeConditions(c, .should)
        mustNot = try Self.decodeConditions(c, .mustNot)
        minShould = try c.decodeIfPresent(MinShould.self, forKey: .minShould)
    }

    /// Qdrant accepts a single condition or a list for each clause.
    private static func decodeConditions(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> [Condition]? {
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
        if let list = try? c.decode([Condition].self, forKey: key) { return list }
        return [try c.decode(Condition.self, forKey: key)]
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(must, forKey: .must)
        try c.encodeIfPresent(should, forKey: .should)
        try c.encodeIfPresent(mustNot, forKey: .mustNot)
        try c.encodeIfPresent(minShould, forKey: .minShould)
    }
}

/// `min_should`: at least `minCount` of `conditions` must hold.
public struct MinShould: Sendable, Hashable, Codable {
    public var conditions: [Condition]
    public var minCount: Int
    enum CodingKeys: String, CodingKey {
        case conditions
        case minCount = "min_count"
    }
}

/// One condition of a filter.
public indirect enum Condition: Sendable, Hashable {
    /// A condition on a payload field (`match`, `range`, `values_count`).
    case field(FieldCondition)
    /// The field is missing, null, or an empty array.
    case isEmpty(key: String)
    /// The field exists and is null.
    case isNull(key: String)
    /// The point's id is one of these.
    case hasID([PointID])
    /// A nested filter.
    case filter(Filter)
    /// Every condition of `filter` holds within one element of the array at `key`.
    case nested(key: String, filter: Filter)
}

extension Condition: Codable {
    private enum Keys: String, CodingKey {
        case key, match, range
        case valuesCount = "values_count"
        case isEmpty = "is_empty"
        case isNull = "is_null"
        case hasID = "has_id"
        case nested
        case must, should
        case mustNot = "must_not"
        case minShould = "min_should"
    }
    private struct KeyOnly: Codable { var key: String }
    private struct NestedBody: Codable {
        var key: String
        var filter: Filter
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        if c.contains(.key) {
            self = .field(try FieldCondition(from: decoder))
        } else if c.contains(.isEmpty) {
            self = .isEmpty(key: try c.decode(KeyOnly.self, forKey: .isEmpty).key)
        } else if c.contains(.isNull) {
            self = .isNull(key: try c.decode(KeyOnly.self, forKey: .isNull).key)
        } else if c.contains(.hasID) {
            self = .hasID(try c.decode([PointID].self, forKey: .hasID))
        } else if c.contains(.nested) {
            let body = try c.decode(NestedBody.self, forKey: .nested)
            self = .nested(key: body.key, filter: body.filter)
        } else if c.contains(.must) || c.contains(.should) || c.contains(.mustNot) || c.contains(.minShould) {
            self = .filter(try Filter(from: decoder))
        } else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "unknown condition: expected one of key, is_empty, is_null, has_id, nested, must, should, must_not"
                )
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .field(f): try f.encode(to: encoder)
        case let .filter(f): try f.encode(to: encoder)
        case let .isEmpty(key):
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(KeyOnly(key: key), forKey: .isEmpty)
        case let .isNull(key):
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(KeyOnly(key: key), forKey: .isNull)
        case let .hasID(ids):
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(ids, forKey: .hasID)
        case let .nested(key, filter):
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(NestedBody(key: key, filter: filter), forKey: .nested)
        }
    }
}

/// A condition on the value(s) of one payload field, addressed by a dotted key.
public struct FieldCondition: Sendable, Hashable, Codable {
    public var key: String
    public var match: Match?
    public var range: RangeCondition?
    public var valuesCount: ValuesCount?

    public init(key: String, match: Match? = nil, range: RangeCondition? = nil, valuesCount: ValuesCount? = nil) {
        self.key = key
        self.match = match
        self.range = range
        self.valuesCount = valuesCount
    }

    enum CodingKeys: String, CodingKey {
        case key, match, range
        case valuesCount = "values_count"
    }
}

/// `match`: exact value, any of a list, none of a list, or text containment.
public enum Match: Sendable, Hashable {
    case value(JSONValue)
    case any([JSONValue])
    case except([JSONValue])
    case text(String)
}

extension Match: Codable {
    private enum Keys: String, CodingKey { case value, any, except, text }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        if c.contains(.value) {
            let v = try c.decode(JSONValue.self, forKey: .value)
            switch v {
            case .string, .int, .bool: self = .value(v)
            default:
                throw DecodingError.dataCorruptedError(
                    forKey: .value,
                    in: c,
                    debugDescription: "match.value must be a string, integer or boolean"
                )
            }
        } else if c.contains(.any) {
            self = .any(try c.decode([JSONValue].self, forKey: .any))
        } else if c.contains(.except) {
            self = .except(try c.decode([JSONValue].self, forKey: .except))
        } else if c.contains(.text) {
            self = .text(try c.decode(String.self, forKey: .text))
        } else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "match needs one of value, any, except, text"
                )
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case let .value(v): try c.encode(v, forKey: .value)
        case let .any(v): try c.encode(v, forKey: .any)
        case let .except(v): try c.encode(v, forKey: .except)
        case let .text(t): try c.encode(t, forKey: .text)
        }
    }
}

/// One bound of a range: a number, or an RFC 3339 datetime (kept as seconds since 1970).
public enum RangeBound: Sendable, Hashable, Codable {
    case number(Double)
    case datetime(Double)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let d = try? c.decode(Double.self) {
            self = .number(d)
            return
        }
        let s = try c.decode(String.self)
        guard let t = RFC3339.parse(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "invalid datetime in range: expected RFC 3339")
        }
        self = .datetime(t)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .number(d): try c.encode(d)
        case let .datetime(t): try c.encode(RFC3339.format(t))
        }
    }
}

/// `range`: `gt`, `gte`, `lt`, `lte` bounds on numbers or datetimes.
public struct RangeCondition: Sendable, Hashable, Codable {
    public var gt: RangeBound?
    public var gte: RangeBound?
    public var lt: RangeBound?
    public var lte: RangeBound?

    public init(gt: RangeBound? = nil, gte: RangeBound? = nil, lt: RangeBound? = nil, lte: RangeBound? = nil) {
        self.gt = gt
        self.gte = gte
        self.lt = lt
        self.lte = lte
    }
}

/// `values_count`: bounds on how many values the field holds.
public struct ValuesCount: Sendable, Hashable, Codable {
    public var gt: Int?
    public var gte: Int?
    public var lt: Int?
    public var lte: Int?
}
