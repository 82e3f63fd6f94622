public import EngramAuth
public import Foundation

/// The timing rules of accounts.
public struct AccountSettings: Sendable {
    /// A session ends after this long without a request (sliding).
    public var sessionIdle: TimeInterval = 30 * 60
    /// A session ends this long after sign-in, whatever its activity.
    public var sessionAbsolute: TimeInterval = 12 * 3600
    /// How long a typed password keeps sensitive changes open (`ENGRAM_REAUTH_WINDOW_SECONDS`).
    public var reauthWindow: TimeInterval = 5 * 60
    /// How long a password reset link stays valid.
    public var resetLinkLifetime: TimeInterval = 3600
    /// `last_seen_at` is written at most this often (a session's idle clock is this coarse).
    public var touchInterval: TimeInterval = 30

    public init() {}
}

/// Who is signing in or acting, for sessions and the audit log (never a credential).
public struct ClientInfo: Sendable, Hashable {
    public var ip: String
    public var userAgent: String?

    public init(ip: String, userAgent: String?) {
        self.ip = ip
        self.userAgent = userAgent.map { String($0.prefix(200)) }
    }
}

/// A live browser session, as checked on a request.
public struct BrowserSession: Sendable, Hashable {
    /// The public id (listed on `/me`, used to revoke); not the cookie.
    public var id: String
    public var userId: String
    public var orgId: String?
    /// The member's current role in `orgId` (member without an org).
    public var role: Role
    public var csrfToken: String
    public var createdAt: Date
    public var lastSeenAt: Date
    /// When the session ends unless used again (idle limit, capped by the absolute one).
    public var expiresAt: Date
    /// When the person last typed their password.
    public var reauthAt: Date?
    public var totpEnabled: Bool
    /// The org requires TOTP and the user has none: only enrolment is allowed.
    public var totpEnrolmentRequired: Bool
    public var ip: String?
    public var userAgent: String?

    /// The principal the session acts as.
    public var principal: Principal { Principal(userId: userId, orgId: orgId, role: role) }

    /// Until when sensitive changes are open without a new password prompt.
    public func reauthUntil(window: TimeInterval) -> Date? { reauthAt.map { $0.addingTimeInterval(window) } }
}

/// A session just created or rotated: the cookie value to send (shown once) and the session.
public struct IssuedSession: Sendable {
    public var cookie: String
    public var session: BrowserSession
}

/// A personal access token as listed on `/me` (never the token itself).
public struct AccessTokenInfo: Sendable, Hashable {
    public var id: String
    public var name: String
    public var orgId: String?
    public var role: Role
    public var createdAt: Date
    public var expiresAt: Date
    public var revoked: Bool
}

/// A token just created: the JWT (shown once) and its listing.
public struct CreatedToken: Sendable {
    public var token: String
    public var info: AccessTokenInfo
}

/// What a link is, for the page that opens it.
public struct LinkInfo: Sendable, Hashable {
    public enum Kind: String, Sendable { case invitation, reset }
    public var kind: Kind
    public var userId: String
    public var orgId: String?
    public var role: Role?
    /// The user already has a password (an invitation then asks for it instead of a new one).
    public var hasPassword: Bool
    public var expiresAt: Date
}

/// A single-use link just issued: the secret (shown once, goes in the URL fragment) and its expiry.
public struct IssuedLink: Sendable {
    public var secret: String
    public var expiresAt: Date

    /// The page URL under `baseURL` (`…/invite#t=…` or `…/reset#t=…`).
    public func url(base baseURL: String, kind: LinkInfo.Kind) -> String {
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        return "\(base)/\(kind == .invitation ? "invite" : "reset")#t=\(secret)"
    }
}
