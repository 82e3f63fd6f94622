import EngramCore
import EngramMemory
import Foundation

/// Typed views of validated tool arguments / REST bodies.
enum ToolArguments {
    static func string(_ o: JSONValue, _ key: String) -> String? { o[key]?.stringValue }

    static func strings(_ o: JSONValue, _ key: String) -> [String]? {
        guard case let .array(items)? = o[key] else { return nil }
        return items.compactMap(\.stringValue)
    }

    static func int(_ o: JSONValue, _ key: String) -> Int? {
        switch o[key] {
        case let .int(i)?: return Int(clamping: i)
        case let .double(d)? where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }

    static func uuid(_ o: JSONValue, _ key: String = "id") throws -> UUID {
        guard let s = string(o, key), let id = UUID(uuidString: s) else { throw MemoryError.invalid("\(key) must be a UUID") }
        return id
    }

    static func newMemory(_ o: JSONValue) -> NewMemory {
        NewMemory(
            content: string(o, "content") ?? "",
            scope: string(o, "scope").flatMap(MemoryScope.init(rawValue:)) ?? .personal,
            tags: strings(o, "tags") ?? [],
            repo: string(o, "repo"),
            taskId: string(o, "task_id"),
            kind: string(o, "kind").flatMap(MemoryKind.init(rawValue:)) ?? .pattern
        )
    }

    static func patch(_ o: JSONValue) -> MemoryPatch {
        MemoryPatch(
            content: string(o, "content"),
            tags: strings(o, "tags"),
            repo: string(o, "repo"),
            taskId: string(o, "task_id"),
            kind: string(o, "kind").flatMap(MemoryKind.init(rawValue:))
        )
    }

    static func filter(_ o: JSONValue) -> MemoryFilter {
        MemoryFilter(
            scope: string(o, "scope").flatMap(MemoryScope.init(rawValue:)),
            tags: strings(o, "tags"),
            repo: string(o, "repo"),
            kind: string(o, "kind").flatMap(MemoryKind.init(rawValue:)),
            state: string(o, "state").flatMap(MemoryState.init(rawValue:)),
            taskId: string(o, "task_id")
        )
    }

    static func searchQuery(_ o: JSONValue) -> MemorySearchQuery {
        MemorySearchQuery(
            query: string(o, "query") ?? "",
            limit: int(o, "limit") ?? 10,
            filter: filter(o),
            minScore: o["min_score"]?.number
        )
    }
}
