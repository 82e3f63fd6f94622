import EngramCore
import EngramStore
import EngramStoreModel
import Foundation

/// Request parsing and response shaping between Qdrant's REST JSON and the store's types.
enum Wire {
    // MARK: - Body access

    static func object(_ v: JSONValue?) -> [String: JSONValue]? {
        if case let .object(o)? = v { return o }
        return nil
    }

    /// The value at `key`, treating JSON null as absent.
    static func field(_ body: [String: JSONValue], _ key: String) -> JSONValue? {
        guard let v = body[key], !v.isNull else { return nil }
        return v
    }

    static func int(_ body: [String: JSONValue], _ key: String) throws -> Int? {
        guard let v = field(body, key) else { return nil }
        switch v {
        case let .int(i) where i >= 0: return Int(i)
        case let .double(d) where d >= 0 && d == d.rounded() && d < 1e15: return Int(d)
        default: throw QdrantError.format("`\(key)` must be a non-negative integer")
        }
    }

    static func bool(_ body: [String: JSONValue], _ key: String) throws -> Bool? {
        guard let v = field(body, key) else { return nil }
        guard case let .bool(b) = v else { throw QdrantError.format("`\(key)` must be a boolean") }
        return b
    }

    static func float(_ body: [String: JSONValue], _ key: String) throws -> Float? {
        guard let v = field(body, key) else { return nil }
        guard let n = v.number else { throw QdrantError.format("`\(key)` must be a number") }
        return Float(n)
    }

    // MARK: - Ids, vectors, filters, payloads

    static func pointID(_ v: JSONValue) throws -> PointID {
        switch v {
        case let .int(i) where i >= 0: return .number(UInt64(i))
        case let .double(d) where d >= 0 && d == d.rounded() && d < 1.8e19: return .number(UInt64(d))
        case let .string(s):
            if let id = PointID(string: s), case .uuid = id { return id }
            throw QdrantError.format("Unable to parse UUID: \(s)")
        default:
            throw QdrantError.format("point id must be an unsigned integer or a UUID")
        }
    }

    static func pointIDs(_ v: JSONValue?, key: String) throws -> [PointID] {
        guard case let .array(items)? = v else { throw QdrantError.format("missing field `\(key)`") }
        return try items.map(pointID)
    }

    static func dense(_ v: JSONValue) throws -> [Float] {
        guard case let .array(items) = v else { throw QdrantError.format("vector must be an array of numbers") }
        var out = [Float]()
        out.reserveCapacity(items.count)
        for x in items {
            switch x {
            case let .double(d): out.append(Float(d))
            case let .int(i): out.append(Float(i))
            default: throw QdrantError.format("vector must be an array of numbers")
            }
        }
        return out
    }

    static func isSparse(_ v: JSONValue) -> Bool {
        guard case let .object(o) = v else { return false }
        return o["indices"] != nil && o["values"] != nil
    }

    static func sparse(_ v: JSONValue) throws -> SparseVector {
        guard case let .object(o) = v, case let .array(idx)? = o["indices"], let values = o["values"] else {
            throw QdrantError.format("sparse vector must be {\"indices\": [...], \"values\": [...]}")
        }
        var indices: [UInt32] = []
        indices.reserveCapacity(idx.count)
        for i in idx {
            guard case let .int(n) = i, n >= 0, n <= Int64(UInt32.max) else {
                throw QdrantError.format("sparse vector indices must be unsigned 32-bit integers")
            }
            indices.append(UInt32(n))
        }
        return SparseVector(indices: indices, values: try dense(values))
    }

    /// Decodes a Qdrant filter (any `Codable` store type) from its JSON value.
    static func decode<T: Decodable>(_ type: T.Type, _ v: JSONValue) throws -> T {
        do {
            let data = try JSONEncoder().encode(v)
            return try JSONDecoder().decode(T.self, from: data)
        } catch let e as DecodingError {
            throw QdrantError.format(describe(e))
        } catch {
            throw QdrantError.format("\(error)")
        }
    }

    static func describe(_ e: DecodingError) -> String {
        switch e {
        case let .dataCorrupted(c), let .keyNotFound(_, c), let .typeMismatch(_, c), let .valueNotFound(_, c):
            let path = c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "\(path): \(c.debugDescription)"
        @unknown default:
            return "invalid request body"
        }
    }

    static func filter(_ body: [String: JSONValue], _ key: String = "filter") throws -> Filter? {
        guard let v = field(body, key) else { return nil }
        let f = try decode(Filter.self, v)
        return f.isEmpty ? nil : f
    }

    static func payload(_ v: JSONValue?) throws -> Payload {
        switch v {
        case nil, .null?: return [:]
        case let .object(o)?: return o
        default: throw QdrantError.format("payload must be a JSON object")
        }
    }

    /// `points` (ids) or `filter`: Qdrant's PointsSelector.
    static func selector(_ body: [String: JSONValue]) throws -> PointSelector {
        if let points = field(body, "points") { return .ids(try pointIDs(points, key: "points")) }
        if let f = field(body, "filter") { return .filter(try decode(Filter.self, f)) }
        throw QdrantError.badRequest("Either `points` or `filter` required")
    }

    // MARK: - Output selectors

