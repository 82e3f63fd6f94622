import EngramAccounts
import EngramAuth
import EngramCore
import EngramHTTP
import EngramMemory
import Foundation

/// The JSON of organisation administration: audit entries, members, invitations, organisations.
enum OrgJSON {
    static func auditEntry(_ e: AuditEntry) -> JSONValue {
        .object([
            "id": .int(e.id), "at": .string(RFC3339.format(e.at.timeIntervalSince1970)), "actor": .string(e.actor),
            "action": .string(e.action), "org_id": e.orgId.map { .string($0) } ?? .null,
            "memory_id": e.memoryId.map { .string($0.lowercasedText) } ?? .null,
            "before_hash": e.beforeHash.map { .string($0) } ?? .null, "after_hash": e.afterHash.map { .string($0) } ?? .null,
            "detail": e.detail.map { .string($0) } ?? .null,
        ])
    }

    static func member(_ m: Membership) -> JSONValue {
        .object([
            "user_id": .string(m.userId), "role": .string(m.role.rawValue), "created_at": .string(RFC3339.format(m.createdAt.timeIntervalSince1970)),
        ])
    }

    static func invitation(_ i: Invitation) -> JSONValue {
        .object([
            "id": .string(i.id.lowercasedText), "org_id": .string(i.orgId), "user_id": .string(i.userId), "role": .string(i.role.rawValue),
            "invited_by": .string(i.invitedBy), "created_at": .string(RFC3339.format(i.createdAt.timeIntervalSince1970)),
            "expires_at": .string(RFC3339.format(i.expiresAt.timeIntervalSince1970)), "status": "pending",
        ])
    }

    static func organisation(_ o: Organisation) -> JSONValue {
        .object(["id": .string(o.id), "name": .string(o.name), "require_review": .bool(o.requireReview)])
    }
}
