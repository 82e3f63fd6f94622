public import EngramCore
import EngramStore
import EngramStoreModel

/// Points of one collection that no read of the Qdrant-compatible API returns: those whose payload
/// field `key` holds one of `values` (the memory service's quarantined memories). Searches, scrolls,
/// queries and counts get the condition as a `must_not`; retrieves drop the points.
public struct ReadExclusion: Sendable, Hashable {
    public var collection: String
    public var key: String
    public var values: [JSONValue]

    public init(collection: String, key: String, values: [JSONValue]) {
        self.collection = collection
        self.key = key
        self.values = values
    }

    var condition: Condition { .field(FieldCondition(key: key, match: .any(values))) }

    /// `filter` with the exclusion added when `collection` is the excluded one.
    func apply(_ filter: Filter?, collection name: String) -> Filter? {
        guard name == collection else { return filter }
        var f = filter ?? Filter()
        f.mustNot = (f.mustNot ?? []) + [condition]
        return f
    }

    /// Whether a point with `payload` of collection `name` is hidden.
    func hides(_ payload: Payload?, collection name: String) -> Bool {
        guard name == collection, let value = payload?[key] else { return false }
        return values.contains(value)
    }
}
