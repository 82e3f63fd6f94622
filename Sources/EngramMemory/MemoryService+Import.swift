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
