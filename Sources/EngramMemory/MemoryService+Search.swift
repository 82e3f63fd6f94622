public import EngramAuth
import EngramCore
import EngramEmbedding
public import EngramMemoryModel
import EngramSearch
import EngramStore
public import EngramStoreModel
public import Foundation
import Metrics

extension MemoryService {
    /// Vector candidates per visible tenant: at least this many, and at least `limit`.
    package static let semanticCandidates = 30
    /// Lexical candidates (all visible tenants): at least this many, and at least `limit`.
    /// Deeper than the vector list because BM25 hits are cheap; the similarities of
    /// lexical-only hits are fetched only when they can still reach the top `limit`.
    package static let lexicalCandidates = 50

    /// Hybrid search over the memories the caller may see: exact cosine over the
    /// visible tenants' shards and BM25 over the same memories, fused by a convex
    /// combination `w · cosine + (1 − w) · bm25 / max bm25` (`RankFusion.convex`), with
    /// the weight `w` chosen per query from how decisive each ranking is
    /// (`RankFusion.adaptiveWeight`, unless the query fixes it; measured in
    /// eval/retrieval/README.md and eval/codesearch/README.md). BM25 alone without an embedder.
    public func search(_ principal: Principal, _ q: MemorySearchQuery) async throws -> [MemorySearchHit] {
        let started = DispatchTime.now().uptimeNanoseconds
        defer {
            Timer(label: "engram_search_duration_seconds", preferredDisplayUnit: .seconds)
                .recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
        }
        let candidates = try await searchCandidates(principal, q)
        let fusing = StageClock.start()
        defer { StageClock.stop(.fusion, fusing) }
        guard let v = candidates.queryVector else {
            // BM25 only: scores normalised by the best one.
            let best = candidates.lexical.first?.score ?? 0
            let hits = candidates.lexical.prefix(q.limit + Self.priorSlack).compactMap { hit in
                candidates.memories[hit.id].map { MemorySearchHit(memory: $0, score: best > 0 ? hit.score / best : 0, similarity: nil) }
            }
            return finish(hits, q, principal)
        }
        let weight: Double
        switch q.weighting {
        case let .fixed(w):
            weight = w
        case let .adaptive(constants):
            weight = RankFusion.adaptiveWeight(
                similarities: candidates.semantic.map(\.similarity),
                lexical: candidates.lexical.map(\.score),
                constants: constants
            )
        }
        let fused = try await RankFusion.convex(
            semantic: candidates.semantic,
            semanticFloor: candidates.semanticFloor,
            lexical: candidates.lexical,
            weight: weight,
            limit: q.limit + Self.priorSlack,
            minSimilarity: q.minScore
        ) { missing in
            try await similarities(of: missing, to: v, tenants: candidates.tenants)
        }
        // The relevance floor: hits that neither share words with the query nor come close in meaning
        // are noise. Judged at the reference weight whatever this query's weight is, so the floor means
        // the same for every query (at 0.15: a cosine under 0.21 without a keyword match).
        let reference = RankFusion.defaultSemanticWeight
        let hits = fused.compactMap { item -> MemorySearchHit? in
            let relevance = reference * (item.similarity ?? 0) + (1 - reference) * item.lexical
            guard relevance >= minRelevance else { return nil }
            return candidates.memories[item.id].map { MemorySearchHit(memory: $0, score: item.score, similarity: item.similarity) }
        }
        return finish(hits, q, principal)
    }

    /// Fused candidates beyond `limit` that the freshness prior may move into the results. None: the prior
    /// reorders the top `limit` only (the eval/lifecycle figures did not move with 5, and every extra
    /// candidate can cost a similarity lookup).
    package static let priorSlack = 0

    /// The last step of a search: adds the freshness prior (`FreshnessPrior`) to each hit's relevance,
    /// labels its freshness, keeps the best `limit`, and records what was served (a lock and an append;
    /// `UsageTracker.flush` writes the log off the request path).
    package func finish(_ hits: [MemorySearchHit], _ q: MemorySearchQuery, _ principal: Principal) -> [MemorySearchHit] {
        let now = Date()
        let ids = hits.map(\.memory.id)
        let usageOf = usage.usage(ids)
        let rankedCounts = usage.rankingCounts(ids)
        var out = hits.map { h -> MemorySearchHit in
            var h = h
            let u = usageOf[h.memory.id] ?? MemoryUsage()
            h.usage = u
            h.freshness = Freshness.of(h.memory, usage: u, policy: policy(of: h.memory), now: now)
            if q.freshnessPrior {
                var ranked = u
                ranked.servedCount = rankedCounts[h.memory.id] ?? 0
                h.score = max(0, h.score + q.priorWeight * FreshnessPrior.prior(h.memory, usage: ranked, now: now))
            }
            return h
        }
        out.sort { $0.score > $1.score || ($0.score == $1.score && $0.memory.id < $1.memory.id) }
        if out.count > q.limit { out.removeLast(out.count - q.limit) }
        if q.recordServed { usage.served(out.map(\.memory.id), to: principal.userId, at: now) }
        return out
    }

