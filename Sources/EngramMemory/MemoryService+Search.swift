import EngramAuth
import EngramSearch
import EngramStore
import Foundation

extension MemoryService {
    /// Hybrid search over the memories the caller may see: exact cosine over the
    /// visible tenants' shards and BM25 over the same memories, fused by
    /// reciprocal rank (k = 60). BM25 alone without an embedder.
    public func search(_ principal: Principal, _ q: MemorySearchQuery) async throws -> [MemorySearchHit] {
        let query = q.query.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !query.isEmpty else { throw MemoryError.invalid("query must not be empty") }
        guard query.utf8.count <= MemoryLimits.maxQueryBytes else {
            throw MemoryError.invalid("query is longer than \(MemoryLimits.maxQueryBytes) bytes")
        }
        guard (1...MemoryLimits.maxSearchLimit).contains(q.limit) else {
            throw MemoryError.invalid("limit must be between 1 and \(MemoryLimits.maxSearchLimit)")
        }
        let tenants = AccessPolicy.visibleTenants(principal).filter { tenant in
            guard let scope = q.filter.scope else { return true }
            return tenant.hasPrefix(scope == .personal ? "user:" : "org:")
        }
        let defaultStates: Set<MemoryState> = [.published, .draft, .pendingReview]
        let accept: (Memory) -> Bool = { m in
            AccessPolicy.canRead(principal, m) && q.filter.matches(m)
                && (q.filter.state != nil || defaultStates.contains(m.state))
        }
        let candidates = max(q.limit * 3, 30)

        // Lexical candidates.
        var lexical: [(Memory, Double)] = []
        for tenant in tenants {
            lexical += index.lexicalSearch(tenant: tenant, query: query, limit: candidates, accept: accept)
        }
        lexical.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0.id.uuidString < $1.0.id.uuidString) }
        lexical = Array(lexical.prefix(candidates))

        // Vector candidates.
        var semantic: [(Memory, Float)] = []
        var queryVector: [Float]?
        if embedder != nil {
            let v = try await embed(query)
            queryVector = v
            for tenant in tenants {
                let filter = Filter(must: [.field(FieldCondition(key: Memory.Field.tenant, match: .value(.string(tenant))))]
                    + AccessPolicy.visibilityConditions(principal, tenant: tenant, state: q.filter.state)
                    + Self.conditions(for: q.filter))
                let hits: [ScoredPoint]
                do {
                    hits = try await store.search(collection, SearchRequest(vector: v, filter: filter, limit: candidates, withPayload: false))
                } catch {
                    throw MemoryError.unavailable("vector search failed")
                }
                for hit in hits {
                    // Defence in depth: the policy re-checks every hit the store returns.
                    guard case let .uuid(id) = hit.id, let m = index.get(id), accept(m) else { continue }
                    semantic.append((m, hit.score))
                }
            }
            semantic.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0.id.uuidString < $1.0.id.uuidString) }
            semantic = Array(semantic.prefix(candidates))
        }

        var byID: [UUID: Memory] = [:]
        var similarity: [UUID: Double] = [:]
        for (m, _) in lexical { byID[m.id] = m }
        for (m, s) in semantic { byID[m.id] = m; similarity[m.id] = Double(s) }
        let fused = RankFusion.reciprocalRank(
            [semantic.map { $0.0.id.uuidString }, lexical.map { $0.0.id.uuidString }],
            weights: [1, 1], k: 60, limit: embedder == nil ? q.limit : candidates)

        // Similarity for lexical-only hits, from their stored vectors.
        if let queryVector {
            let missing = fused.compactMap { UUID(uuidString: $0.id) }.filter { similarity[$0] == nil }
            if !missing.isEmpty {
                let records = try await store.retrieve(collection, ids: missing.map { .uuid($0) }, withPayload: false, withVector: true)
                let qn = Self.normalised(queryVector)
                for r in records {
                    guard case let .uuid(id) = r.id, let v = r.vector else { continue }
                    similarity[id] = Double(zip(qn, v).reduce(Float(0)) { $0 + $1.0 * $1.1 })
                }
            }
        }
        var hits: [MemorySearchHit] = []
        for item in fused {
            guard let id = UUID(uuidString: item.id), let m = byID[id] else { continue }
            let sim = similarity[id]
            if let min = q.minScore, embedder != nil, (sim ?? -1) < min { continue }
            hits.append(MemorySearchHit(memory: m, score: item.score, similarity: sim))
            if hits.count == q.limit { break }
        }
        return hits
    }

    static func normalised(_ v: [Float]) -> [Float] {
        let n = v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }

    /// Store conditions for the caller's own filters (scope is handled by the choice of tenants).
    static func conditions(for f: MemoryFilter) -> [Condition] {
        var out: [Condition] = []
        if let tags = f.tags, !tags.isEmpty {
            out.append(.field(FieldCondition(key: Memory.Field.tags, match: .any(tags.map { .string($0) }))))
        }
        if let repo = f.repo { out.append(.field(FieldCondition(key: Memory.Field.repo, match: .value(.string(repo))))) }
        if let kind = f.kind { out.append(.field(FieldCondition(key: Memory.Field.kind, match: .value(.string(kind.rawValue))))) }
        if let task = f.taskId { out.append(.field(FieldCondition(key: Memory.Field.taskId, match: .value(.string(task))))) }
        return out
    }
}

extension AccessPolicy {
    /// The store conditions that restrict a tenant's points to what `principal` may read
    /// (the same rules as `canRead`, expressed as a filter so the store can apply them).
    public static func visibilityConditions(_ principal: Principal, tenant: String, state: MemoryState?) -> [Condition] {
        let states: [MemoryState] = state.map { [$0] } ?? [.published, .draft, .pendingReview]
        func stateIn(_ list: [MemoryState]) -> Condition {
            .field(FieldCondition(key: Memory.Field.state, match: .any(list.map { .string($0.rawValue) })))
        }
        let mine = Condition.field(FieldCondition(key: Memory.Field.userId, match: .value(.string(principal.userId))))
        if tenant.hasPrefix("user:") {
            return [mine, stateIn(states)]
        }
        if principal.role.allows(.reviewMemories) {
            return [stateIn(states)]
        }
        let published = states.filter { $0 == .published }
        let ownDrafts = states.filter { $0 == .draft || $0 == .pendingReview }
        var should: [Condition] = []
        if !published.isEmpty { should.append(stateIn(published)) }
        if !ownDrafts.isEmpty { should.append(.filter(Filter(must: [mine, stateIn(ownDrafts)]))) }
        if should.isEmpty { return [.hasID([])] }
        return [.filter(Filter(should: should))]
    }
}
