import EngramAuth
import EngramCore
import EngramHTTP
import EngramLifecycle
import EngramMemory
import EngramMemoryModel
import Foundation

/// Every MCP tool: its name, its input schema (`schemas/mcp/<name>.json`), whether it writes, and what
/// it runs on the memory domain. Results are `structuredContent` plus a readable text block.
enum Tool: String, CaseIterable, Sendable {
    case addMemory = "add_memory"
    case searchMemories = "search_memories"
    case listMemories = "list_memories"
    case getMemory = "get_memory"
    case updateMemory = "update_memory"
    case deleteMemory = "delete_memory"
    case finishTask = "finish_task"
    case memoryHistory = "memory_history"
    case revertMemory = "revert_memory"
    case rateMemory = "rate_memory"

    /// The tool's definition (name, description, input schema) among the schema resources.
    /// Tools that change memories: rate-limited like REST writes.
    var isWrite: Bool {
        switch self {
        case .addMemory, .updateMemory, .deleteMemory, .finishTask, .revertMemory, .rateMemory: return true
        case .searchMemories, .listMemories, .getMemory, .memoryHistory: return false
        }
    }

    /// Runs the tool for `p` with arguments its schema validated, on the memory domain.
    func call(_ args: JSONValue, principal p: Principal, memories: MemoryService, origin: WriteOrigin) async throws -> JSONValue {
        switch self {
        case .addMemory:
            let r = try await memories.add(p, try ToolArguments.newMemory(args), origin: origin)
            let verb = r.status == .created ? "Saved" : r.status == .duplicate ? "Already saved" : "Updated existing"
            var text = "\(verb) memory \(r.memory.id.lowercasedText) (\(r.memory.scope.rawValue), \(r.memory.state.rawValue))."
            if let old = r.superseded { text += " It supersedes memory \(old.id.lowercasedText), now archived." }
            if let next = MemoryJSON.nextStep(r.memory) { text += " " + next }
            if let warning = MemoryJSON.flagWarning(r.memory) { text += " " + warning }
            text += Self.conflictText(r.conflicts, reader: p)
            return Self.result(MemoryJSON.add(r, lean: true, reader: p), text: text)
        case .searchMemories:
            let hits = try await memories.search(p, ToolArguments.searchQuery(args))
            let serialising = StageClock.start()
            defer { StageClock.stop(.serialise, serialising) }
            let text =
                hits.isEmpty
                ? "No matching memories."
                : TextFormatting.dataNotice + "\n\n"
                    + hits.enumerated().map { i, h in
                        "\(i + 1). "
                            + TextFormatting.quoted(
                                h.memory,
                                trust: h.memory.trust(for: p),
                                extra: [TextFormatting.freshness(h.freshness), "relevance " + DecimalText.fixed(h.score, digits: 2)]
                                    + (h.similarity.map { ["similarity " + DecimalText.fixed($0, digits: 2)] } ?? [])
                            )
                    }.joined(separator: "\n\n")
            // Each hit is also a resource link (`engram://memories/{id}`), readable with resources/read.
            let links: [JSONValue] = hits.map { h in
                .object([
                    "type": "resource_link", "uri": .string(MCPEndpoint.resourcePrefix + h.memory.id.lowercasedText),
                    "name": .string(MCPEndpoint.title(h.memory.content)), "mimeType": "application/json",
                ])
            }
            return Self.result(
                .object(["results": .array(hits.map { MemoryJSON.hit($0, lean: true, reader: p) })]),
                text: text,
                links: links
            )
        case .listMemories:
            let page = try memories.list(
                p,
                filter: ToolArguments.filter(args),
                limit: ToolArguments.int(args, "limit") ?? 20,
                cursor: ToolArguments.string(args, "cursor")
            )
            var text =
                page.memories.isEmpty
                ? "No memories."
                : TextFormatting.dataNotice + "\n\n"
                    + page.memories.map { m in TextFormatting.quoted(m, trust: m.trust(for: p)) }.joined(separator: "\n\n")
            if let next = page.nextCursor { text += "\nMore: pass cursor \(next)" }
            return Self.result(MemoryJSON.page(page, lean: true, reader: p), text: text)
        case .getMemory:
            let m = try memories.get(p, id: try ToolArguments.uuid(args))
            let u = memories.usage.usage(m.id)
            let f = Freshness.of(m, usage: u, policy: memories.policy(of: m))
            return Self.result(
                .object(["memory": MemoryJSON.memory(m, usage: u, freshness: f, lean: true, trust: m.trust(for: p))]),
                text: TextFormatting.dataNotice + "\n\n" + TextFormatting.quoted(m, trust: m.trust(for: p), extra: [TextFormatting.freshness(f)])
            )
        case .updateMemory:
            let m = try await memories.update(p, id: try ToolArguments.uuid(args), try ToolArguments.patch(args), origin: origin)
            var text = "Updated memory \(m.id.lowercasedText) to version \(m.version) (\(m.scope.rawValue), \(m.state.rawValue))."
            if m.state == .pendingReview { text += " It goes to review: the new text is served once an admin approves it." }
            if let warning = MemoryJSON.flagWarning(m) { text += " " + warning }
            let conflicts = try await memories.possibleConflicts(p, of: m)
            text += Self.conflictText(conflicts, reader: p)
            var o: [String: JSONValue] = [
                "memory": MemoryJSON.memory(m, lean: true, trust: m.trust(for: p)), "possible_conflicts": MemoryJSON.conflicts(conflicts, reader: p),
            ]
            if let warning = MemoryJSON.flagWarning(m) { o["warning"] = .string(warning) }
            return Self.result(.object(o), text: text)
        case .deleteMemory:
            let id = try ToolArguments.uuid(args)
            try await memories.delete(p, id: id, origin: origin)
            return Self.result(.object(["deleted": .string(id.lowercasedText)]), text: "Deleted memory \(id.lowercasedText).")
        case .finishTask:
            let task = ToolArguments.string(args, "task_id")
            let promoted = try await memories.finish(p, taskId: task, origin: origin)
            let which = task.map { "task \($0)" } ?? "drafts saved without a task_id"
            let text =
                promoted.isEmpty
                ? "No drafts to promote for \(which)."
                : "Promoted \(promoted.count) memor\(promoted.count == 1 ? "y" : "ies") (\(which)): "
                    + Dictionary(grouping: promoted, by: \.state).sorted { $0.key.rawValue < $1.key.rawValue }
                    .map { "\($0.value.count) \($0.key.rawValue)" }.joined(separator: ", ")
                    + (promoted.contains { !$0.screenFlags.isEmpty } ? " (flagged memories go to review whatever the org policy)." : ".")
            return Self.result(MemoryJSON.finish(promoted, taskId: task), text: text)
        case .memoryHistory:
            let id = try ToolArguments.uuid(args)
            let versions = try await memories.history(p, id: id)
            let text =
                TextFormatting.dataNotice + "\n\n"
                + versions.map { v in
                    "v\(v.version) · \(RFC3339.format(v.at.timeIntervalSince1970).prefix(19)) · \(v.actor) via \(v.channel) · \(v.reason) · \(v.state)\n"
                        + TextFormatting.visible(v.memory.content).split(separator: "\n", omittingEmptySubsequences: false).map { "> " + $0 }
                        .joined(separator: "\n")
                }.joined(separator: "\n")
            return Self.result(MemoryJSON.history(id, versions, lean: true), text: text)
        case .revertMemory:
            let id = try ToolArguments.uuid(args)
            let version = ToolArguments.int(args, "version") ?? 0
            let m = try await memories.revert(p, id: id, to: version, origin: origin)
            return Self.result(
                .object(["memory": MemoryJSON.memory(m, lean: true, trust: m.trust(for: p))]),
                text:
                    "Reverted memory \(id.lowercasedText) to the text of version \(version), recorded as version \(m.version) (\(m.state.rawValue))."
            )
        case .rateMemory:
            let id = try ToolArguments.uuid(args)
            guard let verdict = ToolArguments.string(args, "verdict").flatMap(Verdict.init(rawValue:)) else {
                throw MemoryError.invalid("verdict must be helpful, outdated or wrong")
            }
            let r = try await memories.rate(p, id: id, verdict: verdict, note: ToolArguments.string(args, "note"), origin: origin)
            let text: String
            switch r.outcome {
            case .confirmed: text = "Thanks: memory \(id.lowercasedText) is confirmed."
            case .markedStale: text = "Memory \(id.lowercasedText) is now stale; it is left out of searches. Save the current fact with add_memory."
            case .sentToReview: text = "Memory \(id.lowercasedText) went back to review with your note; it is not served until an admin acts."
            case .recorded: text = "Report recorded (\(r.reporters) open); the memory is sent to review once another teammate reports it."
            }
            return Self.result(MemoryJSON.rating(r, lean: true, reader: p), text: text)
        }
    }

    /// The text form of possible conflicts (empty when there are none).
    static func conflictText(_ conflicts: [PossibleConflict], reader: Principal) -> String {
        guard !conflicts.isEmpty else { return "" }
        return "\n\nPossible conflicts: these memories say something close about the same repository, tag or code. "
            + "Check whether they still hold; if the new memory replaces one, save it with supersedes set to that id, "
            + "or update or rate the old one.\n\n"
            + conflicts.map { c in
                TextFormatting.quoted(
                    c.memory,
                    trust: c.memory.trust(for: reader),
                    extra: ["similarity " + DecimalText.fixed(c.similarity, digits: 2)]
                )
            }.joined(separator: "\n\n")
    }

    static func result(_ structured: JSONValue, text: String, links: [JSONValue] = []) -> JSONValue {
        .object([
            "content": .array([.object(["type": "text", "text": .string(text)])] + links), "structuredContent": structured, "isError": false,
        ])
    }

    /// A failed call: a tool result with `isError` (the client's model reads the message).
    static func errorResult(_ message: String) -> JSONValue {
        .object(["content": .array([.object(["type": "text", "text": .string(message)])]), "isError": true])
    }
}
