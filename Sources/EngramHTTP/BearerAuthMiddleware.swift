package import EngramAccounts
package import EngramAuth
import EngramCore
package import EngramHTTPEdge
import EngramMemory
import HTTPTypes
package import Hummingbird
import JWTKit

/// Bearer authentication, once per request, and the failed-authentication limit.
///
/// The token is verified here and nowhere else: its signature, algorithm and time claims, then the
/// caller against the member directory (a revoked token, an unknown user or a removed member is
/// refused, and the role is the member's current role, never more than the token's). The principal
/// becomes the context's `identity`; a failure is kept for `requirePrincipal()`, so each route still
/// decides whether it needs a caller (health, the OpenAPI document and the admin page do not).
///
/// A token whose signature verifies (even if expired) is never refused by the limit, so valid users
/// are never locked out by other callers' failures. Failures (401s of requests without such a token)
/// are counted per real client IP and per subject the token claims (when it parses), and a caller
/// whose bucket is empty gets 429: a bad client exhausts only its own buckets.
package struct BearerAuthMiddleware: RouterMiddleware {
    package typealias Context = EngramRequestContext
    package let verifier: any BearerTokenVerifier
    package let directory: MemberDirectory
    package let failures: RateLimiter

    /// The base URL of resources (`ENGRAM_PUBLIC_URL`), for the audience check.
    package var publicURL: String? = nil
    package var behindTLS = false

    /// `shared`: the failure buckets of every replica on one database (nil: this process's only).
    package init(
        verifier: any BearerTokenVerifier,
        directory: MemberDirectory,
        limits: ServerLimits,
        publicURL: String? = nil,
        shared: (any SharedRateBuckets)? = nil
    ) {
        self.publicURL = publicURL
        behindTLS = limits.behindTLS
        self.verifier = verifier
        self.directory = directory
        failures = RateLimiter(rate: limits.authFailuresPerMinute / 60, burst: limits.authFailureBurst, name: "auth-failures", shared: shared)
    }

    /// Routes that need no credential (unmatched paths answer 404 and need none either).
    package static let publicRoutes: Set<String> = [
        "/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/admin", "/admin/{file}", "/signin", "/me", "/invite", "/reset",
        "/account/{file}", "/.well-known/oauth-protected-resource/mcp/{userId}", "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration", "/oauth/register", "/oauth/authorize", "/oauth/token", "/oauth/revoke",
    ]
    /// Routes whose failures the sign-in limit counts instead (`AccountRoutes`): a wrong password is
    /// not a bad bearer token, and a page asking whether it has a session is not a failure at all.
    package static let credentialRoutes: Set<String> = [
        "/v1/session", "/v1/session/reauth", "/v1/links/inspect", "/v1/links/invitation", "/v1/links/reset",
    ]

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // A browser session (`SessionMiddleware`) is a verified credential; credential routes keep their own limit.
        if request.headers[.authorization] == nil,
            context.session != nil || context.endpointPath.map(Self.credentialRoutes.contains) ?? false
        {
            return try await next(request, context)
        }
        var context = context
        let token = TokenService.bearerToken(request.headers[.authorization])
        var signed = false
        let stage = StageClock.start()
        if let token {
            do {
                let claims = try await verifier.verify(token)
                context.verifiedToken = claims
                signed = true
                if Self.needsCaller(context) {
                    do {
                        try checkAudience(claims, request, context)
                        context.identity = try await principal(claims)
                    } catch {
                        context.authenticationFailure = error
                    }
                }
            } catch let error as TokenError {
                signed = error.signatureVerified
                context.authenticationFailure = APIError.unauthorized(error.description)
            }
        }
        StageClock.stop(.auth, stage)
        if signed { return try await next(request, context) }
        var keys = ["ip:" + context.client.ip]
        if let token, let subject = TokenService.unverifiedSubject(token) { keys.append("sub:" + subject) }
        let needsCredential =
            request.headers[.authorization] != nil || context.endpointPath.map { !Self.publicRoutes.contains($0) } ?? false
        if needsCredential {
            var waits: [Double] = []
            for key in keys { if let wait = await failures.check(key) { waits.append(wait) } }
            if let wait = waits.max() { throw APIError.tooManyRequests(retryAfter: wait, "failed authentications") }
        }
        do {
            let response = try await next(request, context)
            if response.status == .unauthorized { await record(keys) }
            return response
        } catch let error as any HTTPResponseError where error.status == .unauthorized {
            await record(keys)
            throw error
        }
    }

    /// Whether the matched route may ask for the caller (every route but the credential-free ones;
    /// `/metrics` asks callers that are not local).
    package static func needsCaller(_ context: Context) -> Bool {
        guard let path = context.endpointPath else { return false }
        return path == "/metrics" || !publicRoutes.contains(path)
    }

    /// The caller a verified token names, re-checked against the directory.
    package func principal(_ claims: TokenClaims) async throws -> Principal {
        if try await directory.isRevoked(jti: claims.jti.value) { throw APIError.unauthorized(TokenError.revoked.description) }
        var principal = claims.principal
        if let org = principal.orgId {
            guard let current = try await directory.role(userId: principal.userId, orgId: org) else {
                throw APIError.unauthorized("not a member of this organisation")
            }
            principal.role = min(current, principal.role)
        } else if !(try await directory.userExists(principal.userId)) {
            throw APIError.unauthorized("unknown user")
        }
        return principal
    }

    /// An OAuth access token names the one resource it is for (`aud`): it works on that user's MCP
    /// endpoint of this server and nowhere else (another user's endpoint, the REST API: 403).
    package func checkAudience(_ claims: TokenClaims, _ request: Request, _ context: Context) throws {
        guard let audience = claims.aud else { return }
        let expected =
            context.endpointPath == "/mcp/{userId}"
            ? context.parameters.get("userId").map { ResourceURL.base(request, publicURL: publicURL, behindTLS: behindTLS) + "/mcp/" + $0 } : nil
        guard let expected, audience == expected || audience == expected + "/" else {
            throw APIError(.forbidden, code: "forbidden", "this access token is for another resource")
        }
    }

    private func record(_ keys: [String]) async {
        for key in keys { _ = await failures.acquire(key) }
    }
}
