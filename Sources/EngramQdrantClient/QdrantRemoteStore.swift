import AsyncHTTPClient
import EngramCore
public import EngramStoreModel
public import Foundation
public import Logging
import NIOCore
import NIOHTTP1

/// `VectorStore` on a real Qdrant server over its REST API, for deployments that
/// outgrow one machine.
///
/// - Multitenancy as Qdrant advises: one collection per embedding model, a keyword
///   payload index on the tenant field with `is_tenant: true`; the memory domain
///   filters every request by tenant.
/// - Every write is sent with `wait=true`, so an acknowledged write is applied.
/// - Transient failures (connection errors, 429, 5xx) of idempotent calls are retried with
///   exponential backoff; when Qdrant stays down the error is `StoreError.io`, so callers answer
///   "unavailable" instead of losing a write. A non-idempotent call (creating a collection) is
///   retried only when Qdrant answered 429 or 503, i.e. did not run it.
/// - The HTTP client (AsyncHTTPClient) belongs to the store: call `shutdown()` when done.
public final class QdrantRemoteStore: VectorStore, Sendable {
    public let baseURL: URL
    let apiKey: String?
    let client: HTTPClient
    let timeout: TimeAmount
    let maxAttempts: Int
    let logger: Logger

    /// The largest response body read (a page of points with their vectors is far smaller).
    static let maxResponseBytes = 256 * 1024 * 1024

    /// `url`: `qdrant://host:6333?api_key=K` (plain HTTP), `qdrants://…` (HTTPS), or an `http(s)://` URL.
    /// `apiKey` is used when the URL names none. `timeout` bounds connecting, each read and each call.
    public init(
        url: String,
        apiKey: String? = nil,
        timeout: TimeInterval = 10,
        maxAttempts: Int = 4,
        logger: Logger = Logger(label: "engram.qdrant")
    ) throws {
        guard var components = URLComponents(string: url), let scheme = components.scheme else {
            throw StoreError.invalidRequest("invalid Qdrant URL")
        }
        let key = components.queryItems?.first { $0.name == "api_key" || $0.name == "api-key" }?.value
        components.queryItems = nil
        switch scheme {
        case "qdrant", "http": components.scheme = "http"
        case "qdrants", "https": components.scheme = "https"
        default: throw StoreError.invalidRequest("Qdrant URL must start with qdrant://, qdrants://, http:// or https://")
        }
        if components.port == nil, scheme.hasPrefix("qdrant") { components.port = 6333 }
        guard let base = components.url else { throw StoreError.invalidRequest("invalid Qdrant URL") }
        baseURL = base
        self.apiKey = key ?? apiKey
        self.timeout = .milliseconds(Int64(timeout * 1000))
        var configuration = HTTPClient.Configuration(timeout: .init(connect: self.timeout, read: self.timeout))
        configuration.redirectConfiguration = .disallow
        // AsyncHTTPClient would keep re-dialling a refused connection until the call's deadline,
        // for every call alike; `call` retries instead, and only what is safe to send again.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.maxAttempts = maxAttempts
        self.logger = logger
    }

    /// Shuts the HTTP client down; the store makes no call afterwards.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    // MARK: - HTTP

