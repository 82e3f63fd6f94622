import Foundation

/// A sparse vector: strictly increasing dimension indices and their values (Qdrant's `SparseVector`).
public struct SparseVector: Sendable, Hashable, Codable {
    public var indices: [UInt32]
    public var values: [Float]

    public init(indices: [UInt32], values: [Float]) {
        self.indices = indices
        self.values = values
    }

    /// Validates (equal lengths, finite values, no repeated index) and sorts by index.
    public func normalized() throws -> SparseVector {
        guard indices.count == values.count else {
            throw StoreError.invalidVector("Sparse vector indices and values must have the same length (\(indices.count) != \(values.count))")
        }
        guard values.allSatisfy(\.isFinite) else { throw StoreError.invalidVector("sparse vector contains NaN or infinity") }
        var pairs = Array(zip(indices, values))
        if !zip(indices, indices.dropFirst()).allSatisfy({ $0 < $1 }) {
            pairs.sort { $0.0 < $1.0 }
            for i in pairs.indices.dropFirst() where pairs[i].0 == pairs[i - 1].0 {
                throw StoreError.invalidVector("Sparse vector indices must be unique, \(pairs[i].0) is repeated")
            }
        }
        return SparseVector(indices: pairs.map(\.0), values: pairs.map(\.1))
    }
}

/// How the query side of a sparse vector is weighted.
public enum SparseModifier: String, Sendable, Hashable, Codable {
    /// Plain dot product.
    case none
    /// Query values are multiplied by the inverse document frequency of their index
    /// (`ln((N - df + 0.5) / (df + 0.5) + 1)`, N = points having this vector), as Qdrant does.
    case idf
}

/// Configuration of one named sparse vector.
public struct SparseVectorParams: Sendable, Hashable, Codable {
    public var modifier: SparseModifier

    public init(modifier: SparseModifier = .none) {
        self.modifier = modifier
    }
}

/// A nearest-neighbour query on a named sparse vector.
public struct SparseSearchRequest: Sendable, Hashable {
    /// Name of the sparse vector in the collection.
    public var using: String
    public var vector: SparseVector
    public var filter: Filter?
    public var limit: Int
    public var offset: Int
    public var scoreThreshold: Float?
    public var withPayload: Bool
    public var withVector: Bool

    public init(
        using: String,
        vector: SparseVector,
        filter: Filter? = nil,
        limit: Int = 10,
        offset: Int = 0,
        scoreThreshold: Float? = nil,
        withPayload: Bool = true,
        withVector: Bool = false
    ) {
        self.using = using
        self.vector = vector
        self.filter = filter
        self.limit = limit
        self.offset = offset
        self.scoreThreshold = scoreThreshold
        self.withPayload = withPayload
        self.withVector = withVector
    }
}

/// New vectors for an existing point (`update_vectors`): a new dense vector and/or named sparse vectors.
/// Vectors not named keep their value.
public struct PointVectorsUpdate: Sendable, Hashable {
    public var id: PointID
    public var vector: [Float]?
    public var sparseVectors: [String: SparseVector]

    public init(id: PointID, vector: [Float]? = nil, sparseVectors: [String: SparseVector] = [:]) {
        self.id = id
        self.vector = vector
        self.sparseVectors = sparseVectors
    }
}
