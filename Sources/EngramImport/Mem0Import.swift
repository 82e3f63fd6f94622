import EngramClientKit
package import Foundation

/// mem0 and OpenMemory exports, in the shapes their own code writes:
///
/// - **OpenMemory backup** (`POST /api/v1/backup/export` in mem0ai/mem0
///   `openmemory/api/app/routers/backup.py`): a zip holding `memories.json`
///   (`{"user", "apps": [{id, name, …}], "categories": [{id, name, …}], "memories": [{id, user_id, app_id,
///   content, metadata, state, created_at, updated_at, archived_at, deleted_at, category_ids}],
///   "memory_categories", "status_history", "access_controls", "export_meta"}`) and `memories.jsonl.gz`
///   (one `{id, content, metadata, created_at, updated_at, state, app, categories}` per line). The zip
///   is opened by `ImportArchive`; this parser reads either member (or the file itself).
/// - **mem0 `get_all`** (mem0ai/mem0 `mem0/memory/main.py`: `{"results": [MemoryItem]}` with `id`,
///   `memory`, `hash`, `metadata`, `score`, `created_at`, `updated_at` and the promoted `user_id`,
///   `agent_id`, `run_id`, `actor_id`, `role`; the hosted API's `GET /v1/memories/` answers a bare
///   list of the same items with `categories`, `owner`, `immutable`, `expiration_date`), saved as JSON.
///
/// Memories in state `deleted` or `archived` (or with `deleted_at`) are left out. Categories and the
/// app name become tags beside `mem0`.
package enum Mem0Import {
    package static let source = "mem0"

    package static func parse(_ data: Data) throws -> ImportParseResult {
        let records: [[String: Any]]
        var categoryNames: [String: String] = [:]
        var appNames: [String: String] = [:]
        if let document = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) {
            if let object = document as? [String: Any] {
                if let memories = object["memories"] as? [[String: Any]] {
                    records = memories
                    for c in object["categories"] as? [[String: Any]] ?? [] {
                        if let id = c["id"].map(text), let name = c["name"] as? String { categoryNames[id] = name }
                    }
                    for a in object["apps"] as? [[String: Any]] ?? [] {
                        if let id = a["id"].map(text), let name = a["name"] as? String { appNames[id] = name }
                    }
                } else if let results = object["results"] as? [[String: Any]] {
                    records = results
                } else if object["memory"] != nil || object["content"] != nil {
                    records = [object]
                } else {
                    throw ImportFailure(
                        description:
                            "not a mem0 export: expected OpenMemory's memories.json (\"memories\"), a get_all answer (\"results\") or JSON lines"
                    )
                }
            } else if let list = document as? [[String: Any]] {
                records = list
            } else {
                throw ImportFailure(description: "not a mem0 export: the JSON is neither an object nor a list of memories")
            }
        } else {
            records = try jsonLines(data)
        }
        var result = ImportParseResult()
        for (n, record) in records.enumerated() {
            let id = record["id"].map(text)
            let location = "mem0 " + (id.map { String($0.prefix(8)) } ?? "#\(n + 1)")
            let state = (record["state"] as? String)?.lowercased()
            if state == "deleted" || state == "archived" {
                result.skipped.append(ImportSkip(location: location, reason: "state \(state!)"))
                continue
            }
            if let deleted = record["deleted_at"], !(deleted is NSNull) {
                result.skipped.append(ImportSkip(location: location, reason: "deleted"))
                continue
            }
            let raw = (record["memory"] as? String) ?? (record["content"] as? String) ?? (record["data"] as? String) ?? (record["text"] as? String)
            guard let body = result.body(of: raw, at: location, missing: "no memory text") else { continue }
            var tags = [source]
            tags += (record["categories"] as? [String]) ?? []
            tags += ((record["category_ids"] as? [Any]) ?? []).compactMap { categoryNames[text($0)] }
            if let app = (record["app"] as? String) ?? record["app_id"].flatMap({ appNames[text($0)] }) { tags.append("app:\(app)") }
            for piece in ImportText.fit(prefix: "", body: body) {
                result.candidates.append(
                    ImportCandidate(
                        text: piece,
                        tags: tags,
                        provenance: ImportProvenance(source: source, location: location, sourceID: id)
                    )
                )
            }
        }
        return result
    }

    /// One JSON object per non-empty line (OpenMemory's `memories.jsonl`).
    package static func jsonLines(_ data: Data) throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        for (n, line) in data.split(separator: 0x0A).enumerated() {
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.isEmpty { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed))) as? [String: Any] else {
                throw ImportFailure(description: "not a mem0 export: line \(n + 1) is not a JSON object")
            }
            out.append(object)
        }
        return out
    }

    /// An id as text (ids are strings or numbers).
    package static func text(_ value: Any) -> String {
        if let s = value as? String { return s }
        return "\(value)"
    }
}
