import HTTPTypes
package import Hummingbird

/// Browser origins: DNS-rebinding protection on `/mcp` (a browser `Origin` not on the allow-list
/// gets 403), CORS preflights, and CORS headers on every response to an allowed origin — errors
/// included. `/mcp` allows `ENGRAM_ALLOWED_ORIGINS` (and the REST origin); the REST API allows the
/// one `ENGRAM_CORS_ORIGIN`. Routes are recognised by the router's match, not the raw path
/// (`//mcp/x` is `/mcp/{userId}`).
package struct BrowserOriginMiddleware: RouterMiddleware {
    package typealias Context = EngramRequestContext
    package let mcpOrigins: Set<String>
    package let restOrigin: String?

    package init(limits: ServerLimits) {
        mcpOrigins = limits.allowedOrigins.union(limits.corsOrigin.map { [$0] } ?? [])
        restOrigin = limits.corsOrigin
    }

    package static let mcpMethods = "GET, POST, DELETE, OPTIONS"
    package static let mcpRequestHeaders = "Authorization, Content-Type, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID"
    package static let mcpExposedHeaders = "Mcp-Session-Id, WWW-Authenticate"
    package static let restMethods = "GET, POST, PATCH, DELETE, OPTIONS"
    package static let restRequestHeaders = "Authorization, Content-Type, MCP-Protocol-Version"

    package static func isMCP(_ context: Context) -> Bool { context.endpointPath?.hasPrefix("/mcp/") ?? false }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let mcp = Self.isMCP(context)
        guard let origin = request.headers[.origin] else {
            if request.method == .options { throw APIError(.forbidden, code: "forbidden", "CORS preflight without Origin") }
            return try await next(request, context)
        }
        let allowed = mcp ? mcpOrigins.contains(origin) : origin == restOrigin
        guard allowed || (!mcp && request.method != .options) else {
            throw APIError(.forbidden, code: "forbidden", "origin not allowed")
        }
        if request.method == .options {
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: origin, .vary: "Origin", .accessControlMaxAge: "600",
                    .accessControlAllowMethods: mcp ? Self.mcpMethods : Self.restMethods,
                    .accessControlAllowHeaders: mcp ? Self.mcpRequestHeaders : Self.restRequestHeaders,
                ]
            )
        }
        var response = try await APIError.responseOrError(request, context, next)
        if allowed {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.vary] = "Origin"
            if mcp { response.headers[.accessControlExposeHeaders] = Self.mcpExposedHeaders }
        }
        return response
    }
}