    static func json<T: Encodable>(_ value: T) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(value))
    }

    static func escape(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? name
    }

    /// Sends a request and returns the envelope's `result`, retrying transient failures (all of
    /// them when `idempotent`, else only the answers saying Qdrant did not run the call).
    @discardableResult
    func call(
        _ method: HTTPMethod,
        _ path: String,
        query: String? = nil,
        body: JSONValue? = nil,
        idempotent: Bool = true
    ) async throws -> JSONValue {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        components.percentEncodedQuery = query
        var request = HTTPClientRequest(url: components.url!.absoluteString)
        request.method = method
        if let apiKey { request.headers.add(name: "api-key", value: apiKey) }
        if let body {
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(body)))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        var delay = 0.2
        var lastError = "no attempt"
        for attempt in 1...max(1, maxAttempts) {
            var retriable = idempotent
            do {
                let response = try await client.execute(request, timeout: timeout)
                let data = Data(try await response.body.collect(upTo: Self.maxResponseBytes).readableBytesView)
                let status = Int(response.status.code)
                let parsed = (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .null
                if (200..<300).contains(status) {
                    if case .object(let o) = parsed, let result = o["result"] { return result }
                    return parsed
                }
                let message: String
                if case .object(let o) = parsed, case .object(let s)? = o["status"], let e = s["error"]?.stringValue {
                    message = e
                } else {
                    message = "HTTP \(status)"
                }
                guard status == 429 || status >= 500 else { throw Self.mapError(status: status, message: message, path: path) }
                lastError = message
                retriable = idempotent || status == 429 || status == 503
            } catch let e as StoreError {
                throw e
            } catch {
                lastError = "\(type(of: error))"
            }
            guard retriable else { break }
            if attempt < maxAttempts {
                try await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 3)
            }
        }
        logger.error("Qdrant unavailable", metadata: ["path": "\(path)", "error": "\(lastError)"])
        throw StoreError.io("Qdrant at \(baseURL.host ?? "?") is unavailable (\(lastError))")
    }

    static func mapError(status: Int, message: String, path: String) -> StoreError {
        if status == 404, message.contains("doesn't exist") {
            let name = path.split(separator: "/").dropFirst().first.map { String($0).removingPercentEncoding ?? String($0) } ?? "?"
            return .collectionNotFound(name)
        }
        if status == 409 { return .collectionExists(message) }
        if status == 401 || status == 403 { return .io("Qdrant refused the API key (HTTP \(status))") }
        if message.contains("Vector dimension error"), let r = message.range(of: #"expected dim: (\d+), got (\d+)"#, options: .regularExpression) {
            let nums = message[r].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            if nums.count == 2 { return .dimensionMismatch(expected: nums[0], got: nums[1]) }
        }
        return .invalidRequest(message)
    }

    func collectionPath(_ name: String) -> String { "collections/" + Self.escape(name) }

    static func selectorBody(_ selector: PointSelector) throws -> [String: JSONValue] {
        switch selector {
        case let .ids(ids): return ["points": try json(ids)]
        case let .filter(f): return ["filter": try json(f)]
        }
    }

    static func point(_ value: JSONValue) throws -> (PointID, Payload?, [Float]?, Float?) {
        guard case let .object(o) = value, let idValue = o["id"] else { throw StoreError.corrupt("Qdrant returned a point without id") }
        let id = try JSONDecoder().decode(PointID.self, from: try JSONEncoder().encode(idValue))
        var payload: Payload?
        if case let .object(p)? = o["payload"] { payload = p }
        var vector: [Float]?
        switch o["vector"] {
        case let .array(items)?: vector = items.compactMap { $0.number.map(Float.init) }
        case let .object(named)?:
            if case let .array(items)? = named[""] ?? named.values.first { vector = items.compactMap { $0.number.map(Float.init) } }
        default: break
        }
        return (id, payload, vector, o["score"]?.number.map(Float.init))
    }

    // MARK: - Collections

    public func createCollection(_ config: CollectionConfig) async throws {
        // Not idempotent: once Qdrant created it, a second call is refused as existing.
        try await call(
            .PUT,
            collectionPath(config.name),
            body: .object([
                "vectors": .object(["size": .int(Int64(config.vectorSize)), "distance": .string(config.distance.rawValue)])
            ]),
            idempotent: false
        )
        if let key = config.tenantKey {
            try await call(
                .PUT,
                collectionPath(config.name) + "/index",
                query: "wait=true",
                body: .object([
                    "field_name": .string(key), "field_schema": .object(["type": "keyword", "is_tenant": true]),
                ])
            )
        }
    }

    @discardableResult
    public func deleteCollection(_ name: String) async throws -> Bool {
        do {
            return try await call(.DELETE, collectionPath(name)) == .bool(true)
        } catch StoreError.collectionNotFound { return false }
    }

    public func collectionInfo(_ name: String) async throws -> CollectionInfo {
        let r = try await call(.GET, collectionPath(name))
        var size = 0
        var distance = Distance.cosine
        if case let .object(v)? = r["config"]?["params"]?["vectors"] {
            size = Int(v["size"]?.number ?? 0)
            distance = v["distance"]?.stringValue.flatMap(Distance.init(rawValue:)) ?? .cosine
        }
        var tenantKey: String?
        if case let .object(schema)? = r["payload_schema"] {
            tenantKey = schema.first { $0.value["params"]?["is_tenant"] == .bool(true) }?.key
        }
        let count = Int(r["points_count"]?.number ?? 0)
        return CollectionInfo(
            config: CollectionConfig(name: name, vectorSize: size, distance: distance, tenantKey: tenantKey),
            pointsCount: count,
            shardCount: 1
        )
    }

    public func listCollections() async throws -> [CollectionConfig] {
        let r = try await call(.GET, "collections")
        guard case let .array(items)? = r["collections"] else { return [] }
        var out: [CollectionConfig] = []
        for item in items {
            guard let name = item["name"]?.stringValue else { continue }
            out.append(try await collectionInfo(name).config)
        }
        return out.sorted { $0.name < $1.name }
    }

    // MARK: - Points

    public func upsert(_ collection: String, points: [PointStruct]) async throws {
        guard !points.isEmpty else { return }
        let body: [JSONValue] = points.map { p in
            .object([
                "id": (try? Self.json(p.id)) ?? .null, "vector": .array(p.vector.map { .double(Double($0)) }),
                "payload": .object(p.payload),
            ])
        }
        try await call(.PUT, collectionPath(collection) + "/points", query: "wait=true", body: .object(["points": .array(body)]))
    }

    public func retrieve(_ collection: String, ids: [PointID], withPayload: Bool, withVector: Bool) async throws -> [Record] {
        guard !ids.isEmpty else { return [] }
        let r = try await call(
            .POST,
            collectionPath(collection) + "/points",
            body: .object([
                "ids": try Self.json(ids), "with_payload": .bool(withPayload), "with_vector": .bool(withVector),
            ])
        )
        guard case let .array(items) = r else { return [] }
        var byID: [PointID: Record] = [:]
        for item in items {
            let (id, payload, vector, _) = try Self.point(item)
            byID[id] = Record(id: id, payload: withPayload ? (payload ?? [:]) : nil, vector: withVector ? vector : nil)
        }
        var seen = Set<PointID>()
        return ids.compactMap { id in seen.insert(id).inserted ? byID[id] : nil }
    }

    @discardableResult
    public func delete(_ collection: String, _ selector: PointSelector) async throws -> Int {
        let existing: Int
        switch selector {
        case let .ids(ids): existing = try await retrieve(collection, ids: ids, withPayload: false, withVector: false).count
        case let .filter(f): existing = try await count(collection, filter: f)
        }
        try await call(.POST, collectionPath(collection) + "/points/delete", query: "wait=true", body: .object(try Self.selectorBody(selector)))
        return existing
    }

    func queryBody(_ r: SearchRequest) throws -> JSONValue {
        var o: [String: JSONValue] = [
            "query": .array(r.vector.map { .double(Double($0)) }), "limit": .int(Int64(r.limit)), "offset": .int(Int64(r.offset)),
            "with_payload": .bool(r.withPayload), "with_vector": .bool(r.withVector),
        ]
        if let f = r.filter, !f.isEmpty { o["filter"] = try Self.json(f) }
        if let t = r.scoreThreshold { o["score_threshold"] = .double(Double(t)) }
        return .object(o)
    }

    func scored(_ result: JSONValue, _ r: SearchRequest) throws -> [ScoredPoint] {
        guard case let .array(items)? = result["points"] else { return [] }
        return try items.map { item in
            let (id, payload, vector, score) = try Self.point(item)
            return ScoredPoint(id: id, score: score ?? 0, payload: r.withPayload ? (payload ?? [:]) : nil, vector: r.withVector ? vector : nil)
        }
    }

    public func search(_ collection: String, _ request: SearchRequest) async throws -> [ScoredPoint] {
        guard request.limit > 0 else { return [] }
        return try scored(try await call(.POST, collectionPath(collection) + "/points/query", body: try queryBody(request)), request)
    }

    public func search(_ collection: String, batch: [SearchRequest]) async throws -> [[ScoredPoint]] {
        guard !batch.isEmpty else { return [] }
        let r = try await call(
            .POST,
            collectionPath(collection) + "/points/query/batch",
            body: .object(["searches": .array(try batch.map(queryBody))])
        )
        guard case let .array(results) = r else { return [] }
        return try zip(results, batch).map { try scored($0, $1) }
    }

    public func scroll(_ collection: String, _ request: ScrollRequest) async throws -> ScrollResult {
        var o: [String: JSONValue] = [
            "limit": .int(Int64(request.limit)), "with_payload": .bool(request.withPayload),
            "with_vector": .bool(request.withVector),
        ]
        if let f = request.filter, !f.isEmpty { o["filter"] = try Self.json(f) }
        if let offset = request.offset { o["offset"] = try Self.json(offset) }
        let r = try await call(.POST, collectionPath(collection) + "/points/scroll", body: .object(o))
        var points: [Record] = []
        if case let .array(items)? = r["points"] {
            for item in items {
                let (id, payload, vector, _) = try Self.point(item)
                points.append(Record(id: id, payload: request.withPayload ? (payload ?? [:]) : nil, vector: request.withVector ? vector : nil))
            }
        }
        var next: PointID?
        if let n = r["next_page_offset"], n != .null {
            next = try JSONDecoder().decode(PointID.self, from: try JSONEncoder().encode(n))
        }
        return ScrollResult(points: points, nextPageOffset: next)
    }

    public func count(_ collection: String, filter: Filter?) async throws -> Int {
        var o: [String: JSONValue] = ["exact": true]
        if let filter, !filter.isEmpty { o["filter"] = try Self.json(filter) }
        return Int(try await call(.POST, collectionPath(collection) + "/points/count", body: .object(o))["count"]?.number ?? 0)
    }

    // MARK: - Payload

    // The server applies its own rule to ids that do not exist (Qdrant: a 404, nothing written),
    // whatever `requireAll` says.

    public func setPayload(
        _ collection: String,
        payload: Payload,
        key: String?,
        _ selector: PointSelector,
        requireAll: Bool = false
    ) async throws {
        var o = try Self.selectorBody(selector)
        o["payload"] = .object(payload)
        if let key { o["key"] = .string(key) }
        try await call(.POST, collectionPath(collection) + "/points/payload", query: "wait=true", body: .object(o))
    }

    public func overwritePayload(
        _ collection: String,
        payload: Payload,
        _ selector: PointSelector,
        requireAll: Bool = false
    ) async throws {
        var o = try Self.selectorBody(selector)
        o["payload"] = .object(payload)
        try await call(.PUT, collectionPath(collection) + "/points/payload", query: "wait=true", body: .object(o))
    }

    public func deletePayloadKeys(
        _ collection: String,
        keys: [String],
        _ selector: PointSelector,
        requireAll: Bool = false
    ) async throws {
        var o = try Self.selectorBody(selector)
        o["keys"] = .array(keys.map { .string($0) })
        try await call(.POST, collectionPath(collection) + "/points/payload/delete", query: "wait=true", body: .object(o))
    }

    public func clearPayload(_ collection: String, _ selector: PointSelector, requireAll: Bool = false) async throws {
        try await call(
            .POST,
            collectionPath(collection) + "/points/payload/clear",
            query: "wait=true",
            body: .object(try Self.selectorBody(selector))
        )
    }
}