    /// What hybrid search fuses, before fusion: the vector and the lexical candidates of one query
    /// over the memories the caller may see (every candidate already passed `AccessPolicy`).
    public struct SearchCandidates: Sendable {
        /// Vector hits with their cosine similarity: each visible tenant's exact top-k.
        public var semantic: [(id: UUID, similarity: Double)]
        /// An upper bound on the similarity of every visible memory not in `semantic`.
        public var semanticFloor: Double
        /// BM25 hits with their raw scores, best first.
        public var lexical: [(id: UUID, score: Double)]
        /// The query's embedding (nil without an embedder: BM25-only mode).
        public var queryVector: [Float]?
        /// The candidates' memories.
        public var memories: [UUID: Memory]
        /// The tenants searched.
        public var tenants: [String]
    }

    /// The candidates of `search` (validation, access rules and filters included), for fusion and
    /// for evaluations that compare fusion methods on the same candidates.
    public func searchCandidates(_ principal: Principal, _ q: MemorySearchQuery) async throws -> SearchCandidates {
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
        let accept: (Memory) -> Bool = { m in AccessPolicy.canRead(principal, m) && q.filter.matches(m) }

        // The query embedding (the costliest step) runs while BM25 ranks on the other core.
        async let embedding: [Float]? = queryEmbedding(q, query)

        // Lexical candidates.
        let ranking = StageClock.start()
        let lexicalDepth = max(q.limit, Self.lexicalCandidates)
        var lexical: [(Memory, Double)] = []
        for tenant in tenants {
            lexical += index.lexicalSearch(tenant: tenant, query: query, limit: lexicalDepth, accept: accept)
        }
        lexical.sort { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0.id < $1.0.id) }
        lexical = Array(lexical.prefix(lexicalDepth))
        StageClock.stop(.lexical, ranking)

        var byID: [UUID: Memory] = [:]
        for (m, _) in lexical { byID[m.id] = m }
        var candidates = SearchCandidates(
            semantic: [],
            semanticFloor: -1,
            lexical: lexical.map { (id: $0.0.id, score: $0.1) },
            queryVector: nil,
            memories: byID,
            tenants: tenants
        )
        guard embedder != nil else { return candidates }

