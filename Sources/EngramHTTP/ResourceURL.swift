package import Hummingbird

/// The base URL the server is reached at (`ENGRAM_PUBLIC_URL`, else the request's scheme and host):
/// the OAuth issuer, the prefix of every resource (`BASE/mcp/{userId}`) and of the links handed out.
package enum ResourceURL {
    package static func base(_ request: Request, publicURL: String?, behindTLS: Bool) -> String {
        if let publicURL { return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL }
        return (behindTLS ? "https://" : "http://") + (request.head.authority ?? "127.0.0.1")
    }

    /// The protected resource metadata URL of `/mcp/{userId}` (RFC 9728 §3.1: inserted well-known segment).
    package static func metadata(base: String, userId: String) -> String {
        base + "/.well-known/oauth-protected-resource/mcp/" + userId
    }
}

/// Every 401 from `/mcp/{userId}` names the resource's metadata (`WWW-Authenticate: Bearer …
/// resource_metadata="…"`), so an MCP client can discover the authorization server (RFC 9728 §5.1).
package struct ResourceChallengeMiddleware: RouterMiddleware {
    package typealias Context = EngramRequestContext
    package let publicURL: String?
    package let behindTLS: Bool

    package init(publicURL: String?, behindTLS: Bool) {
        self.publicURL = publicURL
        self.behindTLS = behindTLS
    }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await APIError.responseOrError(request, context, next)
        if response.status == .unauthorized, context.endpointPath == "/mcp/{userId}", let user = context.parameters.get("userId") {
            let url = ResourceURL.metadata(base: ResourceURL.base(request, publicURL: publicURL, behindTLS: behindTLS), userId: user)
            response.headers[.wwwAuthenticate] = #"Bearer realm="engram", error="invalid_token", resource_metadata=""# + url + "\""
        }
        return response
    }
}
