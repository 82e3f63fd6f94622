import EngramClientKit
package import Foundation

/// doobidoo/mcp-memory-service's JSON export, as its exporter writes it
/// (`src/mcp_memory_service/sync/exporter.py`, `MemoryExporter.export_to_json`, run by
/// `scripts/sync/export_memories.py`):
///
/// ```
/// {"export_metadata": {"source_machine", "export_timestamp", "total_memories", "database_path", "platform",
///                      "python_version", "include_embeddings", "filter_tags", "exporter_version"},
///  "memories": [{"content", "content_hash", "tags": [...], "created_at": <unix float>, "updated_at": <unix float>,
///                "memory_type", "metadata": {...}, "export_source", "embedding"?}]}
/// ```
///
/// Also read: the older backup (`scripts/backup/backup_memories.py`: `{"timestamp", "total_memories",
/// "memories": [{"id", "document", "metadata": {"tags_str", "type", …}}]}`) and a bare list of memories.
/// Tags are kept (beside `mcp-memory-service`); `memory_type` becomes the memory's kind when Engram has
/// one like it (`decision`, `preference`, `fact`, `pattern`, `gotcha`), else a tag.
package enum MCPMemoryServiceImport {
    package static let source = "mcp-memory-service"

    package static func parse(_ data: Data) throws -> ImportParseResult {
        let document: Any
        do { document = try JSONSerialization.jsonObject(with: data) } catch {
            throw ImportFailure(description: "not an mcp-memory-service export: the file is not JSON")
        }
        let records: [[String: Any]]
        if let object = document as? [String: Any], let memories = object["memories"] as? [[String: Any]] {
            records = memories
        } else if let list = document as? [[String: Any]] {
            records = list
        } else {
            throw ImportFailure(description: "not an mcp-memory-service export: expected {\"export_metadata\", \"memories\": [...]}")
        }
        var result = ImportParseResult()
        for (n, record) in records.enumerated() {
            let metadata = record["metadata"] as? [String: Any] ?? [:]
            let hash = (record["content_hash"] as? String) ?? (record["id"] as? String)
            let location = "\(source) " + (hash.map { String($0.prefix(8)) } ?? "#\(n + 1)")
            let raw = (record["content"] as? String) ?? (record["document"] as? String)
            guard let body = result.body(of: raw, at: location, missing: "no content") else { continue }
            var tags = [source]
            tags += tagList(record["tags"]) ?? tagList(metadata["tags"]) ?? tagList(metadata["tags_str"]) ?? []
            let type = ((record["memory_type"] as? String) ?? (record["type"] as? String) ?? (metadata["type"] as? String))?
                .trimmingCharacters(in: .whitespaces).lowercased()
            let kind = type.flatMap(kind(for:))
            if let type, !type.isEmpty, kind == nil { tags.append(type) }
            for piece in ImportText.fit(prefix: "", body: body) {
                result.candidates.append(
                    ImportCandidate(
                        text: piece,
                        tags: tags,
                        kind: kind,
                        provenance: ImportProvenance(source: source, location: location, sourceID: hash)
                    )
                )
            }
        }
        return result
    }

    /// Tags as a list, or as the comma-separated `tags_str` the storage backends keep.
    package static func tagList(_ value: Any?) -> [String]? {
        if let list = value as? [Any] { return list.compactMap { $0 as? String } }
        if let s = value as? String { return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        return nil
    }

    /// Engram's kind for an mcp-memory-service `memory_type` (its ontology's base types and common
    /// free-form ones), or nil to keep the server's default and the type as a tag.
    package static func kind(for type: String) -> String? {
        switch type {
        case "decision", "architecture", "architecture_decision": return "decision"
        case "preference", "preferences", "user_preference": return "preference"
        case "fact", "reference", "documentation", "learning", "observation": return "fact"
        case "pattern", "convention", "code_pattern", "best_practice", "process", "procedure": return "pattern"
        case "error", "bug", "gotcha", "warning", "pitfall", "issue", "fix", "bug_fix": return "gotcha"
        default: return nil
        }
    }
}
