/// Similarity function of a collection.
public enum Distance: String, Sendable, Codable, CaseIterable {
    /// Cosine similarity: vectors are L2-normalised on write and compared by dot product.
    case cosine = "Cosine"
    /// Raw dot product.
    case dot = "Dot"
}

/// A collection's configuration.
public struct CollectionConfig: Sendable, Hashable {
    /// Unique name.
    public var name: String
    /// Length of every vector.
    public var vectorSize: Int
    /// Similarity function.
    public var distance: Distance
    /// Payload field whose string value partitions points into per-tenant shards
    /// (Qdrant's `is_tenant` keyword index). A search whose filter pins this field
    /// scans only the matching shards.
    public var tenantKey: String?
    /// Named sparse vectors (Qdrant's `sparse_vectors`), e.g. mem0's `bm25` with the IDF modifier.
    /// Empty for the default single-dense-vector collections.
    public var sparseVectors: [String: SparseVectorParams]

    public init(
        name: String,
        vectorSize: Int,
        distance: Distance = .cosine,
        tenantKey: String? = nil,
        sparseVectors: [String: SparseVectorParams] = [:]
    ) {
        self.name = name
        self.vectorSize = vectorSize
        self.distance = distance
        self.tenantKey = tenantKey
        self.sparseVectors = sparseVectors
    }
}

extension CollectionConfig: Codable {
    enum CodingKeys: String, CodingKey {
        case name, vectorSize, distance, tenantKey, sparseVectors
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        vectorSize = try c.decode(Int.self, forKey: .vectorSize)
        distance = try c.decode(Distance.self, forKey: .distance)
        tenantKey = try c.decodeIfPresent(String.self, forKey: .tenantKey)
        sparseVectors = try c.decodeIfPresent([String: SparseVectorParams].self, forKey: .sparseVectors) ?? [:]
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(vectorSize, forKey: .vectorSize)
        try c.encode(distance, forKey: .distance)
        try c.encodeIfPresent(tenantKey, forKey: .tenantKey)
        if !sparseVectors.isEmpty { try c.encode(sparseVectors, forKey: .sparseVectors) }
    }
}

/// A collection's configuration and size.
public struct CollectionInfo: Sendable, Hashable {
    public var config: CollectionConfig
    public var pointsCount: Int
    /// Number of in-memory shards (distinct tenant values).
    public var shardCount: Int

    public init(config: CollectionConfig, pointsCount: Int, shardCount: Int) {
        self.config = config
        self.pointsCount = pointsCount
        self.shardCount = shardCount
    }
}

/// A point to write: id, vector and payload.
public struct PointStruct: Sendable, Hashable {
    public var id: PointID
    public var vector: [Float]
    public var payload: Payload
    /// Named sparse vectors; each name must be one of the collection's `sparseVectors`.
    public var sparseVectors: [String: SparseVector]

    public init(id: PointID, vector: [Float], payload: Payload = [:], sparseVectors: [String: SparseVector] = [:]) {
        self.id = id
        self.vector = vector
        self.payload = payload
        self.sparseVectors = sparseVectors
    }
}

/// A point as read back.
public struct Record: Sendable, Hashable {
    public var id: PointID
    public var payload: Payload?
    public var vector: [Float]?
    /// The point's sparse vectors, filled when vectors were requested and the collection has any.
    public var sparseVectors: [String: SparseVector]? = nil

    public init(id: PointID, payload: Payload?, vector: [Float]?, sparseVectors: [String: SparseVector]? = nil) {
        self.id = id
        self.payload = payload
        self.vector = vector
        self.sparseVectors = sparseVectors
    }
}

/// A search hit.
public struct ScoredPoint: Sendable, Hashable {
    public var id: PointID
    public var score: Float
    public var payload: Payload?
    public var vector: [Float]?
    /// The point's sparse vectors, filled when vectors were requested and the collection has any.
    public var sparseVectors: [String: SparseVector]? = nil

    public init(
        id: PointID,
        score: Float,
        payload: Payload? = nil,
        vector: [Float]? = nil,
        sparseVectors: [String: SparseVector]? = nil
    ) {
        self.id = id
        self.score = score
        self.payload = payload
        self.vector = vector
        self.sparseVectors = sparseVectors
    }
}

/// Which points a payload or delete operation applies to.
public enum PointSelector: Sendable, Hashable {
    case ids([PointID])
    case filter(Filter)
}

/// A nearest-neighbour query.
public struct SearchRequest: Sendable, Hashable {
    public var vector: [Float]
    public var filter: Filter?
    public var limit: Int
    public var offset: Int
    /// Results scoring below this are dropped.
    public var scoreThreshold: Float?
    public var withPayload: Bool
    public var withVector: Bool

    public init(
        vector: [Float],
        filter: Filter? = nil,
        limit: Int = 10,
        offset: Int = 0,
        scoreThreshold: Float? = nil,
        withPayload: Bool = true,
        withVector: Bool = false
    ) {
        self.vector = vector
        self.filter = filter
        self.limit = limit
        self.offset = offset
        self.scoreThreshold = scoreThreshold
        self.withPayload = withPayload
        self.withVector = withVector
    }
}

/// A page of points in id order.
public struct ScrollRequest: Sendable, Hashable {
    public var filter: Filter?
    public var limit: Int
    /// Inclusive start id (the previous page's `nextPageOffset`).
    public var offset: PointID?
    public var withPayload: Bool
    public var withVector: Bool

    public init(
        filter: Filter? = nil,
        limit: Int = 10,
        offset: PointID? = nil,
        withPayload: Bool = true,
        withVector: Bool = false
    ) {
        self.filter = filter
        self.limit = limit
        self.offset = offset
        self.withPayload = withPayload
        self.withVector = withVector
    }
}

/// A scroll page and the id to start the next one from (`nil` at the end).
public struct ScrollResult: Sendable, Hashable {
    public var points: [Record]
    public var nextPageOffset: PointID?

    public init(points: [Record], nextPageOffset: PointID?) {
        self.points = points
        self.nextPageOffset = nextPageOffset
    }
}
