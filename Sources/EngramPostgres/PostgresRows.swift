import EngramMetadata
import Foundation

// The row decoders the PostgreSQL transactions share: one tuple type and one mapping per table.

/// The columns of a memory version, in `VersionRow`'s order.
let versionColumns = """
    memory_id, version, at, actor, channel, client, request_id, reason, org_id, state, content_hash, snapshot, token_id
    """

typealias VersionTuple = (String, Int, Double, String, String, String?, String?, String, String?, String, String, Data, String?)

func versionRow(_ t: VersionTuple) -> VersionRow {
    VersionRow(
        memoryId: t.0,
        version: t.1,
        at: t.2,
        actor: t.3,
        channel: t.4,
        client: t.5,
        requestId: t.6,
        reason: t.7,
        orgId: t.8,
        state: t.9,
        contentHash: t.10,
        snapshot: t.11,
        tokenId: t.12
    )
}

typealias ReportTuple = (Int64, Double, String, String?, String, String, String?, Bool)

func reportRow(_ t: ReportTuple) -> ReportRow {
    ReportRow(id: t.0, at: t.1, memoryId: t.2, orgId: t.3, userId: t.4, verdict: t.5, note: t.6, resolved: t.7)
}

typealias QuarantineTuple = (String, Int, String?, String, Double)

func quarantineRow(_ t: QuarantineTuple) -> QuarantineRow {
    QuarantineRow(memoryId: t.0, version: t.1, orgId: t.2, rules: t.3, at: t.4)
}

typealias SessionTuple = (String, String, String, String?, String, Double, Double, Double, Double?, String?, String?)

func sessionRow(_ t: SessionTuple) -> SessionRow {
    SessionRow(
        id: t.0,
        secretHash: t.1,
        userId: t.2,
        orgId: t.3,
        csrfToken: t.4,
        createdAt: t.5,
        lastSeenAt: t.6,
        expiresAt: t.7,
        reauthAt: t.8,
        ip: t.9,
        userAgent: t.10
    )
}

typealias LinkTuple = (String, String, String, String?, String, Double, Double, Double?)

func linkRow(_ t: LinkTuple) -> CredentialLinkRow {
    CredentialLinkRow(
        secretHash: t.0,
        kind: t.1,
        userId: t.2,
        invitationId: t.3,
        createdBy: t.4,
        createdAt: t.5,
        expiresAt: t.6,
        usedAt: t.7
    )
}

typealias CodeTuple = (String, String, String, String, String?, String, String?, Double, Double?, String, String)

func codeRow(_ t: CodeTuple) -> OAuthGrantRow {
    OAuthGrantRow(
        hash: t.0,
        family: t.1,
        clientId: t.2,
        userId: t.3,
        orgId: t.4,
        resource: t.5,
        scope: t.6,
        expiresAt: t.7,
        usedAt: t.8,
        redirectURI: t.9,
        codeChallenge: t.10
    )
}

typealias RefreshTuple = (String, String, String, String, String?, String, String?, Double, Double?, Double?)

func refreshRow(_ t: RefreshTuple) -> OAuthGrantRow {
    OAuthGrantRow(
        hash: t.0,
        family: t.1,
        clientId: t.2,
        userId: t.3,
        orgId: t.4,
        resource: t.5,
        scope: t.6,
        expiresAt: t.7,
        usedAt: t.8,
        revokedAt: t.9
    )
}

typealias InvitationTuple = (String, String, String, String, String, Double, Double)

func invitationRow(_ t: InvitationTuple) -> InvitationRow {
    InvitationRow(id: t.0, orgId: t.1, userId: t.2, role: t.3, invitedBy: t.4, createdAt: t.5, expiresAt: t.6)
}

typealias AccessTokenTuple = (String, String, String?, String, String, Double, Double)

func accessTokenRow(_ t: AccessTokenTuple) -> AccessTokenRow {
    AccessTokenRow(jti: t.0, userId: t.1, orgId: t.2, role: t.3, name: t.4, createdAt: t.5, expiresAt: t.6)
}

typealias AuditTuple = (Int64, Double, String?, String, String, String?, String?, String?, String?)

func auditRow(_ t: AuditTuple) -> AuditRow {
    AuditRow(
        id: t.0,
        at: t.1,
        orgId: t.2,
        actor: t.3,
        action: t.4,
        memoryId: t.5,
        beforeHash: t.6,
        afterHash: t.7,
        detail: t.8
    )
}
