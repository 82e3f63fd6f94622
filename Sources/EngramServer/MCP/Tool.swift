import EngramAuth
import EngramCore
import EngramMemory
import Foundation

/// Executes MCP tools on the memory domain and renders their results as
/// `structuredContent` plus a readable text block.
struct MCPTools {
    let services: ServerServices
    var memories: MemoryService { services.memories }

    func call(_ name: String, _ args: JSONValue, _ p: Principal) async throws -> JSONValue {
        switch name {
        case "add_memory":
            let r = try await memories.add(p, ToolArguments.newMemory(args), channel: .mcp)
            let verb = r.status == .created ? "Saved" : r.status == .duplicate ? "Already saved" : "Updated existing"
            var text = "\(verb) memory \(r.memory.id.lowercasedText) (\(r.memory.scope.rawValue), \(r.memory.state.rawValue))."
            if let next = MemoryJSON.nextStep(r.memory) { text += " " + next }
            return result(MemoryJSON.add(r, lean: true), text: text)
        case "search_memories":
            let hits = try await memories.search(p, ToolArguments.searchQuery(args))
            let text = hits.isEmpty ? "No matching memories." : hits.enumerated().map { i, h in
                "\(i + 1). \(h.memory.content)\n   " + TextFormatting.summary(h.memory)
                    + " · relevance " + TextFormatting.fixed(h.score, digits: 2)
                    + (h.similarity.map { " · similarity " + TextFormatting.fixed($0, digits: 2) } ?? "")
            }.joined(separator: "\n")
            return result(.object(["results": .array(hits.map { MemoryJSON.hit($0, lean: true) })]), text: text)
        case "list_memories":
            let page = try memories.list(p, filter: ToolArguments.filter(args), limit: ToolArguments.int(args, "limit") ?? 20,
                                         cursor: ToolArguments.string(args, "cursor"))
            var text = page.memories.isEmpty ? "No memories." : page.memories.map { m in
                "- \(m.content)\n  " + TextFormatting.summary(m)
            }.joined(separator: "\n")
            if let next = page.nextCursor { text += "\nMore: pass cursor \(next)" }
            return result(MemoryJSON.page(page, lean: true), text: text)
        case "get_memory":
            let m = try memories.get(p, id: try ToolArguments.uuid(args))
            return result(.object(["memory": MemoryJSON.memory(m, lean: true)]), text: m.content + "\n" + TextFormatting.summary(m))
        case "update_memory":
            let m = try await memories.update(p, id: try ToolArguments.uuid(args), ToolArguments.patch(args), channel: .mcp)
            var text = "Updated memory \(m.id.lowercasedText) (\(m.scope.rawValue), \(m.state.rawValue))."
            if m.state == .pendingReview { text += " Its organisation requires review: the new text is served once an admin approves it." }
            return result(.object(["memory": MemoryJSON.memory(m, lean: true)]), text: text)
        case "delete_memory":
            let id = try ToolArguments.uuid(args)
            try await memories.delete(p, id: id)
            return result(.object(["deleted": .string(id.lowercasedText)]), text: "Deleted memory \(id.lowercasedText).")
        case "finish_task":
            let task = ToolArguments.string(args, "task_id")
            let promoted = try await memories.finish(p, taskId: task)
            let which = task.map { "task \($0)" } ?? "drafts saved without a task_id"
            let text = promoted.isEmpty ? "No drafts to promote for \(which)."
                : "Promoted \(promoted.count) memor\(promoted.count == 1 ? "y" : "ies") (\(which)) to \(promoted[0].state.rawValue)."
            return result(MemoryJSON.finish(promoted, taskId: task), text: text)
        default:
            throw MemoryError.invalid("unknown tool \(name)")
        }
    }

    func result(_ structured: JSONValue, text: String) -> JSONValue {
        .object(["content": .array([.object(["type": "text", "text": .string(text)])]), "structuredContent": structured, "isError": false])
    }
}
