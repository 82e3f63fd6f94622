import EngramAccounts
import EngramAuth
import EngramHTTP
import EngramMemory
import HTTPTypes
import Hummingbird

/// Browser sessions, once per request, before bearer authentication: a request without an
/// `Authorization` header whose `engram_session` cookie names a live session acts as that session's
/// principal. A bearer token always wins over a cookie (programs never ride on a browser's session).
///
/// CSRF: a cookie-authenticated request with a method that changes state (anything but GET, HEAD,
/// OPTIONS) must carry `X-CSRF-Token` equal to the session's token, and an `Origin`, when sent, must be
/// the server's own; otherwise 403 `csrf_failed`. SameSite=Strict already keeps other sites' requests
/// from carrying the cookie; the token covers older browsers and same-site subdomains.
///
/// A session of an org that requires TOTP, whose user has not enrolled, only reaches the session
/// and enrolment routes (403 `totp_enrolment_required` elsewhere).
struct SessionMiddleware: RouterMiddleware {
    typealias Context = EngramRequestContext
    let accounts: AccountService?
    let behindTLS: Bool

    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!

    /// What a session still enrolling in TOTP may reach.
    static let enrolmentRoutes: Set<String> = [
        "/v1/session", "/v1/session/reauth", "/v1/me/totp/setup", "/v1/me/totp/enable", "/v1/me", "/v1/me/sessions",
        "/v1/me/sessions/{id}",
    ]

    /// Routes that open a session rather than act on one: a cookie sent along is not adopted (the
    /// sign-in replaces it; they check the origin themselves).
    static func opensSession(_ request: Request, _ context: Context) -> Bool {
        guard let path = context.endpointPath else { return false }
        return (path == "/v1/session" && request.method == .post) || path.hasPrefix("/v1/links/")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let accounts, request.headers[.authorization] == nil, !Self.opensSession(request, context),
            let cookie = SessionCookie.value(in: request),
            let session = try await accounts.session(cookie: cookie)
        else { return try await next(request, context) }
        var context = context
        context.session = session
        if ![.get, .head, .options].contains(request.method) {
            let sent = request.headers[Self.csrfHeader] ?? ""
            guard OneTimeSecret.constantTimeEquals(sent, session.csrfToken), Self.sameOrigin(request, behindTLS: behindTLS) else {
                throw APIError(.forbidden, code: "csrf_failed", "missing or wrong CSRF token, or a request from another origin")
            }
        }
        if session.totpEnrolmentRequired, !(context.endpointPath.map(Self.enrolmentRoutes.contains) ?? false) {
            context.authenticationFailure = AccountError.totpEnrolmentRequired
        } else {
            context.identity = session.principal
        }
        return try await next(request, context)
    }

    /// Whether the request's `Origin` (when sent) is this server: the scheme of the listener (https behind
    /// TLS) and the request's own host.
    static func sameOrigin(_ request: Request, behindTLS: Bool) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority else { return false }
        return origin == (behindTLS ? "https://" : "http://") + host
    }
}
