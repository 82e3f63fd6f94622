import EngramAccounts
import EngramAuth
import EngramCore
import EngramHTTP
import EngramHTTPEdge
import EngramMemory
import Foundation
import HTTPTypes
import Hummingbird

/// Sign-in, sign-out and re-prompt (`/v1/session`), single-use links (`/v1/links/…`), and the
/// member's own account (`/v1/me/…`: tokens, sessions, TOTP, password). The rules live in
/// `AccountService`; this file reads requests, applies the sign-in limits and sets cookies.
///
/// Limits: every failed password, code, link or re-prompt takes a token from two buckets, the client
/// IP's and the account's; when either is empty the request is answered 429 with `Retry-After` before
/// any check runs, and the moment a bucket empties is audited as a lockout.
struct AccountRoutes: Sendable {
    let services: ServerServices
    let accounts: AccountService

    var secure: Bool { services.limits.behindTLS }

    func register(on router: Router<EngramRequestContext>) {
        let v1 = router.group("v1")
        v1.get("session") { _, context in
            let s = try requireSession(context)
            return JSONBody.response(AccountJSON.session(s, window: accounts.settings.reauthWindow))
        }
        v1.post("session") { request, context in try await signIn(request, context) }
        v1.delete("session") { request, context -> Response in
            let s = try requireSession(context)
            try await accounts.signOut(s, client: client(request, context))
            return Response(status: .noContent, headers: [.setCookie: SessionCookie.clear(secure: secure)])
        }
        v1.post("session/reauth") { request, context in
            let s = try requireSession(context)
            let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
            let info = client(request, context)
            let keys = ["ip:" + info.ip, "acct:" + s.userId]
            try await refuseIfLocked(keys)
            let issued: IssuedSession
            do {
                issued = try await accounts.reauthenticate(
                    s,
                    password: body["password"]?.stringValue ?? "",
                    code: body["totp_code"]?.stringValue,
                    client: info
                )
            } catch let error as AccountError where error == .invalidCredentials || error == .invalidTOTP {
                try await recordFailure(keys, userId: s.userId, client: info)
                throw error
            }
            return sessionResponse(issued)
        }
        registerLinks(on: v1)
        registerMe(on: v1.group("me"))
    }

    // MARK: - Sign-in

    func signIn(_ request: Request, _ context: EngramRequestContext) async throws -> Response {
        guard SessionMiddleware.sameOrigin(request, behindTLS: secure) else {
            throw APIError(.forbidden, code: "csrf_failed", "sign-in from another origin")
        }
        let body = try await JSONBody.read(request, limit: services.limits.maxBodyBytes)
        guard let user = body["user_id"]?.stringValue, let password = body["password"]?.stringValue else {
            throw APIError.badRequest("body needs user_id and password")
        }
        let info = client(request, context)
        let keys = ["ip:" + info.ip, "acct:" + String(user.prefix(64))]
        try await refuseIfLocked(keys)
        do {
            let issued = try await accounts.signIn(
                userId: user,
                password: password,
                code: body["totp_code"]?.stringValue,
                orgId: body["org_id"]?.stringValue,
                client: info
            )
            // The browser's earlier session (another user's, or its own) ends: one browser, one session.
            if let earlier = SessionCookie.value(in: request) { try await accounts.endSession(cookie: earlier, client: info) }
            return sessionResponse(issued)
        } catch let error as AccountError where error == .invalidCredentials || error == .invalidTOTP {
            try await recordFailure(keys, userId: user, client: info)
            throw error
        }
    }

    /// 429 when the IP's or the account's bucket of failures is empty.
    func refuseIfLocked(_ keys: [String]) async throws {
        var waits: [Double] = []
        for key in keys { if let wait = await services.signInFailures.check(key) { waits.append(wait) } }
        if let wait = waits.max() { throw APIError.tooManyRequests(retryAfter: wait, "failed sign-in attempts") }
    }

    /// Counts a failure in each bucket; a bucket it empties is a lockout, audited with the IP.
    func recordFailure(_ keys: [String], userId: String?, client: ClientInfo) async throws {
        for key in keys {
            _ = await services.signInFailures.acquire(key)
            if await services.signInFailures.check(key) != nil {
                let scope = key.hasPrefix("ip:") ? "ip" : "account"
                try await accounts.recordLockout(userId: userId, client: client, scope: scope)
            }
        }
    }

    // MARK: - Helpers

    func client(_ request: Request, _ context: EngramRequestContext) -> ClientInfo {
        ClientInfo(ip: context.clientIP, userAgent: request.headers[.userAgent])
    }

    func requireSession(_ context: EngramRequestContext) throws -> BrowserSession {
        guard let s = context.session else { throw APIError.unauthorized("sign in first") }
        // A session confined to TOTP enrolment (`SessionMiddleware`) reaches only the enrolment routes.
        if context.identity == nil, let failure = context.authenticationFailure { throw failure }
        return s
    }

    /// The session's JSON with the cookie that carries it.
    func sessionResponse(_ issued: IssuedSession) -> Response {
        JSONBody.response(
            AccountJSON.session(issued.session, window: accounts.settings.reauthWindow),
            headers: [.setCookie: SessionCookie.set(issued.cookie, secure: secure)]
        )
    }

    /// Where links point: `ENGRAM_PUBLIC_URL`, else the request's own origin.
    static func baseURL(_ request: Request, services: ServerServices) -> String {
        ResourceURL.base(request, publicURL: services.publicURL, behindTLS: services.limits.behindTLS)
    }
}

extension EngramRequestContext {
    /// Refuses a sensitive change made with a browser session whose password prompt is older than the
    /// re-prompt window (bearer tokens are not re-prompted: programs, not people, send them).
    func requireRecentPassword(_ services: ServerServices) throws {
        if let session, let accounts = services.accounts { try accounts.requireRecentPassword(session) }
    }
}
