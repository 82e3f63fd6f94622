import EngramAccounts
import EngramAuth
import EngramCore
import EngramHTTP
import EngramMemory
import Foundation

/// The JSON of sessions, tokens and links (never a cookie, password or link secret).
enum AccountJSON {
    static func time(_ d: Date) -> JSONValue { .string(RFC3339.format(d.timeIntervalSince1970)) }

    static func session(_ s: BrowserSession, window: TimeInterval) -> JSONValue {
        .object([
            "user_id": .string(s.userId), "org_id": s.orgId.map { .string($0) } ?? .null, "role": .string(s.role.rawValue),
            "csrf_token": .string(s.csrfToken), "totp_enabled": .bool(s.totpEnabled),
            "totp_enrolment_required": .bool(s.totpEnrolmentRequired),
            "reauth_until": s.reauthUntil(window: window).map(time) ?? .null, "expires_at": time(s.expiresAt),
        ])
    }

    static func sessionListing(_ s: BrowserSession, current: String?) -> JSONValue {
        .object([
            "id": .string(s.id), "created_at": time(s.createdAt), "last_seen_at": time(s.lastSeenAt), "expires_at": time(s.expiresAt),
            "ip": s.ip.map { .string($0) } ?? .null, "user_agent": s.userAgent.map { .string($0) } ?? .null,
            "current": .bool(s.id == current),
        ])
    }

    static func token(_ t: AccessTokenInfo) -> JSONValue {
        .object([
            "id": .string(t.id), "name": .string(t.name), "org_id": t.orgId.map { .string($0) } ?? .null, "role": .string(t.role.rawValue),
            "created_at": time(t.createdAt), "expires_at": time(t.expiresAt), "revoked": .bool(t.revoked),
        ])
    }

    static func link(_ l: LinkInfo) -> JSONValue {
        .object([
            "kind": .string(l.kind.rawValue), "user_id": .string(l.userId), "org_id": l.orgId.map { .string($0) } ?? .null,
            "role": l.role.map { .string($0.rawValue) } ?? .null, "has_password": .bool(l.hasPassword), "expires_at": time(l.expiresAt),
        ])
    }
}
