import EngramCore
import EngramMemory
import EngramMemoryModel
import EngramSchemas
import Foundation
import Testing

/// The limits clients read in the tool schemas are the limits the domain enforces (`MemoryLimits`):
/// a schema that allows more than the domain accepts, or less, misleads every client.
@Suite struct SchemaLimitsTests {
    func property(_ tool: String, _ name: String) throws -> JSONValue {
        let schema = try JSONDecoder().decode(JSONValue.self, from: try EngramSchemas.data("mcp/\(tool).json"))
        return try #require(schema["inputSchema"]?["properties"]?[name], "\(tool).\(name)")
    }

    func int(_ value: JSONValue?) -> Int? { value?.number.map { Int($0) } }

    @Test(arguments: ["add_memory", "update_memory"])
    func writeLimits(tool: String) throws {
        // Content: the schema counts characters, the domain bytes; they share the number.
        #expect(int(try property(tool, "content")["maxLength"]) == MemoryLimits.maxContentBytes)
        let tags = try property(tool, "tags")
        #expect(int(tags["maxItems"]) == MemoryLimits.maxTags)
        #expect(int(tags["items"]?["maxLength"]) == MemoryLimits.maxTagLength)
        #expect(int(try property(tool, "repo")["maxLength"]) == MemoryLimits.maxRepoLength)
        #expect(int(try property(tool, "task_id")["maxLength"]) == MemoryLimits.maxTaskIdLength)
    }

    @Test func readLimits() throws {
        #expect(int(try property("search_memories", "query")["maxLength"]) == MemoryLimits.maxQueryBytes)
        for tool in ["search_memories", "list_memories"] {
            #expect(int(try property(tool, "limit")["maximum"]) == MemoryLimits.maxSearchLimit)
            #expect(int(try property(tool, "tags")["maxItems"]) == MemoryLimits.maxTags)
            #expect(int(try property(tool, "repo")["maxLength"]) == MemoryLimits.maxRepoLength)
        }
        #expect(int(try property("finish_task", "task_id")["maxLength"]) == MemoryLimits.maxTaskIdLength)
    }
}
