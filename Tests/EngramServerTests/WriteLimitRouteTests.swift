import EngramCore
import EngramHTTP
import EngramServer
import Foundation
import HummingbirdTesting
import Testing

/// The per-token write budget, in process, with a burst of 2 and a refill too slow to matter: the third
/// REST write is 429 with `Retry-After` and the REST error body, reads still pass, and another token
/// has its own budget; over MCP, the third write tool call is a JSON-RPC error (-32000, `data.retry_after`)
/// with HTTP 429 and `Retry-After`, while read tools still answer.
@Suite struct WriteLimitRouteTests {
    static let limits = ServerLimits(writesPerSecond: 0.0001, writeBurst: 2)

    /// `Retry-After` as whole seconds.
    static func retryAfter(_ response: TestResponse) -> Int? {
        response.headers[.retryAfter].flatMap { Int($0) }
    }

    @Test func restWritesBeyondTheBurstAre429WithRetryAfter() async throws {
        let server = try await RouteServer(limits: Self.limits)
        let alice = try await server.token("alice")
        let bob = try await server.token("bob")
        try await server.test { client in
            for n in 1...2 {
                let created = try await client.send(.post, "/v1/memories", token: alice, json: ["content": .string("Release note rule number \(n)")])
                #expect(created.status == .created, "write \(n)")
            }
            let limited = try await client.send(.post, "/v1/memories", token: alice, json: ["content": "Release note rule number 3"])
            #expect(limited.status == .tooManyRequests)
            #expect(limited.errorCode == "rate_limited")
            let seconds = try #require(Self.retryAfter(limited))
            #expect(seconds >= 1)
            let read = try await client.send(.get, "/v1/memories", token: alice)
            #expect(read.status == .ok)
            #expect(read.json["memories"]?.items.count == 2)
            let other = try await client.send(.post, "/v1/memories", token: bob, json: ["content": "Bob's own rule"])
            #expect(other.status == .created)
        }
    }

    @Test func mcpWriteToolBeyondTheBurstIsAJSONRPCRateLimitError() async throws {
        let server = try await RouteServer(limits: Self.limits)
        let alice = try await server.token("alice")
        try await server.test { client in
            for n in 1...2 {
                let saved = try await client.callTool("alice", token: alice, "add_memory", ["content": .string("Deploy checklist item \(n)")])
                #expect(saved.json["result"]?["isError"] == false, "write \(n)")
            }
            let limited = try await client.callTool("alice", token: alice, "add_memory", ["content": "Deploy checklist item 3"])
            #expect(limited.status == .tooManyRequests)
            #expect(limited.json["jsonrpc"] == "2.0")
            #expect(limited.json["id"] == 1)
            #expect(limited.rpcErrorCode == -32000)
            #expect(limited.json["error"]?["message"]?.stringValue?.hasPrefix("Rate limited: ") == true)
            let seconds = try #require(Self.retryAfter(limited))
            #expect(seconds >= 1)
            #expect(limited.json["error"]?["data"]?["retry_after"] == .int(Int64(seconds)))
            #expect(limited.errorCode == nil, "a JSON-RPC error, not a REST error body")
            let read = try await client.callTool("alice", token: alice, "list_memories", [:])
            #expect(read.status == .ok)
            #expect(read.json["result"]?["structuredContent"]?["memories"]?.items.count == 2)
        }
    }
}