        // Vector candidates: every visible tenant's exact top-k (not truncated, so the
        // smallest similarity of each full list bounds every memory left out of it).
        let semanticDepth = max(q.limit, Self.semanticCandidates)
        guard let v = try await embedding else { throw MemoryError.unavailable("no embedder") }
        candidates.queryVector = v
        let requests = tenants.map { tenant in
            SearchRequest(
                vector: v,
                filter: Filter(
                    must: [.field(FieldCondition(key: Memory.Field.tenant, match: .value(.string(tenant))))]
                        + AccessPolicy.visibilityConditions(
                            principal,
                            tenant: tenant,
                            states: q.filter.visibleStates,
                            present: index.states(inTenant: tenant)
                        )
                        + Self.conditions(for: q.filter)
                ),
                limit: semanticDepth,
                withPayload: false
            )
        }
        let perTenant: [[ScoredPoint]]
        let scanning = StageClock.start()
        do {
            perTenant = try await scans.submit(requests)
        } catch {
            throw MemoryError.unavailable("vector search failed")
        }
        StageClock.stop(.scan, scanning)
        for hits in perTenant {
            if hits.count >= semanticDepth, let last = hits.last { candidates.semanticFloor = max(candidates.semanticFloor, Double(last.score)) }
            for hit in hits {
                // Defence in depth: the policy re-checks every hit the store returns.
                guard case let .uuid(id) = hit.id, let m = index.get(id), accept(m) else { continue }
                candidates.memories[m.id] = m
                candidates.semantic.append((m.id, Double(hit.score)))
            }
        }
        return candidates
    }

    /// Cosine similarity of `ids` (lexical-only candidates) to `vector`: a search restricted to their
    /// ids (`has_id`), which the embedded store answers from its in-memory rows without a scan.
    public func similarities(of ids: [UUID], to vector: [Float], tenants: [String]) async throws -> [UUID: Double] {
        guard !ids.isEmpty else { return [:] }
        let filter = Filter(must: [
            .field(FieldCondition(key: Memory.Field.tenant, match: .any(tenants.map { .string($0) }))),
            .hasID(ids.map { .uuid($0) }),
        ])
        let hits: [ScoredPoint]
        do {
            hits = try await store.search(collection, SearchRequest(vector: vector, filter: filter, limit: ids.count, withPayload: false))
        } catch {
            throw MemoryError.unavailable("vector search failed")
        }
        var out: [UUID: Double] = [:]
        for hit in hits {
            guard case let .uuid(id) = hit.id else { continue }
            out[id] = Double(hit.score)
        }
        return out
    }

    /// The query's vector: the caller's precomputed one (checked) or the embedder's; nil without an embedder.
    package func queryEmbedding(_ q: MemorySearchQuery, _ text: String) async throws -> [Float]? {
        guard let embedder else { return nil }
        if let given = q.queryVector {
            guard given.count == embedder.dimensions else { throw MemoryError.invalid("query vector has the wrong dimension") }
            return given
        }
        return try await StageClock.measure(.embed) { try await embed(text) }
    }

    /// Store conditions for the caller's own filters (scope is handled by the choice of tenants).
    package static func conditions(for f: MemoryFilter) -> [Condition] {
        var out: [Condition] = []
        if let tags = f.tags, !tags.isEmpty {
            out.append(.field(FieldCondition(key: Memory.Field.tags, match: .any(tags.map { .string($0) }))))
        }
        if let repo = f.repo { out.append(.field(FieldCondition(key: Memory.Field.repo, match: .value(.string(repo))))) }
        if let kind = f.kind { out.append(.field(FieldCondition(key: Memory.Field.kind, match: .value(.string(kind.rawValue))))) }
        if let task = f.taskId { out.append(.field(FieldCondition(key: Memory.Field.taskId, match: .value(.string(task))))) }
        // Times are stored as RFC 3339 text; the store compares datetime ranges by instant.
        if f.createdAfter != nil || f.createdBefore != nil {
            let range = RangeCondition(
                gte: f.createdAfter.map { .datetime($0.timeIntervalSince1970) },
                lt: f.createdBefore.map { .datetime($0.timeIntervalSince1970) }
            )
            out.append(.field(FieldCondition(key: Memory.Field.createdAt, range: range)))
        }
        if let updatedAfter = f.updatedAfter {
            let range = RangeCondition(gte: .datetime(updatedAfter.timeIntervalSince1970))
            out.append(.field(FieldCondition(key: Memory.Field.updatedAt, range: range)))
        }
        return out
    }
}

extension AccessPolicy {
    /// The store conditions that restrict a tenant's points to what `principal` may read
    /// (the same rules as `canRead`, expressed as a filter so the store can apply them).
    ///
    /// `present`, the states the tenant's memories are in when the caller knows them, lets a personal
    /// tenant whose memories are all wanted go without a per-point condition (the common case: all
    /// published), which keeps the vector scan free of payload checks.
    public static func visibilityConditions(
        _ principal: Principal,
        tenant: String,
        states asked: Set<MemoryState>,
        present: Set<MemoryState>? = nil
    ) -> [Condition] {
        // Quarantined memories hold secrets: no search returns them, whatever the state asked for.
        let states = asked.subtracting([.quarantined])
        func stateIn(_ set: Set<MemoryState>) -> Condition {
            .field(FieldCondition(key: Memory.Field.state, match: .any(set.map(\.rawValue).sorted().map { .string($0) })))
        }
        let mine = Condition.field(FieldCondition(key: Memory.Field.userId, match: .value(.string(principal.userId))))
        let readable: Set<MemoryState> = [.published, .stale]
        if tenant.hasPrefix("user:") {
            // A personal tenant holds only its owner's memories, published or stale:
            // no per-point condition is needed when both are asked for.
            guard tenant == Memory.tenant(scope: .personal, userId: principal.userId, orgId: nil) else { return [.hasID([])] }
            let wanted = states.intersection(readable)
            if wanted.isEmpty { return [.hasID([])] }
            if let present, present.isSubset(of: wanted) { return [] }
            return [stateIn(wanted)]
        }
        if principal.role.allows(.reviewMemories) {
            return [stateIn(states)]
        }
        let published = states.intersection(readable)
        let ownDrafts = states.intersection([.draft, .pendingReview])
        var should: [Condition] = []
        if !published.isEmpty { should.append(stateIn(published)) }
        if !ownDrafts.isEmpty { should.append(.filter(Filter(must: [mine, stateIn(ownDrafts)]))) }
        if should.isEmpty { return [.hasID([])] }
        return [.filter(Filter(should: should))]
    }
}
