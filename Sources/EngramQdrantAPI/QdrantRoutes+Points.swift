import EngramCore
import EngramStore
import EngramStoreModel
import Hummingbird

extension QdrantRoutes {
    /// Point writes (upsert, delete, vectors, payload edits) and point lookups by id.
    func registerPointRoutes(on router: Router<Context>) {
        router.put("collections/{name}/points") { r, c in await run(r, c, body: true) { try await upsert($0) } }
        router.post("collections/{name}/points") { r, c in await run(r, c, body: true) { try await retrieve($0) } }
        router.get("collections/{name}/points/{id}") { r, c in await run(r, c) { a in try await getPoint(a, id: try c.parameters.require("id")) } }
        router.post("collections/{name}/points/delete") { r, c in await run(r, c, body: true) { try await deletePoints($0) } }
        router.put("collections/{name}/points/vectors") { r, c in await run(r, c, body: true) { try await updateVectors($0) } }
        router.post("collections/{name}/points/payload") { r, c in await run(r, c, body: true) { try await setPayload($0, overwrite: false) } }
        router.put("collections/{name}/points/payload") { r, c in await run(r, c, body: true) { try await setPayload($0, overwrite: true) } }
        router.post("collections/{name}/points/payload/delete") { r, c in await run(r, c, body: true) { try await deletePayload($0) } }
        router.post("collections/{name}/points/payload/clear") { r, c in await run(r, c, body: true) { try await clearPayload($0) } }
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
                guard list.count == ids.count else {
                    throw QdrantError.wrongInput("number of vectors (\(list.count)) != number of ids (\(ids.count))")
                }
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
                guard list.count == ids.count else {
                    throw QdrantError.wrongInput("number of payloads (\(list.count)) != number of ids (\(ids.count))")
                }
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
                points.append(
                    PointStruct(
                        id: try Wire.pointID(idValue),
                        vector: dense ?? [],
                        payload: try Wire.payload(Wire.field(p, "payload")),
                        sparseVectors: sparse
                    )
                )
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
        let excluded = configuration.readExclusion?.collection == a.name
        var records = try await store.retrieve(a.name, ids: ids, withPayload: payload.wantsPayload || excluded, withVector: vector.wantsVectors)
        if excluded { records.removeAll { configuration.readExclusion!.hides($0.payload, collection: a.name) } }
        let named = !config.sparseVectors.isEmpty
        return .array(records.map { Wire.record($0, named: named, payload: payload, vector: vector) })
    }

    func getPoint(_ a: Args, id raw: String) async throws -> JSONValue {
        let config = try await info(a.name).config
        let id: PointID
        if let n = UInt64(raw) {
            id = .number(n)
        } else if let u = PointID(string: raw), case .uuid = u {
            id = u
        } else {
            throw QdrantError.badRequest("Unable to parse point id \(raw)")
        }
        guard let r = try await store.retrieve(a.name, ids: [id], withPayload: true, withVector: true).first,
            configuration.readExclusion?.hides(r.payload, collection: a.name) != true
        else {
            throw QdrantError(.notFound, "Not found: Point with id \(id) does not exists!")
        }
        return Wire.record(r, named: !config.sparseVectors.isEmpty, payload: .all, vector: .all)
    }
}
