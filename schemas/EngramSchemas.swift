import Foundation

/// The JSON Schemas of every MCP tool (`mcp/*.json`) and the REST API's OpenAPI
/// document (`openapi.json`): the single source of truth, shipped as resources.
/// The server serves them as they are and validates input against them.
public enum EngramSchemas {
    /// Names of the MCP tools, in the order `tools/list` returns them.
    public static let toolNames = [
        "add_memory", "search_memories", "list_memories", "get_memory", "update_memory", "delete_memory", "finish_task",
        "memory_history", "revert_memory", "rate_memory",
    ]

    /// The raw bytes of a schema file, e.g. `mcp/add_memory.json` or `openapi.json`.
    public static func data(_ path: String) throws -> Data {
        guard let base = Bundle.module.resourceURL else { throw CocoaError(.fileNoSuchFile) }
        return try Data(contentsOf: base.appendingPathComponent(path))
    }
}
