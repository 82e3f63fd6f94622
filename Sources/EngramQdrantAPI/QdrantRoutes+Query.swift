import EngramCore
import EngramStore
import EngramStoreModel
import Hummingbird

extension QdrantRoutes {
    /// Scroll, count, query and the legacy search, single and batched.
    func registerQueryRoutes(on router: Router<Context>) {
        router.post("collections/{name}/points/scroll") { r, c in await run(r, c, body: true) { try await scroll($0) } }
        router.post("collections/{name}/points/count") { r, c in await run(r, c, body: true) { try await count($0) } }
        router.post("collections/{name}/points/query") { r, c in
            await run(r, c, body: true) { a in try await queryResult(a.name, a.body) }
        }
        router.post("collections/{name}/points/query/batch") { r, c in await run(r, c, body: true) { try await queryBatch($0) } }
        router.post("collections/{name}/points/search") { r, c in await run(r, c, body: true) { a in try await legacySearch(a.name, a.body) } }
        router.post("collections/{name}/points/search/batch") { r, c in await run(r, c, body: true) { try await legacySearchBatch($0) } }
    }

    func scroll(_ a: Args) async throws -> JSONValue {
        let config = try await info(a.name).config
        if Wire.field(a.body, "order_by") != nil { throw QdrantError.wrongInput("order_by is not supported by Engram") }
        let payload = try Wire.payloadSelector(Wire.field(a.body, "with_payload"), default: true)
        let vector = try Wire.vectorSelector(Wire.field(a.body, "with_vector"), default: false)
        let offset = try Wire.field(a.body, "offset").map(Wire.pointID)
        let page = try await store.scroll(
            a.name,
            ScrollRequest(
                filter: visible(try Wire.filter(a.body), a.name),
                limit: try Wire.int(a.body, "limit") ?? 10,
                offset: offset,
                withPayload: payload.wantsPayload,
                withVector: vector.wantsVectors
            )
        )
        let named = !config.sparseVectors.isEmpty
        return .object([
            "points": .array(page.points.map { Wire.record($0, named: named, payload: payload, vector: vector) }),
            "next_page_offset": page.nextPageOffset.map(Wire.id) ?? .null,
        ])
    }

    func count(_ a: Args) async throws -> JSONValue {
        .object(["count": .int(Int64(try await store.count(a.name, filter: visible(try Wire.filter(a.body), a.name))))])
    }

    /// `filter` with the points no read returns left out (`QdrantAPIConfiguration.readExclusion`).
    func visible(_ filter: Filter?, _ collection: String) -> Filter? {
        configuration.readExclusion?.apply(filter, collection: collection) ?? filter
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

        /// The common fields of a query or search body (`filter`, `limit`, `offset`, `score_threshold`,
        /// `with_payload`, `with_vector`) around a resolved query vector.
        init(_ body: Body, vector: QueryVector, exclude: PointID?) throws {
            self.vector = vector
            self.exclude = exclude
            filter = try Wire.filter(body)
            limit = try Wire.int(body, "limit") ?? 10
            offset = try Wire.int(body, "offset") ?? 0
            threshold = try Wire.float(body, "score_threshold")
            payload = try Wire.payloadSelector(Wire.field(body, "with_payload"), default: false)
            vectors = try Wire.vectorSelector(Wire.field(body, "with_vector"), default: false)
        }
    }

