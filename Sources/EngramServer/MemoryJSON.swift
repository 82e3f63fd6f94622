import EngramMemory
import EngramStore
import Foundation

/// The wire form of memories and search hits (snake_case, RFC 3339 times),
/// shared by MCP `structuredContent` and the REST API.
enum MemoryJSON {
    static func memory(_ m: Memory) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(m.id.lowercasedText), "user_id": .string(m.userId), "scope": .string(m.scope.rawValue),
            "state": .string(m.state.rawValue), "content": .string(m.content), "tags": .array(m.tags.map { .string($0) }),
            "kind": .string(m.kind.rawValue), "content_hash": .string(m.contentHash),
            "created_at": .string(RFC3339.format(m.createdAt.timeIntervalSince1970)),
            "updated_at": .string(RFC3339.format(m.updatedAt.timeIntervalSince1970)),
            "embedding_model": .string(m.embeddingModel),
        ]
        o["org_id"] = m.orgId.map { .string($0) } ?? .null
        o["repo"] = m.repo.map { .string($0) } ?? .null
        o["task_id"] = m.taskId.map { .string($0) } ?? .null
        return .object(o)
    }

    static func hit(_ h: MemorySearchHit) -> JSONValue {
        var o: [String: JSONValue] = ["memory": memory(h.memory), "score": .double(round(h.score * 1e6) / 1e6)]
        o["similarity"] = h.similarity.map { .double(round($0 * 1e6) / 1e6) } ?? .null
        return .object(o)
    }

    static func page(_ p: MemoryPage) -> JSONValue {
        .object(["memories": .array(p.memories.map(memory)), "next_cursor": p.nextCursor.map { .string($0) } ?? .null])
    }

    static func add(_ r: AddResult) -> JSONValue {
        .object(["memory": memory(r.memory), "status": .string(r.status.rawValue)])
    }

    static func finish(_ promoted: [Memory], taskId: String) -> JSONValue {
        .object([
            "task_id": .string(taskId),
            "promoted": .array(promoted.map { .string($0.id.lowercasedText) }),
            "state": promoted.first.map { .string($0.state.rawValue) } ?? .null,
        ])
    }
}
