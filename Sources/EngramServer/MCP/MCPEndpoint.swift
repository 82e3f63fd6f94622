import EngramAuth
import EngramCore
import EngramHTTPEdge
import EngramMemory
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics

/// MCP over Streamable HTTP, stateless, JSON responses: `POST /mcp/{userId}`.
///
/// Hand-written rather than the MCP Swift SDK: its stateless transport builds a
/// server per request and its stateful one keeps per-session state in memory.
/// Here every request stands alone, so restarts and replicas are
/// invisible to clients.
struct MCPEndpoint: Sendable {
    static let supportedVersions = ["2025-11-25", "2025-06-18", "2025-03-26"]
    static let latestVersion = "2025-11-25"
    static let protocolHeader = HTTPField.Name("MCP-Protocol-Version")!

    static let instructions = """
        Engram is your long-term memory for this user and their team.
        - At the start of every task, call search_memories with a short description of the task \
        (and the repository) to recall how this codebase and this user do things.
        - When you learn something durable — a build or test command, a convention, a pattern, a user preference, \
        a decision and its reason, a gotcha that cost time — save it with add_memory: one self-contained fact per memory.
        - Use scope "org" for knowledge the whole team should share (it stays a draft until finish_task), \
        "personal" for this user's own preferences.
        - When a memory turns out wrong, fix it with update_memory or remove it with delete_memory.
        - Call finish_task with the task_id when the task is done.
        - Never save secrets: tokens, keys, passwords or credentialed URLs are rejected.
        """

    let services: ServerServices

    func handle(_ request: Request, context: EngramRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard let pathUser = context.parameters.get("userId"), pathUser == principal.userId else {
            return Response(status: .forbidden)
        }
        if let version = request.headers[Self.protocolHeader], !Self.supportedVersions.contains(version) {
            return JSONRPC.errorResponse(
                id: .null,
                code: JSONRPC.Code.invalidRequest,
                message: "Unsupported MCP-Protocol-Version: supported are \(Self.supportedVersions.joined(separator: ", "))",
                status: .badRequest
            )
        }
        let buffer = try await request.body.collect(upTo: services.limits.maxBodyBytes)
        let id: JSONValue
        let method: String
        let params: JSONValue
        switch JSONRPC.Message.parse(Data(buffer.readableBytesView)) {
        case let .failure(rejection):
            return JSONRPC.errorResponse(id: rejection.id, code: rejection.code, message: rejection.message, status: .badRequest)
        case .success(.notification), .success(.clientResponse):
            return Response(status: .accepted)
        case let .success(.request(requestID, requestMethod, requestParams)):
            id = requestID
            method = requestMethod
            params = requestParams
        }
        do {
            if method == "tools/call", let tool = params["name"]?.stringValue.flatMap(Tool.init(rawValue:)), tool.isWrite,
                let wait = services.writeLimiter.take(WriteLimitMiddleware.key(context))
            {
                throw JSONRPC.RateLimited(retryAfter: wait)
            }
            let result = try await dispatch(method: method, params: params, principal: principal, logger: context.logger)
            return JSONBody.response(.object(["jsonrpc": "2.0", "id": id, "result": result]))
        } catch {
            return JSONRPC.rpcErrorResponse(error, id: id, logger: context.logger)
        }
    }

    func dispatch(method: String, params: JSONValue, principal: Principal, logger: Logger) async throws -> JSONValue {
        switch method {
        case "initialize":
            let requested = params["protocolVersion"]?.stringValue
            let version = requested.flatMap { Self.supportedVersions.contains($0) ? $0 : nil } ?? Self.latestVersion
            return .object([
                "protocolVersion": .string(version),
                "capabilities": .object(["tools": .object(["listChanged": false])]),
                "serverInfo": .object(["name": "engram", "title": "Engram memory", "version": .string(EngramVersion.current)]),
                "instructions": .string(Self.instructions),
            ])
        case "ping":
            return .object([:])
        case "tools/list":
            return .object(["tools": .array(services.tools.definitions)])
        case "tools/call":
            guard case let .string(name)? = params["name"] else {
                throw JSONRPC.Failure(code: JSONRPC.Code.invalidParams, message: "Invalid params: name is required")
            }
            guard let tool = Tool(rawValue: name), let validator = services.tools.validators[name] else {
                throw JSONRPC.Failure(code: JSONRPC.Code.invalidParams, message: "Unknown tool: \(name)")
            }
            let arguments = params["arguments"] ?? .object([:])
            guard case .object = arguments else {
                throw JSONRPC.Failure(code: JSONRPC.Code.invalidParams, message: "Invalid params: arguments must be an object")
            }
            Counter(label: "engram_mcp_tool_calls_total", dimensions: [("tool", name)]).increment()
            if let problem = validator.validate(arguments) {
                return Tool.errorResult("Invalid arguments for \(name): \(problem)")
            }
            do {
                return try await tool.call(arguments, principal: principal, memories: services.memories)
            } catch let e as MemoryError {
                logger.info("tool failed", metadata: ["tool": "\(name)", "code": "\(e.code)"])
                return Tool.errorResult(e.description)
            } catch {
                logger.error("tool crashed", metadata: ["tool": "\(name)", "error": "\(type(of: error))"])
                return Tool.errorResult("internal error")
            }
        default:
            throw JSONRPC.Failure(code: JSONRPC.Code.methodNotFound, message: "Method not found: \(method)")
        }
    }
}
