import EngramCore
import EngramMemory
import Foundation

/// The wire form of memories and search hits (snake_case, RFC 3339 times),
/// shared by MCP `structuredContent` and the REST API.
enum MemoryJSON {
    /// A memory on the wire. `lean` (what an assistant reads over MCP) leaves out the bookkeeping an
    /// assistant has no use for: the content hash (reviewers bind approvals to it over REST) and the model.
    static func memory(_ m: Memory, lean: Bool = false) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(m.id.lowercasedText), "user_id": .string(m.userId), "scope": .string(m.scope.rawValue),
            "state": .string(m.state.rawValue), "content": .string(m.content), "tags": .array(m.tags.map { .string($0) }),
            "kind": .string(m.kind.rawValue),
            "created_at": .string(RFC3339.format(m.createdAt.timeIntervalSince1970)),
            "updated_at": .string(RFC3339.format(m.updatedAt.timeIntervalSince1970)),
        ]
        if !lean {
            o["content_hash"] = .string(m.contentHash)
            o["embedding_model"] = .string(m.embeddingModel)
        }
        o["org_id"] = m.orgId.map { .string($0) } ?? .null
        o["repo"] = m.repo.map { .string($0) } ?? .null
        o["task_id"] = m.taskId.map { .string($0) } ?? .null
        return .object(o)
    }

    static func hit(_ h: MemorySearchHit, lean: Bool = false) -> JSONValue {
        var o: [String: JSONValue] = ["memory": memory(h.memory, lean: lean), "score": .double(round(h.score * 1e6) / 1e6)]
        o["similarity"] = h.similarity.map { .double(round($0 * 1e6) / 1e6) } ?? .null
        return .object(o)
    }

    static func page(_ p: MemoryPage, lean: Bool = false) -> JSONValue {
        .object(["memories": .array(p.memories.map { memory($0, lean: lean) }), "next_cursor": p.nextCursor.map { .string($0) } ?? .null])
    }

    static func add(_ r: AddResult, lean: Bool = false) -> JSONValue {
        var o: [String: JSONValue] = ["memory": memory(r.memory, lean: lean), "status": .string(r.status.rawValue)]
        if let next = nextStep(r.memory) { o["next_step"] = .string(next) }
        return .object(o)
    }

    /// What the author must do for an org draft to reach the team (nil when nothing is needed).
    static func nextStep(_ m: Memory) -> String? {
        guard m.scope == .org, m.state == .draft else { return nil }
        let call = m.taskId.map { "finish_task with task_id \"\($0)\"" } ?? "finish_task without a task_id"
        return "It is a draft visible only to you until you call \(call) (POST /v1/finish) to publish it."
    }

    static func finish(_ promoted: [Memory], taskId: String?) -> JSONValue {
        .object([
            "task_id": taskId.map { .string($0) } ?? .null,
            "promoted": .array(promoted.map { .string($0.id.lowercasedText) }),
            "state": promoted.first.map { .string($0.state.rawValue) } ?? .null,
        ])
    }
}
