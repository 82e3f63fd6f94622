import Crypto
import EngramStore
import Foundation
import HTTPTypes
import Hummingbird

/// Policy at the edge, before any handler: DNS-rebinding protection on `/mcp`
/// (browser origins not on the allow-list get 403), CORS for the one configured
/// origin, rate limits on writes (per token) and on failed authentication (per IP),
/// answered with 429 and `Retry-After`.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = EngramRequestContext
    let limits: ServerLimits
    let writes: RateLimiter
    let authFailures: RateLimiter

    init(limits: ServerLimits, writes: RateLimiter) {
        self.limits = limits
        self.writes = writes
        authFailures = RateLimiter(rate: limits.authFailuresPerMinute / 60, burst: limits.authFailureBurst)
    }

    static func tooMany(_ seconds: Double, _ what: String) -> APIError {
        APIError(.tooManyRequests, code: "rate_limited", "too many \(what); retry later",
                 headers: [.retryAfter: String(max(1, Int(seconds.rounded(.up))))])
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        let path = request.uri.path
        if let origin, path.hasPrefix("/mcp"), !limits.allowedOrigins.contains(origin), origin != limits.corsOrigin {
            return Response(status: .forbidden)
        }
        let corsAllowed = origin != nil && origin == limits.corsOrigin
        if request.method == .options {
            guard corsAllowed else { return Response(status: .forbidden) }
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: origin!, .accessControlAllowMethods: "GET, POST, PATCH, DELETE, OPTIONS",
                .accessControlAllowHeaders: "Authorization, Content-Type, MCP-Protocol-Version", .accessControlMaxAge: "600",
                .vary: "Origin",
            ])
        }
        let ip = context.clientIP
        // An IP that keeps failing authentication is held off the authenticated surface
        // (health, readiness, the OpenAPI document and page assets stay reachable).
        let authenticated = request.headers[.authorization] != nil || path.hasPrefix("/mcp")
            || (path.hasPrefix("/v1/") && path != "/v1/openapi.json")
        if authenticated, let wait = authFailures.wouldAllow("ip:" + ip) { throw Self.tooMany(wait, "failed authentications") }
        // MCP requests are all POSTs: the MCP endpoint limits its write tools itself.
        if request.method != .get, request.method != .head, !path.hasPrefix("/mcp") {
            let key = Self.writeKey(request, ip: ip)
            if let wait = writes.take(key) { throw Self.tooMany(wait, "write requests") }
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as any HTTPResponseError where e.status == .unauthorized {
            _ = authFailures.take("ip:" + ip)
            throw e
        }
        if response.status == .unauthorized { _ = authFailures.take("ip:" + ip) }
        if corsAllowed {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.vary] = "Origin"
        }
        if limits.behindTLS { response.headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains" }
        return response
    }

    /// The bucket of a write: the caller's token, or its IP without one.
    static func writeKey(_ request: Request, ip: String) -> String {
        request.headers[.authorization].map { "tok:" + digest($0) } ?? "ip:" + ip
    }

    static func digest(_ s: String) -> String {
        Hex.lowercase(SHA256.hash(data: Data(s.utf8)).prefix(12))
    }
}
