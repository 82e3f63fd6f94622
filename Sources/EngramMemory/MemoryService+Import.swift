import EngramAuth
import EngramStore
import Foundation

extension MemoryService {
    /// A memory to import with its vector (nil: embedded here).
    public struct ImportItem: Sendable {
        public var memory: Memory
        public var vector: [Float]?

        public init(memory: Memory, vector: [Float]? = nil) {
            self.memory = memory
            self.vector = vector
        }
    }

    /// Writes memories in bulk (export/import, migration, benchmarks), keeping
    /// their ids, authors, states and times. Every text field still passes the
    /// secret filter and validation; a vector of the wrong size is re-embedded.
    /// No duplicate detection: the caller decides what to import.
    /// - Returns: the number written.
    @discardableResult
    public func importMemories(_ items: [ImportItem], batchSize: Int = 512) async throws -> Int {
        var written = 0
        var start = 0
        while start < items.count {
            let chunk = items[start..<min(items.count, start + batchSize)]
            var points: [PointStruct] = []
            var memories: [Memory] = []
            for item in chunk {
                var m = item.memory
                m.content = try Self.validate(content: m.content)
                m.tags = try Self.validate(tags: m.tags)
                try scanForSecrets([m.content] + m.tags + [m.repo, m.taskId])
                m.contentHash = Self.contentHash(m.content)
                let dims = embedder?.dimensions ?? 1
                var vector: [Float]
                if let v = item.vector, v.count == dims, m.embeddingModel == embeddingModel { vector = v } else {
                    vector = try await embed(m.content)
                    m.embeddingModel = embeddingModel
                }
                if embedder == nil { vector = [1] }
                points.append(PointStruct(id: .uuid(m.id), vector: vector, payload: m.payload))
                memories.append(m)
            }
            try await writes.withLock {
                do { try await store.upsert(collection, points: points) } catch {
                    throw MemoryError.unavailable("the store did not accept the import batch")
                }
                for m in memories { index.put(m) }
            }
            written += memories.count
            start += batchSize
        }
        return written
    }
}

extension MemoryService {
    /// One page of every memory with its stored vector, in id order (export and migration).
    public func exportPage(after offset: PointID?, limit: Int = 500) async throws -> (items: [ImportItem], next: PointID?) {
        let page = try await store.scroll(collection, ScrollRequest(limit: limit, offset: offset, withPayload: true, withVector: true))
        let items = page.points.compactMap { r -> ImportItem? in
            guard let payload = r.payload, let m = Memory(id: r.id, payload: payload) else { return nil }
            return ImportItem(memory: m, vector: r.vector)
        }
        return (items, page.nextPageOffset)
    }

    /// Imports, skipping memories whose id already exists or whose content already
    /// exists in the same tenant (exact duplicates). Returns (imported, skipped).
    public func importSkippingDuplicates(_ items: [ImportItem]) async throws -> (imported: Int, skipped: Int) {
        var fresh: [ImportItem] = []
        var seen = Set<String>()
        for item in items {
            let m = item.memory
            let hash = Self.contentHash(m.content)
            let key = m.tenant + "\u{0}" + hash
            if index.get(m.id) != nil || !index.withHash(tenant: m.tenant, hash: hash).isEmpty || !seen.insert(key).inserted { continue }
            fresh.append(item)
        }
        let n = try await importMemories(fresh)
        return (n, items.count - n)
    }
}

extension MemoryService {
    /// Re-reads the memory collection and brings the in-memory indexes in line with it (after
    /// writes that bypassed this service, e.g. through the Qdrant-compatible API). Concurrent
    /// calls coalesce: at most one reload runs, and one more follows if asked for meanwhile.
    public func reloadFromStore() async {
        guard reloadGate.withLock({ state -> Bool in
            if state.running { state.again = true; return false }
            state.running = true
            return true
        }) else { return }
        repeat {
            do {
                try await writes.withLock {
                    // The collection may have been deleted (e.g. through the Qdrant API): recreate it empty.
                    if try await !store.listCollections().contains(where: { $0.name == collection }) {
                        try await store.createCollection(CollectionConfig(name: collection, vectorSize: embedder?.dimensions ?? 1,
                                                                          distance: .cosine, tenantKey: Memory.Field.tenant))
                        logger.warning("memory collection was missing and has been recreated", metadata: ["collection": "\(collection)"])
                    }
                    var present = Set<UUID>()
                    var offset: PointID?
                    repeat {
                        let page = try await store.scroll(collection, ScrollRequest(limit: 1000, offset: offset, withPayload: true))
                        for r in page.points {
                            guard let payload = r.payload, let m = Memory(id: r.id, payload: payload) else { continue }
                            present.insert(m.id)
                            if index.get(m.id) != m { index.put(m) }
                        }
                        offset = page.nextPageOffset
                    } while offset != nil
                    for m in index.all(where: { !present.contains($0.id) }) { index.remove(m.id) }
                }
            } catch {
                logger.error("memory reload failed", metadata: ["error": "\(type(of: error))"])
            }
        } while reloadGate.withLock({ state -> Bool in
            if state.again { state.again = false; return true }
            state.running = false
            return false
        })
    }
}
