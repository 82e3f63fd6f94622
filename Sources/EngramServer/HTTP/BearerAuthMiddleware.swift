import EngramAuth
import EngramHTTPEdge
import HTTPTypes
import Hummingbird

/// Failed-authentication limit. The bearer token is checked first: a token whose signature
/// verifies (even if expired) is never refused here, so valid users are never locked out by
/// other callers' failures. Failures (401s of requests without such a token) are counted per
/// real client IP and per subject the token claims (when it parses), and a caller whose bucket
/// is empty gets 429 — a bad client exhausts only its own buckets.
/// Records the verified claims in the context (`verifiedToken`) for the write limit.
struct AuthFailureLimitMiddleware: RouterMiddleware {
    typealias Context = EngramRequestContext
    let tokens: TokenService
    let failures: RateLimiter

    init(tokens: TokenService, limits: ServerLimits) {
        self.tokens = tokens
        failures = RateLimiter(rate: limits.authFailuresPerMinute / 60, burst: limits.authFailureBurst)
    }

    /// Routes that need no credential (unmatched paths answer 404 and need none either).
    static let publicRoutes: Set<String> = ["/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/admin", "/admin/{file}"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let token = TokenService.bearerToken(request.headers[.authorization])
        var signed = false
        if let token {
            do {
                context.verifiedToken = try await tokens.verify(token)
                signed = true
            } catch let error as TokenError {
                signed = error.signatureVerified
            }
        }
        if signed { return try await next(request, context) }
        var keys = ["ip:" + context.client.ip]
        if let token, let subject = TokenService.unverifiedSubject(token) { keys.append("sub:" + subject) }
        let needsCredential = request.headers[.authorization] != nil || context.endpointPath.map { !Self.publicRoutes.contains($0) } ?? false
        if needsCredential, let wait = keys.compactMap(failures.wouldAllow).max() {
            throw APIError.tooManyRequests(retryAfter: wait, "failed authentications")
        }
        do {
            let response = try await next(request, context)
            if response.status == .unauthorized { record(keys) }
            return response
        } catch let error as any HTTPResponseError where error.status == .unauthorized {
            record(keys)
            throw error
        }
    }

    private func record(_ keys: [String]) {
        for key in keys { _ = failures.take(key) }
    }
}
