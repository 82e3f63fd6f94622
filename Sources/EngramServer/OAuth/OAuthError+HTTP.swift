public import EngramAccounts
import EngramHTTP
import EngramMemory
import Foundation
public import HTTPTypes
public import Hummingbird
import NIOCore

/// OAuth endpoints answer errors in RFC 6749's shape, `{"error", "error_description"}`, not the REST
/// envelope: OAuth clients parse exactly that.
extension OAuthError: HTTPResponseError {
    public var status: HTTPResponse.Status { code == "invalid_client" ? .unauthorized : .badRequest }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(["error": code, "error_description": message])
        return Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}
