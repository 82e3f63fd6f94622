import EngramCore
import EngramStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The route handlers. Each returns the `result` of Qdrant's envelope; `run` wraps it and
/// maps errors to Qdrant's status codes and texts.
struct QdrantRoutes: Sendable {
    let store: EmbeddedStore
    let configuration: QdrantAPIConfiguration
    var secrets: SecretGuard { SecretGuard(validate: configuration.memoryPayloadProblem) }

    typealias Body = [String: JSONValue]
    typealias Context = QdrantRequestContext

    func register(on router: Router<Context>) {
        router.get("/") { _, _ in
            Envelope.json(.object(["title": "qdrant - vector search engine", "version": .string(QdrantAPI.emulatedVersion)]))
        }
        for check in ["healthz", "livez", "readyz"] {
            router.get(RouterPath(check)) { _, _ in Envelope.text("\(check) check passed", status: .ok) }
        }
        // Collections
        router.get("collections") { r, c in await run(r, c) { _ in try await listCollections() } }
        router.get("collections/{name}") { r, c in await run(r, c) { try await getCollection($0.name) } }
        router.get("collections/{name}/exists") { r, c in await run(r, c) { .object(["exists": .bool(try await exists($0.name))]) } }
        router.put("collections/{name}") { r, c in await run(r, c, body: true) { try await createCollection($0.name, $0.body) } }
        router.patch("collections/{name}") { r, c in await run(r, c, body: true) { a in _ = try await info(a.name); return true } }
        router.delete("collections/{name}") { r, c in await run(r, c) { .bool(try await store.deleteCollection($0.name)) } }
        router.put("collections/{name}/index") { r, c in await run(r, c, body: true) { try await createIndex($0) } }
        router.delete("collections/{name}/index/{field}") { r, c in
            await run(r, c) { a in
                _ = try await store.deletePayloadIndex(a.name, field: try c.parameters.require("field"))
                return Envelope.update(wait: a.wait)
            }
        }
        // Points
        router.put("collections/{name}/points") { r, c in await run(r, c, body: true) { try await upsert($0) } }
        router.post("collections/{name}/points") { r, c in await run(r, c, body: true) { try await retrieve($0) } }
        router.get("collections/{name}/points/{id}") { r, c in await run(r, c) { a in try await getPoint(a, id: try c.parameters.require("id")) } }
        router.post("collections/{name}/points/delete") { r, c in await run(r, c, body: true) { try await deletePoints($0) } }
        router.put("collections/{name}/points/vectors") { r, c in await run(r, c, body: true) { try await updateVectors($0) } }
        router.post("collections/{name}/points/payload") { r, c in await run(r, c, body: true) { try await setPayload($0, overwrite: false) } }
        router.put("collections/{name}/points/payload") { r, c in await run(r, c, body: true) { try await setPayload($0, overwrite: true) } }
        router.post("collections/{name}/points/payload/delete") { r, c in await run(r, c, body: true) { try await deletePayload($0) } }
        router.post("collections/{name}/points/payload/clear") { r, c in await run(r, c, body: true) { try await clearPayload($0) } }
        router.post("collections/{name}/points/scroll") { r, c in await run(r, c, body: true) { try await scroll($0) } }
        router.post("collections/{name}/points/count") { r, c in await run(r, c, body: true) { try await count($0) } }
        router.post("collections/{name}/points/query") { r, c in
            await run(r, c, body: true) { a in try await queryResult(a.name, a.body) }
        }
        router.post("collections/{name}/points/query/batch") { r, c in await run(r, c, body: true) { try await queryBatch($0) } }
        router.post("collections/{name}/points/search") { r, c in await run(r, c, body: true) { a in try await legacySearch(a.name, a.body) } }
        router.post("collections/{name}/points/search/batch") { r, c in await run(r, c, body: true) { try await legacySearchBatch($0) } }
        // Snapshots
        router.post("collections/{name}/snapshots") { r, c in await run(r, c) { try await createSnapshot($0.name) } }
        router.get("collections/{name}/snapshots") { r, c in await run(r, c) { try await listSnapshots($0.name) } }
        router.delete("collections/{name}/snapshots/{snapshot}") { r, c in
            await run(r, c) { a in try await deleteSnapshot(a.name, try c.parameters.require("snapshot")) }
        }
        router.get("collections/{name}/snapshots/{snapshot}") { r, c in await downloadSnapshot(r, c) }
        router.put("collections/{name}/snapshots/recover") { r, c in await run(r, c, body: true) { try await recoverSnapshot($0) } }
        router.post("collections/{name}/snapshots/upload") { r, c in await uploadSnapshot(r, c) }
    }

