public import EngramAuth
import EngramCore
public import EngramMemoryModel
import EngramStore
import EngramStoreModel
import Foundation

extension MemoryService {
    /// Cosine similarity from which two memories about the same thing may conflict (below
    /// `nearDuplicateThreshold`, where a write updates the existing memory instead).
    public static let conflictThreshold: Float = 0.80
    /// At most this many possible conflicts are returned.
    public static let maxConflicts = 5

    /// Memories `principal` can see that are close to `m` (cosine from `conflictThreshold` up to the
    /// near-duplicate threshold) and share its repository, a tag or an anchor path, closest first (for an
    /// org memory, only org memories):
    /// returned on add and update as `possible_conflicts`, and shown beside a memory under review.
    /// Without an embedder, or for a memory with no repository, tag or anchor, there are none.
    /// - Parameter vector: `m`'s vector when the caller has it (else it is read from the store).
    public func possibleConflicts(_ principal: Principal, of m: Memory, vector: [Float]? = nil) async throws -> [PossibleConflict] {
        guard embedder != nil, m.repo != nil || !m.tags.isEmpty || !m.anchors.isEmpty else { return [] }
        var query = vector
        if query == nil {
            let records = try? await store.retrieve(collection, ids: [.uuid(m.id)], withPayload: false, withVector: true)
            query = records?.first?.vector
        }
        guard let query else { return [] }
        // An org memory is compared with the org's memories only (a reviewer's personal notes are not its conflicts).
        let tenants = m.scope == .org ? [m.tenant] : AccessPolicy.visibleTenants(principal)
        let filter = Filter(must: [
            .field(FieldCondition(key: Memory.Field.tenant, match: .any(tenants.map { .string($0) }))),
            .field(FieldCondition(key: Memory.Field.state, match: .any(["published", "draft", "pending_review", "stale"]))),
        ])
        let hits: [ScoredPoint]
        do {
            hits = try await store.search(
                collection,
                SearchRequest(vector: query, filter: filter, limit: 16, scoreThreshold: Self.conflictThreshold, withPayload: false)
            )
        } catch {
            throw MemoryError.unavailable("the store is not reachable")
        }
        let paths = Set(m.anchors.map(\.path))
        var out: [PossibleConflict] = []
        for hit in hits where hit.score < Self.nearDuplicateThreshold {
            guard case let .uuid(id) = hit.id, id != m.id, let other = index.get(id), AccessPolicy.canRead(principal, other) else { continue }
            let shares =
                (m.repo != nil && other.repo == m.repo) || !Set(m.tags).isDisjoint(with: other.tags)
                || !paths.isDisjoint(with: other.anchors.map(\.path))
            guard shares else { continue }
            out.append(PossibleConflict(memory: other, similarity: Double(hit.score)))
            if out.count == Self.maxConflicts { break }
        }
        return out
    }
}
