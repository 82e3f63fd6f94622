import EngramCore
import EngramSearch
package import Foundation

/// The in-memory side of the memory domain: every memory by id, a BM25 index
/// per tenant, and content hashes per tenant for exact-duplicate detection.
///
/// Rebuilt from the store on start-up; updated after every durable write.
package final class MemoryIndex: @unchecked Sendable {
    private let lock = ReadWriteLock()
    private var memories: [UUID: Memory] = [:]
    private var docOf: [UUID: Int64] = [:]
    private var idOfDoc: [Int64: UUID] = [:]
    private var nextDoc: Int64 = 1
    private var lexical: [String: BM25Index] = [:]
    private var byHash: [String: Set<UUID>] = [:]
    /// How many memories of each state a tenant holds (what a search must filter out, if anything).
    private var stateCounts: [String: [MemoryState: Int]] = [:]

    package init() {}

    private static func hashKey(_ tenant: String, _ hash: String) -> String { tenant + "\u{0}" + hash }

    /// Text indexed for BM25: the content plus tags (tags are often the best keywords).
    private static func lexicalText(_ m: Memory) -> String {
        m.tags.isEmpty ? m.content : m.content + "\n" + m.tags.joined(separator: " ")
    }

    package var count: Int { lock.read { memories.count } }

    package func get(_ id: UUID) -> Memory? { lock.read { memories[id] } }

    /// Inserts or replaces a memory (moving it between tenants if needed).
    package func put(_ m: Memory) {
        lock.write {
            if let old = memories[m.id] { removeLocked(old) }
            let doc: Int64
            if let d = docOf[m.id] {
                doc = d
            } else {
                doc = nextDoc
                nextDoc += 1
                docOf[m.id] = doc
                idOfDoc[doc] = m.id
            }
            memories[m.id] = m
            let index: BM25Index
            if let existing = lexical[m.tenant] {
                index = existing
            } else {
                index = BM25Index()
                lexical[m.tenant] = index
            }
            index.upsert(id: doc, text: Self.lexicalText(m))
            byHash[Self.hashKey(m.tenant, m.contentHash), default: []].insert(m.id)
            stateCounts[m.tenant, default: [:]][m.state, default: 0] += 1
        }
    }

    package func remove(_ id: UUID) {
        lock.write {
            guard let old = memories.removeValue(forKey: id) else { return }
            removeLocked(old)
            if let doc = docOf.removeValue(forKey: id) { idOfDoc[doc] = nil }
        }
    }

    private func removeLocked(_ old: Memory) {
        if let doc = docOf[old.id] { lexical[old.tenant]?.remove(id: doc) }
        let key = Self.hashKey(old.tenant, old.contentHash)
        byHash[key]?.remove(old.id)
        if byHash[key]?.isEmpty == true { byHash[key] = nil }
        stateCounts[old.tenant]?[old.state, default: 0] -= 1
        if stateCounts[old.tenant]?[old.state] == 0 { stateCounts[old.tenant]?[old.state] = nil }
    }

    /// The states the memories of `tenant` are in.
    package func states(inTenant tenant: String) -> Set<MemoryState> {
        lock.read { Set(stateCounts[tenant]?.keys.map { $0 } ?? []) }
    }

    /// Memories of `tenant` whose normalised content hashes to `hash`.
    package func withHash(tenant: String, hash: String) -> [Memory] {
        lock.read { (byHash[Self.hashKey(tenant, hash)] ?? []).compactMap { memories[$0] } }
    }

    /// Every memory satisfying `predicate`.
    package func all(where predicate: (Memory) -> Bool) -> [Memory] {
        lock.read { memories.values.filter(predicate) }
    }

    /// BM25 top `limit` in one tenant among memories accepted by `accept`.
    package func lexicalSearch(tenant: String, query: String, limit: Int, accept: (Memory) -> Bool) -> [(Memory, Double)] {
        lock.read {
            guard let index = lexical[tenant] else { return [] }
            // Exhaustive scoring, not `BM25Index.search`'s MaxScore: on memory texts (common words in
            // most memories, questions made of them) the pruning skips too little to pay for itself,
            // 1.34x the exhaustive time in `engram-bench eval search-breakdown`; the rankings are equal.
            let hits = index.exhaustiveSearch(query, limit: limit) { doc in
                guard let id = self.idOfDoc[doc], let m = self.memories[id] else { return false }
                return accept(m)
            }
            return hits.compactMap { hit in idOfDoc[hit.id].flatMap { memories[$0] }.map { ($0, hit.score) } }
        }
    }
}
