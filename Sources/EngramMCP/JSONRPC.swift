import EngramCore
import EngramHTTP
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The JSON-RPC 2.0 envelope of MCP: error codes, error responses, and the one mapping from a failed
/// request to its JSON-RPC answer.
enum JSONRPC {
    enum Code {
        static let parse = -32700, invalidRequest = -32600, methodNotFound = -32601, invalidParams = -32602, internalError = -32603
        /// Implementation-defined server error (JSON-RPC reserves -32000 to -32099): the call was rate-limited.
        static let rateLimited = -32000
    }

    static func errorResponse(
        id: JSONValue,
        code: Int,
        message: String,
        data: JSONValue? = nil,
        status: HTTPResponse.Status = .ok,
        headers: HTTPFields = [:]
    ) -> Response {
        var error: [String: JSONValue] = ["code": .int(Int64(code)), "message": .string(message)]
        if let data { error["data"] = data }
        return JSONBody.response(.object(["jsonrpc": "2.0", "id": id, "error": .object(error)]), status: status, headers: headers)
    }

    /// A write tool called while the caller's write budget is spent.
    struct RateLimited: Error {
        let retryAfter: Double
    }

    /// The one mapping from a failed request to its JSON-RPC answer: protocol faults keep their codes, a
    /// rate-limited call is a server error (-32000) with `data.retry_after`, HTTP 429 and `Retry-After`
    /// (MCP SDKs surface a JSON-RPC error body at any status), anything
    /// else an internal error (logged by type, never by content). Tool failures never get here: they
    /// are tool results with `isError` (`dispatch`).
    static func rpcErrorResponse(_ error: any Error, id: JSONValue, logger: Logger) -> Response {
        switch error {
        case let failure as Failure:
            return errorResponse(id: id, code: failure.code, message: failure.message)
        case let limited as RateLimited:
            let seconds = max(1, Int(limited.retryAfter.rounded(.up)))
            return errorResponse(
                id: id,
                code: Code.rateLimited,
                message: "Rate limited: too many write requests; retry after \(seconds) s",
                data: .object(["retry_after": .int(Int64(seconds))]),
                status: .tooManyRequests,
                headers: [.retryAfter: String(seconds)]
            )
        default:
            logger.error("request failed", metadata: ["error": "\(type(of: error))"])
            return errorResponse(id: id, code: Code.internalError, message: "Internal error")
        }
    }

    /// A protocol fault, answered with its JSON-RPC code.
    struct Failure: Error {
        let code: Int
        let message: String
    }

    /// One JSON-RPC message a client posts (batches are not supported).
    enum Message {
        /// A request: answered with a result or an error carrying its `id`.
        case request(id: JSONValue, method: String, params: JSONValue)
        /// A notification (no `id`): acknowledged with 202 and no body.
        case notification
        /// A client's response to a request the server never sends: acknowledged with 202.
        case clientResponse

        /// A malformed envelope: answered with HTTP 400 and this error.
        struct Rejection: Error {
            let id: JSONValue
            let code: Int
            let message: String
        }

        /// Parses a POST body: JSON (nesting bounded) holding one object with `jsonrpc: "2.0"`, a string
        /// `method` and a string or integer `id` (none for a notification); `params` defaults to `{}`.
        static func parse(_ data: Data) -> Result<Message, Rejection> {
            guard JSONBody.depthWithinLimit(data), let message = try? JSONDecoder().decode(JSONValue.self, from: data) else {
                return .failure(Rejection(id: .null, code: Code.parse, message: "Parse error: the body is not valid JSON"))
            }
            guard case let .object(o) = message else {
                if case .array = message {
                    return .failure(Rejection(id: .null, code: Code.invalidRequest, message: "Invalid Request: JSON-RPC batches are not supported"))
                }
                return .failure(Rejection(id: .null, code: Code.invalidRequest, message: "Invalid Request: expected a JSON-RPC object"))
            }
            let id = o["id"]
            let validID: JSONValue?
            switch id {
            case .string?, .int?: validID = id
            default: validID = nil
            }
            guard o["jsonrpc"] == "2.0" else {
                return .failure(Rejection(id: validID ?? .null, code: Code.invalidRequest, message: "Invalid Request: jsonrpc must be \"2.0\""))
            }
            guard case let .string(method)? = o["method"] else {
                // A response from the client (to a request we never send) or garbage.
                if validID != nil, o["result"] != nil || o["error"] != nil { return .success(.clientResponse) }
                return .failure(Rejection(id: validID ?? .null, code: Code.invalidRequest, message: "Invalid Request: method is missing"))
            }
            guard id != nil else { return .success(.notification) }
            guard let validID else {
                return .failure(Rejection(id: .null, code: Code.invalidRequest, message: "Invalid Request: id must be a string or an integer"))
            }
            return .success(.request(id: validID, method: method, params: o["params"] ?? .object([:])))
        }
    }
}
