import EngramCore
import EngramStore
import EngramStoreModel
import Hummingbird

extension QdrantRoutes {
    /// `GET/PUT/PATCH/DELETE /collections/{name}`, `…/exists` and the payload index routes.
    func registerCollectionRoutes(on router: Router<Context>) {
        router.get("collections") { r, c in await run(r, c) { _ in try await listCollections() } }
        router.get("collections/{name}") { r, c in await run(r, c) { try await getCollection($0.name) } }
        router.get("collections/{name}/exists") { r, c in await run(r, c) { .object(["exists": .bool(try await exists($0.name))]) } }
        router.put("collections/{name}") { r, c in await run(r, c, body: true) { try await createCollection($0.name, $0.body) } }
        router.patch("collections/{name}") { r, c in
            await run(r, c, body: true) { a in
                _ = try await info(a.name)
                return true
            }
        }
        router.delete("collections/{name}") { r, c in await run(r, c) { .bool(try await store.deleteCollection($0.name)) } }
        router.put("collections/{name}/index") { r, c in await run(r, c, body: true) { try await createIndex($0) } }
        router.delete("collections/{name}/index/{field}") { r, c in
            await run(r, c) { a in
                _ = try await store.deletePayloadIndex(a.name, field: try c.parameters.require("field"))
                return Envelope.update(wait: a.wait)
            }
        }
    }

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
            params["sparse_vectors"] = .object(
                config.sparseVectors.mapValues { p in
                    p.modifier == .idf ? .object(["modifier": "idf"]) : .object([:])
                }
            )
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
                "hnsw_config": .object([
                    "m": 16, "ef_construct": 100, "full_scan_threshold": 10000, "max_indexing_threads": 0,
                    "on_disk": false,
                ]),
                "optimizer_config": .object([
                    "deleted_threshold": 0.2, "vacuum_min_vector_number": 1000, "default_segment_number": 0,
                    "indexing_threshold": 20000, "flush_interval_sec": 5, "max_optimization_threads": 1,
                ]),
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
}
