import EngramCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The MCP endpoint's JSON-RPC framing, in process: every JSON-RPC error code `POST /mcp/{userId}`
/// produces (-32700 parse, -32600 invalid request, -32601 method not found, -32602 invalid params),
/// with the HTTP status and echoed id each comes with; an unsupported `MCP-Protocol-Version` is a
/// 400; notifications and client responses are acknowledged with 202 and no body.
@Suite struct MCPProtocolErrorTests {
    /// A malformed request body and the message its -32600 answer must carry.
    struct Malformed: Sendable, CustomTestStringConvertible {
        let body: String
        let message: String
        /// The id the error must echo (`.null` when the request's id is unusable).
        let id: JSONValue
        var testDescription: String { body }
    }

    static let malformed: [Malformed] = [
        Malformed(body: #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, message: "Invalid Request: JSON-RPC batches are not supported", id: .null),
        Malformed(body: #""ping""#, message: "Invalid Request: expected a JSON-RPC object", id: .null),
        Malformed(body: #"{"jsonrpc":"1.0","id":3,"method":"ping"}"#, message: #"Invalid Request: jsonrpc must be "2.0""#, id: 3),
        Malformed(body: #"{"id":4,"method":"ping"}"#, message: #"Invalid Request: jsonrpc must be "2.0""#, id: 4),
        Malformed(body: #"{"jsonrpc":"2.0","id":"five"}"#, message: "Invalid Request: method is missing", id: "five"),
        Malformed(body: #"{"jsonrpc":"2.0","id":true,"method":"ping"}"#, message: "Invalid Request: id must be a string or an integer", id: .null),
        Malformed(body: #"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, message: "Invalid Request: id must be a string or an integer", id: .null),
        Malformed(body: #"{"jsonrpc":"2.0","id":{"n":1},"method":"ping"}"#, message: "Invalid Request: id must be a string or an integer", id: .null),
    ]

    @Test func bodyThatIsNotJSONIsAParseError() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let response = try await client.send(.post, "/mcp/alice", token: token, raw: #"{"jsonrpc": "2.0", "id": 1,"#)
            #expect(response.status == .badRequest)
            #expect(response.rpcErrorCode == -32700)
            #expect(response.json["error"]?["message"] == "Parse error: the body is not valid JSON")
            #expect(response.json["id"] == .null)
            #expect(response.json["jsonrpc"] == "2.0")
        }
    }

    @Test(arguments: malformed) func malformedRequestIsInvalidRequest(_ c: Malformed) async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let response = try await client.send(.post, "/mcp/alice", token: token, raw: c.body)
            #expect(response.status == .badRequest)
            #expect(response.rpcErrorCode == -32600)
            #expect(response.json["error"]?["message"]?.stringValue == c.message)
            #expect(response.json["id"] == c.id)
        }
    }

    @Test func unknownMethodIsMethodNotFound() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let response = try await client.rpc("alice", token: token, method: "completion/complete", id: "req-7")
            #expect(response.status == .ok)
            #expect(response.rpcErrorCode == -32601)
            #expect(response.json["error"]?["message"] == "Method not found: completion/complete")
            #expect(response.json["id"] == "req-7")
            #expect(response.json["result"] == nil)
        }
    }

    @Test(arguments: [
        (JSONValue.object(["arguments": .object([:])]), "Invalid params: name is required"),
        (JSONValue.object(["name": 42]), "Invalid params: name is required"),
        (JSONValue.object(["name": "forget_everything", "arguments": .object([:])]), "Unknown tool: forget_everything"),
        (JSONValue.object(["name": "list_memories", "arguments": .array([1])]), "Invalid params: arguments must be an object"),
        (JSONValue.object(["name": "list_memories", "arguments": "limit=3"]), "Invalid params: arguments must be an object"),
    ])
    func badToolCallIsInvalidParams(_ params: JSONValue, _ message: String) async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let response = try await client.rpc("alice", token: token, method: "tools/call", params: params, id: 9)
            #expect(response.status == .ok)
            #expect(response.rpcErrorCode == -32602)
            #expect(response.json["error"]?["message"]?.stringValue == message)
            #expect(response.json["id"] == 9)
        }
    }

    @Test func unsupportedProtocolVersionIsRefusedWith400() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            let version = HTTPField.Name("MCP-Protocol-Version")!
            let refused = try await client.rpc("alice", token: token, method: "ping", headers: [version: "2024-11-05"])
            #expect(refused.status == .badRequest)
            #expect(refused.rpcErrorCode == -32600)
            #expect(refused.json["error"]?["message"]?.stringValue?.hasPrefix("Unsupported MCP-Protocol-Version") == true)
            for supported in ["2025-11-25", "2025-06-18", "2025-03-26"] {
                let accepted = try await client.rpc("alice", token: token, method: "ping", headers: [version: supported])
                #expect(accepted.status == .ok, "version \(supported)")
                #expect(accepted.json["result"] == .object([:]), "version \(supported)")
            }
        }
    }

    @Test func notificationIsAcceptedWithoutBody() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            for method in ["notifications/initialized", "notifications/cancelled", "tools/list"] {
                let response = try await client.rpc("alice", token: token, method: method, id: nil)
                #expect(response.status == .accepted, "\(method)")
                #expect(response.body.readableBytes == 0, "\(method)")
            }
        }
    }

    @Test func clientResponseObjectIsAcceptedWithoutBody() async throws {
        let server = try await RouteServer()
        let token = try await server.token("alice")
        try await server.test { client in
            for body in [#"{"jsonrpc":"2.0","id":7,"result":{}}"#, #"{"jsonrpc":"2.0","id":"s-1","error":{"code":-1,"message":"no"}}"#] {
                let response = try await client.send(.post, "/mcp/alice", token: token, raw: body)
                #expect(response.status == .accepted, "\(body)")
                #expect(response.body.readableBytes == 0, "\(body)")
            }
        }
    }
}
