package import EngramEmbedding
import EngramMemory
import EngramStore
package import EngramStoreModel
import Foundation

/// Refuses to open memories that the configured embedder cannot see.
///
/// Memories live in one collection per embedding model (`memories_<model>_<dimensions>`, or
/// `memories_bm25`). A command whose embedder differs from the one the memories were made with (the
/// model files not found from this working directory, `ENGRAM_EMBEDDER=none`, another model) would
/// open a different, empty collection and serve or export nothing. Every command that opens the
/// memories runs this check first and fails with the model's name and how to fix it.
package enum ModelGuard {
    /// The command's embedder could not be the one the memories need: what happened and how to fix it.
    package struct Unavailable: Sendable {
        package var reason: String
        package var fix: String
    }

    /// Whether `name` is a memory collection (`memories_bm25`, `memories_<model>_<dimensions>`), as opposed to
    /// a collection created through the Qdrant-compatible API.
    package static func isMemoryCollection(_ name: String) -> Bool {
        guard name.hasPrefix("memories_") else { return false }
        if name == "memories_bm25" { return true }
        guard let last = name.split(separator: "_").last, last.allSatisfy(\.isNumber) else { return false }
        return name.split(separator: "_").count >= 3
    }

    /// Throws when `store` holds memories in a memory collection other than `collection`.
    /// - Parameters:
    ///   - location: how the error names the store (`the data directory ./data`).
    ///   - unavailable: why the command has no (or another) embedder, when known.
    package static func check(
        store: any VectorStore,
        collection: String,
        embedder: (any Embedder)?,
        record: DataDirectoryRecord?,
        location: String,
        unavailable: Unavailable?
    ) async throws {
        for other in try await store.listCollections() where other.name != collection && isMemoryCollection(other.name) {
            let count = try await store.count(other.name, filter: nil)
            guard count > 0 else { continue }
            let model = modelName(of: other, record: record)
            let why: Unavailable =
                unavailable
                ?? Unavailable(
                    reason: "the configured embedder is \(embedder?.modelID ?? "none (BM25-only)") (collection \(collection))",
                    fix: "Configure the embedder the memories were made with (ENGRAM_EMBEDDER, ENGRAM_MODEL_DIR), or export them with it "
                        + "and import them into a new data directory to re-embed them."
                )
            throw Runtime.Failure(
                description: """
                    \(location) holds \(count) memories embedded with \(model) (\(other.vectorSize)-d, collection \(other.name)), \
                    but \(why.reason). \(why.fix) Nothing was changed.
                    """
            )
        }
    }

    /// The model of a memory collection: from the data directory's record, else recognised by name.
    package static func modelName(of config: CollectionConfig, record: DataDirectoryRecord?) -> String {
        if let record, record.embedding.collection == config.name { return record.embedding.model }
        if config.name == "memories_bm25" { return "none (BM25-only)" }
        if config.name == MemoryService.collectionName(for: Identity(modelID: MiniLMEmbedder.defaultModelID, dimensions: config.vectorSize)) {
            return MiniLMEmbedder.defaultModelID
        }
        return "the model of that collection"
    }

    /// A model's name and size, to compute its collection name without loading it.
    package struct Identity: Embedder {
        package let modelID: String
        package let dimensions: Int
        package func embed(_ texts: [String]) async throws -> [[Float]] { throw Runtime.Failure(description: "not an embedder") }
    }
}
