package import EngramEmbedding
import EngramMemory
package import Foundation

/// `DATA_DIR/engram.json`: what a data directory's memories were embedded with, so that a command
/// run from anywhere finds the same model (or refuses loudly) instead of opening an empty collection.
///
/// Written by the commands that write memories (`serve`, `import`, `migrate` into an embedded target)
/// whenever it is missing or out of date; read by every command that opens the memories. It holds no
/// secret and no memory content.
package struct DataDirectoryRecord: Codable, Equatable {
    package static let fileName = "engram.json"

    /// The embedder behind the memory collection.
    package struct Embedding: Codable, Equatable {
        /// Model id (`all-MiniLM-L6-v2`, a remote model name, or `none` for BM25-only).
        package var model: String
        package var dimensions: Int
        /// The collection holding the memories (`MemoryService.collectionName(for:)`).
        package var collection: String
        /// Absolute path of the MiniLM model files last used (a hint for commands run elsewhere).
        package var modelDirectory: String?

        package enum CodingKeys: String, CodingKey {
            case model, dimensions, collection
            case modelDirectory = "model_dir"
        }
    }

    package var format = 1
    package var embedding: Embedding

    /// The record describing `embedder` (nil: BM25-only).
    package init(embedder: (any Embedder)?, modelDirectory: URL?) {
        embedding = Embedding(
            model: embedder?.modelID ?? "none",
            dimensions: embedder?.dimensions ?? 1,
            collection: MemoryService.collectionName(for: embedder),
            modelDirectory: modelDirectory?.standardizedFileURL.path
        )
    }

    package static func url(in dataDirectory: URL) -> URL { dataDirectory.appendingPathComponent(fileName) }

    /// The record in `dataDirectory`, or nil when there is none (or it cannot be read).
    package static func load(from dataDirectory: URL) -> DataDirectoryRecord? {
        guard let data = try? Data(contentsOf: url(in: dataDirectory)) else { return nil }
        return try? JSONDecoder().decode(DataDirectoryRecord.self, from: data)
    }

    /// Writes the record (private, atomically) unless the directory already holds the same one.
    package func save(in dataDirectory: URL) throws {
        guard Self.load(from: dataDirectory) != self else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let target = Self.url(in: dataDirectory)
        try encoder.encode(self).write(to: target, options: .atomic)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target.path)
    }
}