    enum PayloadSelector {
        case all, none
        case include([String])
        case exclude([String])

        var wantsPayload: Bool { if case .none = self { return false } else { return true } }
    }

    static func payloadSelector(_ v: JSONValue?, default all: Bool) throws -> PayloadSelector {
        switch v {
        case nil, .null?: return all ? .all : .none
        case let .bool(b)?: return b ? .all : .none
        case let .array(items)?: return .include(try strings(items))
        case let .object(o)?:
            if let inc = o["include"] { return .include(try stringList(inc)) }
            if let exc = o["exclude"] { return .exclude(try stringList(exc)) }
            throw QdrantError.format("with_payload must be a boolean, a list of keys, {include} or {exclude}")
        default: throw QdrantError.format("with_payload must be a boolean, a list of keys, {include} or {exclude}")
        }
    }

    static func strings(_ items: [JSONValue]) throws -> [String] {
        try items.map { v in
            guard case let .string(s) = v else { throw QdrantError.format("expected a list of strings") }
            return s
        }
    }

    static func stringList(_ v: JSONValue) throws -> [String] {
        if case let .string(s) = v { return [s] }
        if case let .array(items) = v { return try strings(items) }
        throw QdrantError.format("expected a string or a list of strings")
    }

    enum VectorSelector {
        case none, all
        case names(Set<String>)
        var wantsVectors: Bool { if case .none = self { return false } else { return true } }
    }

    static func vectorSelector(_ v: JSONValue?, default all: Bool) throws -> VectorSelector {
        switch v {
        case nil, .null?: return all ? .all : .none
        case let .bool(b)?: return b ? .all : .none
        case let .array(items)?: return .names(Set(try strings(items)))
        default: throw QdrantError.format("with_vector must be a boolean or a list of vector names")
        }
    }

    static func apply(_ selector: PayloadSelector, _ payload: Payload?) -> JSONValue {
        guard let payload else { return .null }
        switch selector {
        case .none: return .null
        case .all: return .object(payload)
        case let .include(keys):
            var out: Payload = [:]
            for key in keys { include(key.split(separator: ".").map(String.init)[...], from: payload, into: &out) }
            return .object(out)
        case let .exclude(keys):
            var out = payload
            for key in keys { out = exclude(key.split(separator: ".").map(String.init)[...], from: out) }
            return .object(out)
        }
    }

    private static func include(_ path: ArraySlice<String>, from src: Payload, into dst: inout Payload) {
        guard let head = path.first, let value = src[head] else { return }
        if path.count == 1 {
            dst[head] = value
            return
        }
        guard case let .object(inner) = value else { return }
        var sub: Payload = [:]
        if case let .object(existing)? = dst[head] { sub = existing }
        include(path.dropFirst(), from: inner, into: &sub)
        if !sub.isEmpty { dst[head] = .object(sub) }
    }

    private static func exclude(_ path: ArraySlice<String>, from src: Payload) -> Payload {
        guard let head = path.first else { return src }
        var out = src
        if path.count == 1 {
            out[head] = nil
        } else if case let .object(inner)? = src[head] {
            out[head] = .object(exclude(path.dropFirst(), from: inner))
        }
        return out
    }

    // MARK: - Output

    static func id(_ id: PointID) -> JSONValue {
        switch id {
        case let .number(n): return n <= UInt64(Int64.max) ? .int(Int64(n)) : .double(Double(n))
        case .uuid: return .string(id.description)
        }
    }

    static func floats(_ v: [Float]) -> JSONValue { .array(v.map { .double(Double($0)) }) }

    static func sparseJSON(_ v: SparseVector) -> JSONValue {
        .object(["indices": .array(v.indices.map { .int(Int64($0)) }), "values": floats(v.values)])
    }

    /// A point's vectors: a plain list for a dense-only collection, else `{"": dense, name: sparse}`.
    static func vectors(_ dense: [Float]?, _ sparse: [String: SparseVector]?, named: Bool, _ selector: VectorSelector) -> JSONValue {
        guard selector.wantsVectors else { return .null }
        if !named {
            if case let .names(n) = selector, !n.contains("") { return .null }
            return dense.map(floats) ?? .null
        }
        var out: [String: JSONValue] = [:]
        func wanted(_ name: String) -> Bool {
            if case let .names(n) = selector { return n.contains(name) }
            return true
        }
        if let dense, wanted("") { out[""] = floats(dense) }
        for (name, v) in sparse ?? [:] where wanted(name) { out[name] = sparseJSON(v) }
        return .object(out)
    }

    static func record(_ r: Record, named: Bool, payload: PayloadSelector, vector: VectorSelector) -> JSONValue {
        .object([
            "id": id(r.id), "payload": apply(payload, r.payload),
            "vector": vectors(r.vector, r.sparseVectors, named: named, vector),
        ])
    }

    static func scored(_ p: ScoredPoint, named: Bool, payload: PayloadSelector, vector: VectorSelector) -> JSONValue {
        .object([
            "id": id(p.id), "version": 0, "score": .double(Double(p.score)), "payload": apply(payload, p.payload),
            "vector": vectors(p.vector, p.sparseVectors, named: named, vector),
        ])
    }
}
