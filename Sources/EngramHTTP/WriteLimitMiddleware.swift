import EngramAuth
package import EngramHTTPEdge
import HTTPTypes
package import Hummingbird
import JWTKit

/// Write rate limit of the REST API (non-GET requests), per verified token (`jti`): the raw
/// `Authorization` text is not a key, so `bearer`/`BEARER`/extra spaces share the token's bucket.
/// MCP requests are all POSTs: the MCP endpoint limits its write tools itself, with the same key.
package struct WriteLimitMiddleware: RouterMiddleware {
    package typealias Context = EngramRequestContext
    package let writes: RateLimiter

    package init(writes: RateLimiter) { self.writes = writes }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.method != .get, request.method != .head, request.method != .options, !BrowserOriginMiddleware.isMCP(context),
            let wait = await writes.acquire(Self.key(context))
        {
            throw APIError.tooManyRequests(retryAfter: wait, "write requests")
        }
        return try await next(request, context)
    }

    /// The bucket of a write: the verified token's id, or the client IP without one
    /// (such a request fails authentication anyway).
    package static func key(_ context: Context) -> String {
        context.verifiedToken.map { "jti:" + $0.jti.value } ?? "ip:" + context.client.ip
    }
}
