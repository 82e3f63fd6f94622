/// Typed errors of the store. Messages are safe to show to clients: they hold
/// names and counts, never payload content.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case collectionNotFound(String)
    case collectionExists(String)
    case invalidCollectionName(String)
    case dimensionMismatch(expected: Int, got: Int)
    case invalidVector(String)
    case invalidRequest(String)
    case pointNotFound(PointID)
    case corrupt(String)
    case io(String)

    public var description: String {
        switch self {
        case let .collectionNotFound(n): return "Collection `\(n)` doesn't exist!"
        case let .collectionExists(n): return "Collection `\(n)` already exists!"
        case let .invalidCollectionName(why): return "Invalid collection name: \(why)"
        case let .dimensionMismatch(e, g): return "Wrong input: Vector dimension error: expected dim: \(e), got \(g)"
        case let .invalidVector(why): return "Wrong input: \(why)"
        case let .invalidRequest(why): return "Wrong input: \(why)"
        case let .pointNotFound(id): return "No point with id \(id) found"
        case let .corrupt(why): return "Store is corrupt: \(why)"
        case let .io(why): return "Storage error: \(why)"
        }
    }
}