    // MARK: - Plumbing

    struct Args {
        let name: String
        let body: Body
        let wait: Bool
    }

    /// Reads the path, query and (optionally) JSON body, runs `handler` and answers in Qdrant's envelope.
    func run(_ request: Request, _ context: Context, body readBody: Bool = false,
             _ handler: (Args) async throws -> JSONValue) async -> Response {
        let start = ContinuousClock.now
        do {
            var body: Body = [:]
            if readBody {
                let buffer: ByteBuffer
                do { buffer = try await request.body.collect(upTo: configuration.maxBodyBytes) } catch {
                    throw QdrantError(.contentTooLarge, "Payload error: request body is larger than \(configuration.maxBodyBytes) bytes")
                }
                if buffer.readableBytes > 0 {
                    let value: JSONValue
                    do { value = try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)) } catch {
                        throw QdrantError.format("request body is not valid JSON")
                    }
                    switch value {
                    case let .object(o): body = o
                    case .null: break
                    default: throw QdrantError.format("request body must be a JSON object")
                    }
                }
            }
            let name = context.parameters.get("name") ?? ""
            let wait = request.uri.queryParameters["wait"].map { $0 == "true" } ?? false
            return Envelope.ok(try await handler(Args(name: name, body: body, wait: wait)), start: start)
        } catch {
            return Envelope.error(Self.map(error), start: start)
        }
    }

    static func map(_ error: any Error) -> QdrantError {
        switch error {
        case let e as QdrantError: return e
        case let e as StoreError: return QdrantError.from(e)
        case let e as DecodingError: return QdrantError.format(Wire.describe(e))
        default: return QdrantError(.internalServerError, "Service internal error: \(type(of: error))")
        }
    }

    func info(_ name: String) async throws -> CollectionInfo { try await store.collectionInfo(name) }

    func exists(_ name: String) async throws -> Bool {
        do { _ = try await info(name); return true } catch StoreError.collectionNotFound { return false }
    }

    // MARK: - Collections

    func listCollections() async throws -> JSONValue {
        let names = try await store.collectionNames()
        return .object(["collections": .array(names.map { .object(["name": .string($0)]) })])
    }

    func getCollection(_ name: String) async throws -> JSONValue {
        let info = try await info(name)
        let config = info.config
        var params: Body = [
            "vectors": .object(["size": .int(Int64(config.vectorSize)), "distance": .string(config.distance.rawValue)]),
            "shard_number": 1, "replication_factor": 1, "write_consistency_factor": 1, "on_disk_payload": true,
        ]
        if !config.sparseVectors.isEmpty {
            params["sparse_vectors"] = .object(config.sparseVectors.mapValues { p in
                p.modifier == .idf ? .object(["modifier": "idf"]) : .object([:])
            })
        }
        var schema: Body = [:]
        for (field, def) in try await store.payloadIndexes(name) {
            var entry: Body = [:]
            switch def {
            case let .string(t): entry["data_type"] = .string(t)
            case let .object(o):
                entry["data_type"] = o["type"] ?? "keyword"
                entry["params"] = def
            default: entry["data_type"] = "keyword"
            }
            entry["points"] = .int(Int64(try await store.count(name, filter: Filter(mustNot: [.isEmpty(key: field)]))))
            schema[field] = .object(entry)
        }
        return .object([
            "status": "green", "optimizer_status": "ok", "indexed_vectors_count": 0,
            "points_count": .int(Int64(info.pointsCount)), "segments_count": .int(Int64(max(1, info.shardCount))),
            "config": .object([
                "params": .object(params),
                "hnsw_config": .object(["m": 16, "ef_construct": 100, "full_scan_threshold": 10000, "max_indexing_threads": 0,
                                        "on_disk": false]),
                "optimizer_config": .object(["deleted_threshold": 0.2, "vacuum_min_vector_number": 1000, "default_segment_number": 0,
                                             "indexing_threshold": 20000, "flush_interval_sec": 5, "max_optimization_threads": 1]),
                "wal_config": .object(["wal_capacity_mb": 32, "wal_segments_ahead": 0, "wal_retain_closed": 1]),
                "quantization_config": .null,
            ]),
            "payload_schema": .object(schema),
        ])
    }

    func createCollection(_ name: String, _ body: Body) async throws -> JSONValue {
        guard let vectors = Wire.object(Wire.field(body, "vectors")) else {
            throw QdrantError.wrongInput("Engram collections need one dense vector: `vectors: {size, distance}`")
        }
        var params = vectors
        if params["size"] == nil {
            // Named form: only the unnamed ("") dense vector is supported.
            guard params.count == 1, let only = Wire.object(params[""]) else {
                throw QdrantError.wrongInput("Engram supports one unnamed dense vector (`vectors: {size, distance}`) plus named sparse vectors")
            }
            params = only
        }
        guard let size = try Wire.int(params, "size"), size > 0 else { throw QdrantError.format("vectors.size must be a positive integer") }
        let distanceName = Wire.field(params, "distance")?.stringValue ?? ""
        guard let distance = Distance(rawValue: distanceName) else {
            if ["Euclid", "Manhattan"].contains(distanceName) {
                throw QdrantError.wrongInput("distance \(distanceName) is not supported by Engram (use Cosine or Dot)")
            }
            throw QdrantError.format("unknown variant `\(distanceName)`, expected one of `Cosine`, `Euclid`, `Dot`, `Manhattan`")
        }
        var sparse: [String: SparseVectorParams] = [:]
        if let sv = Wire.object(Wire.field(body, "sparse_vectors")) {
            for (k, v) in sv {
                let modifier = Wire.object(v).flatMap { Wire.field($0, "modifier")?.stringValue } ?? "none"
                guard let m = SparseModifier(rawValue: modifier) else { throw QdrantError.format("unknown sparse modifier `\(modifier)`") }
                guard !k.isEmpty else { throw QdrantError.wrongInput("sparse vector name must not be empty") }
                sparse[k] = SparseVectorParams(modifier: m)
            }
        }
        try await store.createCollection(CollectionConfig(name: name, vectorSize: size, distance: distance, sparseVectors: sparse))
        return true
    }

    func createIndex(_ a: Args) async throws -> JSONValue {
        guard let field = Wire.field(a.body, "field_name")?.stringValue else { throw QdrantError.format("missing field `field_name`") }
        let schema = Wire.field(a.body, "field_schema") ?? "keyword"
        switch schema {
        case .string, .object: break
        default: throw QdrantError.format("field_schema must be a type name or an object")
        }
        try await store.createPayloadIndex(a.name, field: field, schema: schema)
        return Envelope.update(wait: a.wait)
    }

    // MARK: - Points: writes

    /// Splits a point's `vector` into the dense vector and named sparse vectors.
    func vectors(_ v: JSONValue?, config: CollectionConfig, requireDense: Bool) throws -> ([Float]?, [String: SparseVector]) {
        guard let v, !v.isNull else {
            if requireDense { throw QdrantError.wrongInput("every point needs its dense vector") }
            return (nil, [:])
        }
        if case .array = v { return (try Wire.dense(v), [:]) }
        guard case let .object(named) = v else { throw QdrantError.format("vector must be a list of numbers or an object of named vectors") }
        var dense: [Float]?
        var sparse: [String: SparseVector] = [:]
        for (name, value) in named {
            if config.sparseVectors[name] != nil {
                guard Wire.isSparse(value) else { throw QdrantError.wrongInput("vector `\(name)` is sparse: expected {indices, values}") }
                sparse[name] = try Wire.sparse(value)
            } else if name.isEmpty {
                guard case .array = value else { throw QdrantError.wrongInput("vector `` is dense: expected a list of numbers") }
                dense = try Wire.dense(value)
            } else {
                throw QdrantError.wrongInput("Not existing vector name error: \(name)")
            }
        }
        if requireDense, dense == nil { throw QdrantError.wrongInput("Engram needs the dense vector `` on every point") }
        return (dense, sparse)
    }

    func upsert(_ a: Args) async throws -> JSONValue {
        let config = try await info(a.name).config
        var points: [PointStruct] = []
        if let batch = Wire.object(Wire.field(a.body, "batch")) {
            let ids = try Wire.pointIDs(Wire.field(batch, "ids"), key: "batch.ids")
            var perPoint: [JSONValue?] = Array(repeating: nil, count: ids.count)
            switch Wire.field(batch, "vectors") {
            case let .array(list)?:
                guard list.count == ids.count else { throw QdrantError.wrongInput("number of vectors (\(list.count)) != number of ids (\(ids.count))") }
                for i in list.indices { perPoint[i] = list[i] }
            case let .object(named)?:
                var maps: [[String: JSONValue]] = Array(repeating: [:], count: ids.count)
                for (name, value) in named {
                    guard case let .array(list) = value, list.count == ids.count else {
                        throw QdrantError.wrongInput("vectors `\(name)`: expected one vector per id")
                    }
                    for i in list.indices { maps[i][name] = list[i] }
                }
                for i in ids.indices { perPoint[i] = .object(maps[i]) }
            default: throw QdrantError.format("missing field `batch.vectors`")
            }
            var payloads: [JSONValue] = Array(repeating: .null, count: ids.count)
            if case let .array(list)? = Wire.field(batch, "payloads") {
                guard list.count == ids.count else { throw QdrantError.wrongInput("number of payloads (\(list.count)) != number of ids (\(ids.count))") }
                payloads = list
            }
            for i in ids.indices {
                let (dense, sparse) = try vectors(perPoint[i], config: config, requireDense: true)
                points.append(PointStruct(id: ids[i], vector: dense ?? [], payload: try Wire.payload(payloads[i]), sparseVectors: sparse))
            }
        } else if case let .array(list)? = Wire.field(a.body, "points") {
            for item in list {
                guard case let .object(p) = item, let idValue = Wire.field(p, "id") else { throw QdrantError.format("missing field `id`") }
                let (dense, sparse) = try vectors(Wire.field(p, "vector"), config: config, requireDense: true)
                points.append(PointStruct(id: try Wire.pointID(idValue), vector: dense ?? [],
                                          payload: try Wire.payload(Wire.field(p, "payload")), sparseVectors: sparse))
            }
        } else {
            throw QdrantError.format("expected `points` (a list of points) or `batch` (ids, vectors, payloads)")
        }
        try secrets.check(collection: a.name, points.map { ($0.id, $0.payload) })
        try await store.upsert(a.name, points: points)
        return Envelope.update(wait: a.wait)
    }

    func deletePoints(_ a: Args) async throws -> JSONValue {
        _ = try await info(a.name)
        try await store.delete(a.name, try Wire.selector(a.body))
        return Envelope.update(wait: a.wait)
    }

    func updateVectors(_ a: Args) async throws -> JSONValue {
        let config = try await info(a.name).config
        guard case let .array(list)? = Wire.field(a.body, "points") else { throw QdrantError.format("missing field `points`") }
        var updates: [PointVectorsUpdate] = []
        for item in list {
            guard case let .object(p) = item, let idValue = Wire.field(p, "id") else { throw QdrantError.format("missing field `id`") }
            let (dense, sparse) = try vectors(Wire.field(p, "vector"), config: config, requireDense: false)
            updates.append(PointVectorsUpdate(id: try Wire.pointID(idValue), vector: dense, sparseVectors: sparse))
        }
        try await store.updateVectors(a.name, updates)
        return Envelope.update(wait: a.wait)
    }

    func setPayload(_ a: Args, overwrite: Bool) async throws -> JSONValue {
        _ = try await info(a.name)
        guard let p = Wire.field(a.body, "payload") else { throw QdrantError.format("missing field `payload`") }
        let payload = try Wire.payload(p)
        let selector = try Wire.selector(a.body)
        let key = Wire.field(a.body, "key")?.stringValue
        if secrets.applies(to: a.name), key != nil {
            throw QdrantError.wrongInput("payload rejected by Engram's memory rules: nested `key` edits are not accepted in memory collections")
        }
        try secrets.check(collection: a.name, [(nil, payload)], complete: overwrite)
        if overwrite {
            try await store.overwritePayload(a.name, payload: payload, selector, requireAll: true)
        } else {
            try await store.setPayload(a.name, payload: payload, key: key, selector, requireAll: true)
        }
        return Envelope.update(wait: a.wait)
    }

    func deletePayload(_ a: Args) async throws -> JSONValue {
        _ = try await info(a.name)
        guard case let .array(k)? = Wire.field(a.body, "keys") else { throw QdrantError.format("missing field `keys`") }
        try await store.deletePayloadKeys(a.name, keys: try Wire.strings(k), try Wire.selector(a.body), requireAll: true)
        return Envelope.update(wait: a.wait)
    }

    func clearPayload(_ a: Args) async throws -> JSONValue {
        _ = try await info(a.name)
        try await store.clearPayload(a.name, try Wire.selector(a.body), requireAll: true)
        return Envelope.update(wait: a.wait)
    }

    // MARK: - Points: reads

    func retrieve(_ a: Args) async throws -> JSONValue {
        let config = try await info(a.name).config
        let ids = try Wire.pointIDs(Wire.field(a.body, "ids"), key: "ids")
        let payload = try Wire.payloadSelector(Wire.field(a.body, "with_payload"), default: true)
        let vector = try Wire.vectorSelector(Wire.field(a.body, "with_vector"), default: false)
        let records = try await store.retrieve(a.name, ids: ids, withPayload: payload.wantsPayload, withVector: vector.wantsVectors)
        let named = !config.sparseVectors.isEmpty
        return .array(records.map { Wire.record($0, named: named, payload: payload, vector: vector) })
    }

    func getPoint(_ a: Args, id raw: String) async throws -> JSONValue {
        let config = try await info(a.name).config
        let id: PointID
        if let n = UInt64(raw) { id = .number(n) } else if let u = PointID(string: raw), case .uuid = u { id = u } else {
            throw QdrantError.badRequest("Unable to parse point id \(raw)")
        }
        guard let r = try await store.retrieve(a.name, ids: [id], withPayload: true, withVector: true).first else {
            throw QdrantError(.notFound, "Not found: Point with id \(id) does not exists!")
        }
        return Wire.record(r, named: !config.sparseVectors.isEmpty, payload: .all, vector: .all)
    }

    func scroll(_ a: Args) async throws -> JSONValue {
        let config = try await info(a.name).config
        if Wire.field(a.body, "order_by") != nil { throw QdrantError.wrongInput("order_by is not supported by Engram") }
        let payload = try Wire.payloadSelector(Wire.field(a.body, "with_payload"), default: true)
        let vector = try Wire.vectorSelector(Wire.field(a.body, "with_vector"), default: false)
        let offset = try Wire.field(a.body, "offset").map(Wire.pointID)
        let page = try await store.scroll(a.name, ScrollRequest(
            filter: try Wire.filter(a.body), limit: try Wire.int(a.body, "limit") ?? 10, offset: offset,
            withPayload: payload.wantsPayload, withVector: vector.wantsVectors))
        let named = !config.sparseVectors.isEmpty
        return .object([
            "points": .array(page.points.map { Wire.record($0, named: named, payload: payload, vector: vector) }),
            "next_page_offset": page.nextPageOffset.map(Wire.id) ?? .null,
        ])
    }

    func count(_ a: Args) async throws -> JSONValue {
        .object(["count": .int(Int64(try await store.count(a.name, filter: try Wire.filter(a.body))))])
    }

    /// What a query asks for: a dense vector, a named sparse vector, or none (id order).
    enum QueryVector {
        case dense([Float])
        case sparse(String, SparseVector)
        case none
    }

    struct Search {
        var vector: QueryVector
        var exclude: PointID?
        var filter: Filter?
        var limit: Int
        var offset: Int
        var threshold: Float?
        var payload: Wire.PayloadSelector
        var vectors: Wire.VectorSelector
    }

    /// Resolves `query` / `vector` + `using` against the collection's vectors.
    func queryVector(_ q: JSONValue?, using: String?, config: CollectionConfig, collection: String) async throws -> (QueryVector, PointID?) {
        guard var q, !q.isNull else { return (.none, nil) }
        if case let .object(o) = q, let nearest = o["nearest"] { q = nearest }
        if case let .object(o) = q, o["recommend"] != nil || o["fusion"] != nil || o["discover"] != nil || o["context"] != nil
            || o["order_by"] != nil || o["formula"] != nil || o["sample"] != nil {
            throw QdrantError.wrongInput("only `nearest` queries are supported by Engram")
        }
        let name = using ?? ""
        switch q {
        case .array:
            guard name.isEmpty else {
                throw QdrantError.wrongInput(config.sparseVectors[name] != nil
                    ? "vector `\(name)` is sparse: query it with {indices, values}" : "Not existing vector name error: \(name)")
            }
            return (.dense(try Wire.dense(q)), nil)
        case .object where Wire.isSparse(q):
            guard config.sparseVectors[name] != nil else {
                throw QdrantError.wrongInput(name.isEmpty ? "a sparse query needs `using`: the sparse vector's name"
                                                          : "Not existing vector name error: \(name)")
            }
            return (.sparse(name, try Wire.sparse(q)), nil)
        case .int, .string, .double:
            let id = try Wire.pointID(q)
            guard let r = try await store.retrieve(collection, ids: [id], withPayload: false, withVector: true).first else {
                throw QdrantError(.notFound, "Not found: No point with id \(id) found")
            }
            if name.isEmpty, let v = r.vector { return (.dense(v), id) }
            if let sv = r.sparseVectors?[name] { return (.sparse(name, sv), id) }
            throw QdrantError.wrongInput("Not existing vector name error: \(name)")
        default:
            throw QdrantError.format("query must be a vector, a sparse vector, a point id or {nearest: …}")
        }
    }

    func execute(_ collection: String, _ s: Search) async throws -> [ScoredPoint] {
        let extra = s.exclude == nil ? 0 : 1
        var hits: [ScoredPoint]
        switch s.vector {
        case let .dense(v):
            hits = try await store.search(collection, SearchRequest(
                vector: v, filter: s.filter, limit: s.limit + s.offset + extra, offset: 0, scoreThreshold: s.threshold,
                withPayload: s.payload.wantsPayload, withVector: s.vectors.wantsVectors))
        case let .sparse(name, v):
            hits = try await store.searchSparse(collection, SparseSearchRequest(
                using: name, vector: v, filter: s.filter, limit: s.limit + s.offset + extra, offset: 0, scoreThreshold: s.threshold,
                withPayload: s.payload.wantsPayload, withVector: s.vectors.wantsVectors))
        case .none:
            let page = try await store.scroll(collection, ScrollRequest(
                filter: s.filter, limit: s.limit + s.offset, withPayload: s.payload.wantsPayload, withVector: s.vectors.wantsVectors))
            hits = page.points.map { ScoredPoint(id: $0.id, score: 0, payload: $0.payload, vector: $0.vector, sparseVectors: $0.sparseVectors) }
        }
        if let ex = s.exclude { hits.removeAll { $0.id == ex } }
        if let t = s.threshold { hits.removeAll { $0.score <= t } }
        return Array(hits.dropFirst(s.offset).prefix(s.limit))
    }

    func parseQuery(_ collection: String, _ body: Body, config: CollectionConfig) async throws -> Search {
        if Wire.field(body, "prefetch") != nil { throw QdrantError.wrongInput("prefetch is not supported by Engram") }
        let (vector, exclude) = try await queryVector(Wire.field(body, "query"), using: Wire.field(body, "using")?.stringValue,
                                                config: config, collection: collection)
        return Search(vector: vector, exclude: exclude, filter: try Wire.filter(body),
                      limit: try Wire.int(body, "limit") ?? 10, offset: try Wire.int(body, "offset") ?? 0,
                      threshold: try Wire.float(body, "score_threshold"),
                      payload: try Wire.payloadSelector(Wire.field(body, "with_payload"), default: false),
                      vectors: try Wire.vectorSelector(Wire.field(body, "with_vector"), default: false))
    }

    func queryResult(_ collection: String, _ body: Body) async throws -> JSONValue {
        let config = try await info(collection).config
        let s = try await parseQuery(collection, body, config: config)
        let named = !config.sparseVectors.isEmpty
        return .object(["points": .array(try await execute(collection, s).map {
            Wire.scored($0, named: named, payload: s.payload, vector: s.vectors)
        })])
    }

    func queryBatch(_ a: Args) async throws -> JSONValue {
        _ = try await info(a.name)
        guard case let .array(list)? = Wire.field(a.body, "searches") else { throw QdrantError.format("missing field `searches`") }
        var results: [JSONValue] = []
        for item in list {
            guard case let .object(o) = item else { throw QdrantError.format("each search must be an object") }
            results.append(try await queryResult(a.name, o))
        }
        return .array(results)
    }

    /// The legacy `POST /points/search` (removed from the 1.19 OpenAPI, still served by Qdrant).
    func legacySearch(_ collection: String, _ body: Body) async throws -> JSONValue {
        let config = try await info(collection).config
        guard var v = Wire.field(body, "vector") else { throw QdrantError.format("missing field `vector`") }
        var using: String?
        if case let .object(o) = v, let inner = o["vector"] {
            using = o["name"]?.stringValue
            v = inner
        } else if Wire.isSparse(v) {
            throw QdrantError.wrongInput("a sparse search needs {name, vector}")
        }
        let (qv, _) = try await queryVector(v, using: using, config: config, collection: collection)
        let s = Search(vector: qv, exclude: nil, filter: try Wire.filter(body), limit: try Wire.int(body, "limit") ?? 10,
                       offset: try Wire.int(body, "offset") ?? 0, threshold: try Wire.float(body, "score_threshold"),
                       payload: try Wire.payloadSelector(Wire.field(body, "with_payload"), default: false),
                       vectors: try Wire.vectorSelector(Wire.field(body, "with_vector"), default: false))
        let named = !config.sparseVectors.isEmpty
        return .array(try await execute(collection, s).map { Wire.scored($0, named: named, payload: s.payload, vector: s.vectors) })
    }

    func legacySearchBatch(_ a: Args) async throws -> JSONValue {
        _ = try await info(a.name)
        guard case let .array(list)? = Wire.field(a.body, "searches") else { throw QdrantError.format("missing field `searches`") }
        var results: [JSONValue] = []
        for item in list {
            guard case let .object(o) = item else { throw QdrantError.format("each search must be an object") }
            results.append(try await legacySearch(a.name, o))
        }
        return .array(results)
    }

    // MARK: - Snapshots

    static func describe(_ s: SnapshotDescription) -> JSONValue {
        var time: JSONValue = .null
        if let t = s.creationTime {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
            time = .string(f.string(from: t))
        }
        return .object(["name": .string(s.name), "creation_time": time, "size": .int(Int64(s.size)), "checksum": .null])
    }

    func createSnapshot(_ name: String) async throws -> JSONValue {
        _ = try await info(name)
        return Self.describe(try await store.createSnapshot(name))
    }

    func listSnapshots(_ name: String) async throws -> JSONValue {
        _ = try await info(name)
        return .array(try await store.listSnapshots(name).map(Self.describe))
    }

    func deleteSnapshot(_ name: String, _ snapshot: String) async throws -> JSONValue {
        guard try await store.deleteSnapshot(name, name: snapshot) else {
            throw QdrantError(.notFound, "Not found: Snapshot \(snapshot) not found")
        }
        return true
    }

    func downloadSnapshot(_ request: Request, _ context: Context) async -> Response {
        let start = ContinuousClock.now
        do {
            let name = try context.parameters.require("name")
            let snapshot = try context.parameters.require("snapshot")
            guard let url = try await store.snapshotFile(name, name: snapshot) else {
                throw QdrantError(.notFound, "Not found: Snapshot \(snapshot) not found")
            }
            let body = try await FileIO().loadFile(path: url.path, context: context)
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int
            var headers: HTTPFields = [.contentType: "application/octet-stream",
                                       .contentDisposition: "attachment; filename=\"\(snapshot)\""]
            if let size { headers[.contentLength] = String(size) }
            return Response(status: .ok, headers: headers, body: body)
        } catch {
            return Envelope.error(Self.map(error), start: start)
        }
    }

    /// Restores `name` from a snapshot file; payloads bound for a memory collection pass the secret filter.
    func restore(_ name: String, from file: URL) async throws {
        let guardian = secrets
        var validate: (@Sendable (PointID, Payload) throws -> Void)?
        if guardian.applies(to: name) {
            validate = { id, payload in try guardian.check(collection: name, [(id, payload)]) }
        }
        try await store.restoreSnapshot(name, from: file, validatePayload: validate)
    }

    /// `PUT /collections/{name}/snapshots/recover {"location": "file:///…" | "<snapshot name>"}`:
    /// only files under `DATA_DIR/snapshots` are accepted.
    func recoverSnapshot(_ a: Args) async throws -> JSONValue {
        guard let location = Wire.field(a.body, "location")?.stringValue else { throw QdrantError.format("missing field `location`") }
        let root = store.snapshotsDirectory.standardizedFileURL.resolvingSymlinksInPath().path
        var file: URL
        if location.hasPrefix("file://") {
            guard let u = URL(string: location), u.isFileURL else { throw QdrantError.badRequest("invalid snapshot location") }
            file = u
        } else if location.contains("://") {
            throw QdrantError.badRequest("Engram recovers snapshots from files under its data directory only (file://…)")
        } else if location.hasPrefix("/") {
            file = URL(fileURLWithPath: location)
        } else {
            // A bare snapshot name of this collection.
            guard let u = try await store.snapshotFile(a.name, name: location) else {
                throw QdrantError(.notFound, "Not found: Snapshot \(location) not found")
            }
            file = u
        }
        file = file.standardizedFileURL.resolvingSymlinksInPath()
        guard file.path.hasPrefix(root + "/") else {
            throw QdrantError.badRequest("snapshot location must be a file under \(store.snapshotsDirectory.path)")
        }
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw QdrantError(.notFound, "Not found: Snapshot file \(file.lastPathComponent) does not exist")
        }
        try await restore(a.name, from: file)
        return true
    }

    /// `POST /collections/{name}/snapshots/upload`: multipart form (field `snapshot`, as qdrant-client
    /// sends it) or a raw `application/octet-stream` body.
    func uploadSnapshot(_ request: Request, _ context: Context) async -> Response {
        let start = ContinuousClock.now
        let tmpDir = store.snapshotsDirectory.appendingPathComponent(".uploads", isDirectory: true)
        let raw = tmpDir.appendingPathComponent(UUID().uuidString + ".upload")
        let part = tmpDir.appendingPathComponent(UUID().uuidString + ".snapshot")
        defer {
            try? FileManager.default.removeItem(at: raw)
            try? FileManager.default.removeItem(at: part)
        }
        do {
            let name = try context.parameters.require("name")
            try FileManager.default.createDirectory(at: tmpDir, withIntermediateDirectories: true)
            guard FileManager.default.createFile(atPath: raw.path, contents: nil) else {
                throw QdrantError(.internalServerError, "Service internal error: cannot write the upload")
            }
            let handle = try FileHandle(forWritingTo: raw)
            do {
                var received = 0
                for try await buffer in request.body {
                    received += buffer.readableBytes
                    if received > configuration.maxUploadBytes {
                        throw QdrantError(.contentTooLarge, "Payload error: snapshot larger than \(configuration.maxUploadBytes) bytes")
                    }
                    try handle.write(contentsOf: Data(buffer.readableBytesView))
                }
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            let contentType = request.headers[.contentType] ?? ""
            var file = raw
            if contentType.lowercased().hasPrefix("multipart/form-data") {
                try Multipart.extractFile(from: raw, contentType: contentType, field: "snapshot", to: part)
                file = part
            }
            try await restore(name, from: file)
            return Envelope.ok(true, start: start)
        } catch {
            return Envelope.error(Self.map(error), start: start)
        }
    }
}

