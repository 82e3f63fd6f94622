import EngramCore
import EngramHTTP
import EngramSchemas
import EngramServer
import Foundation
import HummingbirdTesting
import Testing

/// What an MCP client sees once the framing is right, in process: `initialize` negotiates the
/// protocol version and introduces the server (name, version, instructions, the tools capability);
/// `tools/list` serves every tool with their schemas; a tool that succeeds answers
/// `isError: false` with structured content, and a tool that fails (unknown memory, schema
/// violation, secret in content) answers a result with `isError: true`, not a JSON-RPC error.
@Suite struct MCPSessionTests {
    @Test(arguments: [
        ("2025-11-25", "2025-11-25"), ("2025-06-18", "2025-06-18"), ("2025-03-26", "2025-03-26"),
        ("2024-11-05", "2025-11-25"), ("not-a-version", "2025-11-25"),
    ])
    func initializeNegotiatesTheProtocolVersion(_ requested: String, _ expected: String) async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let params: JSONValue = [
                "protocolVersion": .string(requested), "capabilities": .object([:]),
                "clientInfo": ["name": "route-tests", "version": "1"],
            ]
            let response = try await client.rpc("alice", token: token, method: "initialize", params: params, id: 0)
            #expect(response.status == .ok)
            #expect(response.json["id"] == 0)
            #expect(response.json["result"]?["protocolVersion"]?.stringValue == expected)
        }
    }

    @Test func initializeIntroducesTheServer() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let response = try await client.rpc("alice", token: token, method: "initialize", params: ["protocolVersion": "2025-11-25"])
            let result = try #require(response.json["result"])
            #expect(result["serverInfo"]?["name"] == "engram")
            #expect(result["serverInfo"]?["version"]?.stringValue == EngramVersion.current)
            #expect(result["capabilities"]?["tools"]?["listChanged"] == false)
            let instructions = try #require(result["instructions"]?.stringValue)
            #expect(instructions.contains("search_memories"))
            #expect(instructions.contains("add_memory"))
            #expect(instructions.contains("Never save secrets"))
        }
    }

    @Test func toolsListServesEveryTool() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let response = try await client.rpc("alice", token: token, method: "tools/list")
            #expect(response.status == .ok)
            let tools = try #require(response.json["result"]?["tools"]).items
            #expect(tools.compactMap { $0["name"]?.stringValue } == EngramSchemas.toolNames)
            #expect(
                Set(EngramSchemas.toolNames) == [
                    "add_memory", "search_memories", "list_memories", "get_memory",
                    "update_memory", "delete_memory", "finish_task", "memory_history", "revert_memory", "rate_memory",
                ]
            )
            for tool in tools {
                #expect(tool["inputSchema"]?["type"] == "object", "\(tool["name"] ?? .null)")
                #expect(tool["description"]?.stringValue?.isEmpty == false, "\(tool["name"] ?? .null)")
            }
        }
    }

    @Test func toolSuccessIsAResultWithStructuredContent() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let added = try await client.callTool(
                "alice",
                token: token,
                "add_memory",
                ["content": "The billing service runs its tests with make check-billing"]
            )
            #expect(added.status == .ok)
            #expect(added.json["result"]?["isError"] == false)
            #expect(added.json["result"]?["structuredContent"]?["status"] == "created")
            let id = try #require(added.json["result"]?["structuredContent"]?["memory"]?["id"]?.stringValue)
            let found = try await client.callTool("alice", token: token, "search_memories", ["query": "billing tests"])
            #expect(found.json["result"]?["isError"] == false)
            let hits = try #require(found.json["result"]?["structuredContent"]?["results"]).items
            #expect(hits.first?["memory"]?["id"]?.stringValue == id)
        }
    }

    @Test func unknownMemoryIsAToolError() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let response = try await client.callTool("alice", token: token, "get_memory", ["id": .string(UUID().uuidString)])
            #expect(response.status == .ok)
            #expect(response.json["error"] == nil)
            #expect(response.json["result"]?["isError"] == true)
            #expect(response.json["result"]?["content"]?.items.first?["text"] == "memory not found")
        }
    }

    @Test func schemaViolationIsAToolError() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let response = try await client.callTool("alice", token: token, "add_memory", ["content": 17])
            #expect(response.json["error"] == nil)
            #expect(response.json["result"]?["isError"] == true)
            let text = response.json["result"]?["content"]?.items.first?["text"]?.stringValue ?? ""
            #expect(text.hasPrefix("Invalid arguments for add_memory:"))
        }
    }

    @Test func secretInContentIsAToolErrorThatNeverEchoesTheSecret() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        let secret = SecretFixtures.fakeGitHubToken()
        try await server.test { client in
            let response = try await client.callTool("alice", token: token, "add_memory", ["content": .string("CI pushes with \(secret)")])
            #expect(response.json["result"]?["isError"] == true)
            #expect(!response.text.contains(secret))
            let listed = try await client.callTool("alice", token: token, "list_memories", [:])
            #expect(listed.json["result"]?["structuredContent"]?["memories"] == .array([]))
        }
    }
}
