import EngramCore
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
}
