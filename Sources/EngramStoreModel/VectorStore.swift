/// The storage seam: Qdrant's data model (collections of points with vectors and
/// JSON payloads, filtered search, scroll, count, payload edits).
///
/// `EmbeddedStore` implements it durably in-process; a remote-Qdrant backend
/// implements it over Qdrant's REST API. Callers above this seam (the memory
/// domain) know nothing of either storage format.
public protocol VectorStore: Sendable {
    func createCollection(_ config: CollectionConfig) async throws
    /// Returns whether the collection existed.
    @discardableResult func deleteCollection(_ name: String) async throws -> Bool
    func collectionInfo(_ name: String) async throws -> CollectionInfo
    func listCollections() async throws -> [CollectionConfig]

    /// Inserts or replaces points; returns once the write is durable.
    func upsert(_ collection: String, points: [PointStruct]) async throws
    func retrieve(_ collection: String, ids: [PointID], withPayload: Bool, withVector: Bool) async throws -> [Record]
    /// Deletes the selected points; returns how many existed.
    @discardableResult func delete(_ collection: String, _ selector: PointSelector) async throws -> Int
    func search(_ collection: String, _ request: SearchRequest) async throws -> [ScoredPoint]
    func search(_ collection: String, batch: [SearchRequest]) async throws -> [[ScoredPoint]]
    func scroll(_ collection: String, _ request: ScrollRequest) async throws -> ScrollResult
    func count(_ collection: String, filter: Filter?) async throws -> Int

    /// Merges `payload` into the selected points (a null value deletes the key); `key` nests it under a path.
    /// With `requireAll`, an id naming a missing point fails the edit and nothing is written (Qdrant's semantics).
    func setPayload(_ collection: String, payload: Payload, key: String?, _ selector: PointSelector, requireAll: Bool) async throws
    /// Replaces the selected points' payloads (`requireAll` as in `setPayload`).
    func overwritePayload(_ collection: String, payload: Payload, _ selector: PointSelector, requireAll: Bool) async throws
    /// Removes keys (dotted paths) from the selected points (`requireAll` as in `setPayload`).
    func deletePayloadKeys(_ collection: String, keys: [String], _ selector: PointSelector, requireAll: Bool) async throws
    /// Empties the selected points' payloads (`requireAll` as in `setPayload`).
    func clearPayload(_ collection: String, _ selector: PointSelector, requireAll: Bool) async throws
}