/// Just enough multipart/form-data to take one file field out of an uploaded body on disk.
enum Multipart {
    static func extractFile(from body: URL, contentType: String, field: String, to out: URL) throws {
        guard let b = contentType.components(separatedBy: ";").map({ $0.trimmingCharacters(in: .whitespaces) })
            .first(where: { $0.lowercased().hasPrefix("boundary=") })?.dropFirst("boundary=".count) else {
            throw QdrantError.badRequest("multipart body without boundary")
        }
        let boundary = b.hasPrefix("\"") && b.hasSuffix("\"") ? String(b.dropFirst().dropLast()) : String(b)
        let data = try Data(contentsOf: body, options: .alwaysMapped)
        let delimiter = Data(("--" + boundary).utf8)
        let crlf2 = Data("\r\n\r\n".utf8)
        var cursor = data.startIndex
        var firstFile: Range<Data.Index>?
        while let d = data.range(of: delimiter, in: cursor..<data.endIndex) {
            let headerStart = d.upperBound
            guard let headerEnd = data.range(of: crlf2, in: headerStart..<data.endIndex) else { break }
            let headers = String(decoding: data[headerStart..<headerEnd.lowerBound], as: UTF8.self)
            let contentStart = headerEnd.upperBound
            guard let next = data.range(of: Data(("\r\n--" + boundary).utf8), in: contentStart..<data.endIndex) else { break }
            let content = contentStart..<next.lowerBound
            if headers.contains("name=\"\(field)\"") { firstFile = content; break }
            if firstFile == nil, headers.contains("filename=") { firstFile = content }
            cursor = next.lowerBound
        }
        guard let range = firstFile else { throw QdrantError.badRequest("multipart body has no `\(field)` file") }
        try data[range].write(to: out)
    }
}
