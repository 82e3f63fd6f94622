import Foundation
public import HTTPTypes
public import Hummingbird
import NIOCore

/// An error answered as `{"error": {"code", "message"}}` with an HTTP status.
/// Messages are written for clients: they never contain secrets or memory content.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        let body: [String: [String: String]] = ["error": ["code": code, "message": message]]
        // Sorted keys: the same error reads byte for byte the same on every request.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(body)) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    package static func unauthorized(_ message: String) -> APIError {
        APIError(
            .unauthorized,
            code: "unauthorized",
            message,
            headers: [.wwwAuthenticate: #"Bearer realm="engram", error="invalid_token""#]
        )
    }

    /// 429 with `Retry-After` (whole seconds, at least 1).
    package static func tooManyRequests(retryAfter seconds: Double, _ what: String) -> APIError {
        APIError(
            .tooManyRequests,
            code: "rate_limited",
            "too many \(what); retry later",
            headers: [.retryAfter: String(max(1, Int(seconds.rounded(.up))))]
        )
    }

    /// Runs the rest of a middleware chain and returns its response, turning a thrown
    /// `HTTPResponseError` into the response it describes, so headers can be added to errors too.
    package static func responseOrError<Context: RequestContext>(
        _ request: Request,
        _ context: Context,
        _ next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        }
    }

    package static let forbidden = APIError(.forbidden, code: "forbidden", "forbidden")
    package static let notFound = APIError(.notFound, code: "not_found", "not found")
    package static func badRequest(_ message: String) -> APIError { APIError(.badRequest, code: "invalid_request", message) }
}