    /// Resolves `query` / `vector` + `using` against the collection's vectors.
    func queryVector(_ q: JSONValue?, using: String?, config: CollectionConfig, collection: String) async throws -> (QueryVector, PointID?) {
        guard var q, !q.isNull else { return (.none, nil) }
        if case let .object(o) = q, let nearest = o["nearest"] { q = nearest }
        if case let .object(o) = q,
            o["recommend"] != nil || o["fusion"] != nil || o["discover"] != nil || o["context"] != nil
                || o["order_by"] != nil || o["formula"] != nil || o["sample"] != nil
        {
            throw QdrantError.wrongInput("only `nearest` queries are supported by Engram")
        }
        let name = using ?? ""
        switch q {
        case .array:
            guard name.isEmpty else {
                throw QdrantError.wrongInput(
                    config.sparseVectors[name] != nil
                        ? "vector `\(name)` is sparse: query it with {indices, values}" : "Not existing vector name error: \(name)"
                )
            }
            return (.dense(try Wire.dense(q)), nil)
        case .object where Wire.isSparse(q):
            guard config.sparseVectors[name] != nil else {
                throw QdrantError.wrongInput(
                    name.isEmpty
                        ? "a sparse query needs `using`: the sparse vector's name"
                        : "Not existing vector name error: \(name)"
                )
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

    func execute(_ collection: String, _ search: Search) async throws -> [ScoredPoint] {
        var s = search
        s.filter = visible(s.filter, collection)
        let extra = s.exclude == nil ? 0 : 1
        var hits: [ScoredPoint]
        switch s.vector {
        case let .dense(v):
            hits = try await store.search(
                collection,
                SearchRequest(
                    vector: v,
                    filter: s.filter,
                    limit: s.limit + s.offset + extra,
                    offset: 0,
                    scoreThreshold: s.threshold,
                    withPayload: s.payload.wantsPayload,
                    withVector: s.vectors.wantsVectors
                )
            )
        case let .sparse(name, v):
            hits = try await store.searchSparse(
                collection,
                SparseSearchRequest(
                    using: name,
                    vector: v,
                    filter: s.filter,
                    limit: s.limit + s.offset + extra,
                    offset: 0,
                    scoreThreshold: s.threshold,
                    withPayload: s.payload.wantsPayload,
                    withVector: s.vectors.wantsVectors
                )
            )
        case .none:
            let page = try await store.scroll(
                collection,
                ScrollRequest(
                    filter: s.filter,
                    limit: s.limit + s.offset,
                    withPayload: s.payload.wantsPayload,
                    withVector: s.vectors.wantsVectors
                )
            )
            hits = page.points.map { ScoredPoint(id: $0.id, score: 0, payload: $0.payload, vector: $0.vector, sparseVectors: $0.sparseVectors) }
        }
        if let ex = s.exclude { hits.removeAll { $0.id == ex } }
        if let t = s.threshold { hits.removeAll { $0.score <= t } }
        return Array(hits.dropFirst(s.offset).prefix(s.limit))
    }

    func parseQuery(_ collection: String, _ body: Body, config: CollectionConfig) async throws -> Search {
        if Wire.field(body, "prefetch") != nil { throw QdrantError.wrongInput("prefetch is not supported by Engram") }
        let (vector, exclude) = try await queryVector(
            Wire.field(body, "query"),
            using: Wire.field(body, "using")?.stringValue,
            config: config,
            collection: collection
        )
        return try Search(body, vector: vector, exclude: exclude)
    }

    func queryResult(_ collection: String, _ body: Body) async throws -> JSONValue {
        let config = try await info(collection).config
        let s = try await parseQuery(collection, body, config: config)
        let named = !config.sparseVectors.isEmpty
        return .object([
            "points": .array(
                try await execute(collection, s).map {
                    Wire.scored($0, named: named, payload: s.payload, vector: s.vectors)
                }
            )
        ])
    }

    func queryBatch(_ a: Args) async throws -> JSONValue {
        try await batch(a) { try await queryResult($0, $1) }
    }

    /// `{"searches": [...]}`: runs `each` on every search of the batch, in order.
    func batch(_ a: Args, _ each: (String, Body) async throws -> JSONValue) async throws -> JSONValue {
        _ = try await info(a.name)
        guard case let .array(list)? = Wire.field(a.body, "searches") else { throw QdrantError.format("missing field `searches`") }
        var results: [JSONValue] = []
        for item in list {
            guard case let .object(o) = item else { throw QdrantError.format("each search must be an object") }
            results.append(try await each(a.name, o))
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
        let s = try Search(body, vector: qv, exclude: nil)
        let named = !config.sparseVectors.isEmpty
        return .array(try await execute(collection, s).map { Wire.scored($0, named: named, payload: s.payload, vector: s.vectors) })
    }

    func legacySearchBatch(_ a: Args) async throws -> JSONValue {
        try await batch(a) { try await legacySearch($0, $1) }
    }
}
