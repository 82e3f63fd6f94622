package import EngramCore
import EngramMemory
package import EngramMemoryModel
package import Foundation

/// Typed views of validated tool arguments / REST bodies.
package enum ToolArguments {
    package static func string(_ o: JSONValue, _ key: String) -> String? { o[key]?.stringValue }

    package static func strings(_ o: JSONValue, _ key: String) -> [String]? {
        guard case let .array(items)? = o[key] else { return nil }
        return items.compactMap(\.stringValue)
    }

    package static func int(_ o: JSONValue, _ key: String) -> Int? { o[key].flatMap(int) }

    /// An integer JSON value (or a double holding one).
    package static func int(_ value: JSONValue) -> Int? {
        switch value {
        case let .int(i): return Int(clamping: i)
        case let .double(d) where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }

    package static func uuid(_ o: JSONValue, _ key: String = "id") throws -> UUID {
        guard let s = string(o, key), let id = UUID(uuidString: s) else { throw MemoryError.invalid("\(key) must be a UUID") }
        return id
    }

    package static func newMemory(_ o: JSONValue) throws -> NewMemory {
        NewMemory(
            content: string(o, "content") ?? "",
            scope: string(o, "scope").flatMap(MemoryScope.init(rawValue:)) ?? .personal,
            tags: strings(o, "tags") ?? [],
            repo: string(o, "repo"),
            taskId: string(o, "task_id"),
            kind: string(o, "kind").flatMap(MemoryKind.init(rawValue:)) ?? .pattern,
            anchors: try anchors(o) ?? [],
            branch: string(o, "branch"),
            commit: string(o, "commit"),
            expiresInDays: int(o, "expires_in_days"),
            supersedes: try string(o, "supersedes").map { raw in
                guard let id = UUID(uuidString: raw) else { throw MemoryError.invalid("supersedes must be a memory id (UUID)") }
                return id
            }
        )
    }

    package static func patch(_ o: JSONValue) throws -> MemoryPatch {
        MemoryPatch(
            content: string(o, "content"),
            tags: strings(o, "tags"),
            repo: string(o, "repo"),
            taskId: string(o, "task_id"),
            kind: string(o, "kind").flatMap(MemoryKind.init(rawValue:)),
            anchors: try anchors(o),
            commit: string(o, "commit")
        )
    }

    /// `anchors` as the schema describes them (`lines` as `12` or `12-40`); nil when absent.
    package static func anchors(_ o: JSONValue) throws -> [CodeAnchor]? {
        guard case let .array(items)? = o["anchors"] else { return nil }
        return try items.map { item in
            var lines: CodeAnchor.LineRange?
            if let text = string(item, "lines") {
                guard let range = CodeAnchor.LineRange.parse(text) else {
                    throw MemoryError.invalid("anchor lines must be `N` or `N-M` with 1 ≤ N ≤ M")
                }
                lines = range
            }
            return CodeAnchor(path: string(item, "path") ?? "", sha: string(item, "sha"), lines: lines, symbol: string(item, "symbol"))
        }
    }

    package static func filter(_ o: JSONValue) throws -> MemoryFilter {
        func time(_ key: String) throws -> Date? {
            try string(o, key).map { try TimeBound.require($0, argument: key) }
        }
        return MemoryFilter(
            scope: string(o, "scope").flatMap(MemoryScope.init(rawValue:)),
            tags: strings(o, "tags"),
            repo: string(o, "repo"),
            kind: string(o, "kind").flatMap(MemoryKind.init(rawValue:)),
            state: string(o, "state").flatMap(MemoryState.init(rawValue:)),
            taskId: string(o, "task_id"),
            createdAfter: try time("created_after"),
            createdBefore: try time("created_before"),
            updatedAfter: try time("updated_after"),
            includeStale: o["include_stale"] == .bool(true)
        )
    }

    package static func searchQuery(_ o: JSONValue) throws -> MemorySearchQuery {
        MemorySearchQuery(
            query: string(o, "query") ?? "",
            limit: int(o, "limit") ?? 10,
            filter: try filter(o),
            minScore: o["min_score"]?.number
        )
    }
}
