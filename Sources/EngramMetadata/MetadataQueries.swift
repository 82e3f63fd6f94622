/// The queries of users, organisations, members and invitations inside one tenant transaction.
/// The rules (owner counts, invitation lifetimes, identifier checks) belong to the caller.
public protocol MemberQueries {
    /// Creates the user unless it exists.
    func insertUser(id: String, at time: Double) throws
    /// Whether the user exists.
    func userExists(id: String) throws -> Bool
    /// Creates the organisation unless it exists.
    func insertOrganisation(id: String, name: String, at time: Double) throws
    /// The organisation, if it exists.
    func organisation(id: String) throws -> OrganisationRow?
    /// Sets the organisation's review policy; returns whether the organisation exists.
    func setRequireReview(_ on: Bool, orgId: String) throws -> Bool
    /// The member's role (raw value), or nil when not a member.
    func role(orgId: String, userId: String) throws -> String?
    /// The orgs the user belongs to, by id.
    func orgIds(userId: String) throws -> [String]
    /// How many members of the organisation have `role`.
    func memberCount(orgId: String, role: String) throws -> Int
    /// Adds the member, or with `replacingRole` sets the role of an existing one.
    func upsertMember(orgId: String, userId: String, role: String, at time: Double, replacingRole: Bool) throws
    /// Removes the member.
    func deleteMember(orgId: String, userId: String) throws
    /// Members of an organisation, by user id.
    func members(orgId: String) throws -> [MemberRow]
    /// Adds an invitation.
    func insertInvitation(_ invitation: InvitationRow) throws
    /// Whether an invitation of `userId` into `orgId` exists (live or not).
    func invitationExists(orgId: String, userId: String) throws -> Bool
    /// Removes the invitations of `userId` into `orgId` that expired at or before `now`.
    func deleteExpiredInvitations(orgId: String, userId: String, now: Double) throws
    /// Invitations alive after `now`, of an organisation and/or addressed to a user, oldest first.
    func invitations(orgId: String?, userId: String?, aliveAfter now: Double) throws -> [InvitationRow]
    /// The invitation with `id`; with `userId` and `aliveAfter`, only when addressed to that user and alive then.
    func invitation(id: String, userId: String?, aliveAfter now: Double?) throws -> InvitationRow?
    /// Removes the invitation.
    func deleteInvitation(id: String) throws
}

extension MemberQueries {
    /// The invitation with `id`, whoever it is addressed to and whether or not it is alive.
    public func invitation(id: String) throws -> InvitationRow? { try invitation(id: id, userId: nil, aliveAfter: nil) }
}

/// The queries of accounts (credentials, backup codes, sessions, access tokens, links) inside one
/// tenant transaction. The rules (expiry, rotation, single use) belong to the caller.
public protocol AccountQueries {
    func credential(userId: String) throws -> CredentialRow?
    func setPassword(userId: String, hash: String, at time: Double) throws
    /// Stores a sealed TOTP secret; `enabled` false keeps it pending (enrolment not confirmed).
    func setTOTP(userId: String, sealed: [UInt8]?, enabled: Bool) throws
    func setTOTPEnabled(userId: String, lastStep: Int64) throws
    /// Records the accepted step, only when it is later than the last one; returns whether it was.
    func advanceTOTPStep(userId: String, to step: Int64) throws -> Bool
    func replaceBackupCodes(userId: String, hashes: [String]) throws
    /// Marks an unused code used; returns whether there was one.
    func useBackupCode(userId: String, hash: String, at time: Double) throws -> Bool
    func insertSession(_ s: SessionRow) throws
    /// The session with this cookie hash (in the transaction's scope; `GlobalQueries` finds its owner first).
    func session(secretHash: String) throws -> SessionRow?
    func sessions(userId: String) throws -> [SessionRow]
    func touchSession(id: String, at time: Double) throws
    /// Gives the session a new cookie hash and CSRF token (rotation), and optionally a new re-prompt time.
    func rotateSession(id: String, secretHash: String, csrfToken: String, reauthAt: Double?, at time: Double) throws -> Bool
    @discardableResult
    func deleteSession(id: String, userId: String?) throws -> Bool
    /// Deletes every session of the user but `except`; returns how many.
    @discardableResult
    func deleteSessions(userId: String, except: String?) throws -> Int
    func insertAccessToken(_ t: AccessTokenRow) throws
    /// The user's tokens with whether each is revoked, newest first.
    func accessTokens(userId: String) throws -> [(AccessTokenRow, revoked: Bool)]
    func accessToken(jti: String, userId: String) throws -> AccessTokenRow?
    func insertLink(_ l: CredentialLinkRow) throws
    /// The link with this secret hash (in the transaction's scope; `GlobalQueries` finds its user first).
    func link(secretHash: String) throws -> CredentialLinkRow?
    /// Marks an unused link used; returns whether it was unused (single use under concurrency).
    func useLink(secretHash: String, at time: Double) throws -> Bool
    /// Spends the user's unused links of `kind` (a new reset link replaces the old ones).
    func expireLinks(userId: String, kind: String, at time: Double) throws
    /// The user's memberships (org id, role), by org id.
    func memberships(userId: String) throws -> [(orgId: String, role: String)]
    func requireTOTP(orgId: String) throws -> Bool
    func setRequireTOTP(_ on: Bool, orgId: String) throws -> Bool
}

extension AccountQueries {
    /// Deletes the session, whoever's it is.
    @discardableResult
    public func deleteSession(id: String) throws -> Bool { try deleteSession(id: id, userId: nil) }
    /// Deletes every session of the user.
    @discardableResult
    public func deleteSessions(userId: String) throws -> Int { try deleteSessions(userId: userId, except: nil) }
}

/// The queries of OAuth grants inside one tenant transaction (the user's). Rules (PKCE, single use,
/// rotation, reuse detection) are the caller's.
public protocol OAuthQueries {
    func insertCode(_ g: OAuthGrantRow) throws
    func code(hash: String) throws -> OAuthGrantRow?
    /// Spends a code; false when it was already spent.
    func useCode(hash: String, at time: Double) throws -> Bool
    func insertRefreshToken(_ g: OAuthGrantRow, at time: Double) throws
    func refreshToken(hash: String) throws -> OAuthGrantRow?
    /// Spends a live refresh token; false when it was spent or revoked already.
    func useRefreshToken(hash: String, at time: Double) throws -> Bool
    func recordAccessToken(jti: String, family: String, expiresAt: Double) throws
    /// Revokes a family: every refresh token, and every access token id. Returns the access tokens revoked.
    @discardableResult
    func revokeFamily(_ family: String, at time: Double) throws -> Int
}

/// The append-only audit log inside one tenant transaction.
public protocol AuditQueries {
    /// Appends `rows` (their `id` is assigned by the database).
    func appendAudit(_ rows: [AuditRow]) throws
    /// Rows of one organisation, newest first: at most `limit` with an id below `before`.
    func auditRows(orgId: String, limit: Int, before cursor: Int64?) throws -> [AuditRow]
}

/// The memory lifecycle inside one tenant transaction: versions, usage and the served log, verdicts,
/// webhook deliveries, quarantine and the org policies. Version snapshots and webhook secrets are
/// sealed and opened by the store when it encrypts at rest; rules live in `EngramMemory`.
public protocol LifecycleQueries {
    /// Appends versions. A `(memory, version)` pair that exists already is an error, or with
    /// `keepingExisting` (imports) left as it is.
    func appendVersions(_ rows: [VersionRow], keepingExisting: Bool) throws
    /// Every version of a memory, oldest first (a snapshot that does not open is returned empty).
    func versions(memoryId: String) throws -> [VersionRow]
    /// The versions of an organisation's memories recorded at or after `since`, by memory then version.
    func versions(orgId: String, since: Double) throws -> [VersionRow]
    /// Appends served-log rows and adds the given usage rows to those memories' rows: each row's
    /// `servedCount` is an increment (added), its times replace the stored ones only when later, so
    /// several writers (replicas) add up instead of overwriting each other.
    func recordUsage(served: [ServedRow], usage: [UsageRow]) throws
    /// Served-log rows of the last `since` seconds for the memories given (nil: all), newest first.
    func served(since: Double, memoryIds: [String]?, limit: Int) throws -> [ServedRow]
    /// Appends a verdict.
    func insertReport(_ r: ReportRow) throws
    /// Unresolved reports of a memory, oldest first.
    func openReports(memoryId: String) throws -> [ReportRow]
    /// An organisation's reports, newest first.
    func recentReports(orgId: String, since: Double, limit: Int) throws -> [ReportRow]
    /// Marks a memory's open reports resolved.
    func resolveReports(memoryId: String) throws
    /// Records a delivery id; false when it was recorded before (a replay).
    func recordDelivery(orgId: String, provider: String, deliveryId: String, at time: Double) throws -> Bool
    /// Forgets one delivery id (its processing failed, so a redelivery must run it again).
    func forgetDelivery(orgId: String, provider: String, deliveryId: String) throws
    /// An organisation's lifecycle policy, nil for an unknown organisation.
    func policy(orgId: String) throws -> LifecyclePolicyRow?
    /// Sets an organisation's policy; false for an unknown organisation.
    func setPolicy(_ p: LifecyclePolicyRow, orgId: String) throws -> Bool
    /// The organisation's webhook secret (opened), nil when none is set.
    func webhookSecret(orgId: String) throws -> String?
    /// Sets (or with nil clears) the organisation's webhook secret; false for an unknown organisation.
    func setWebhookSecret(_ secret: String?, orgId: String) throws -> Bool
    /// Records quarantined versions; a version already recorded stays as it was. Returns the rows added.
    @discardableResult
    func quarantine(_ rows: [QuarantineRow]) throws -> Int
    /// Quarantined versions of one organisation, newest first.
    func quarantined(orgId: String?) throws -> [QuarantineRow]
    /// Records pending store writes (`OutboxRow`), in the transaction that records their versions.
    func insertOutbox(_ rows: [OutboxRow]) throws
}

extension LifecycleQueries {
    /// Appends versions; one that exists already is an error.
    public func appendVersions(_ rows: [VersionRow]) throws { try appendVersions(rows, keepingExisting: false) }
    /// Served-log rows of the last `since` seconds, at most 1,000, newest first.
    public func served(since: Double, memoryIds: [String]? = nil) throws -> [ServedRow] {
        try served(since: since, memoryIds: memoryIds, limit: 1000)
    }
}

/// Every query a tenant transaction offers: what `MetadataStore.withTenant` hands its body.
public protocol MetadataTransaction: MemberQueries, AccountQueries, OAuthQueries, AuditQueries, LifecycleQueries {}

/// The only cross-tenant operations, run through `MetadataStore.withGlobal` (SECURITY DEFINER functions
/// in PostgreSQL, plain SQL in SQLite):
///
/// - authentication before a principal exists (session by cookie hash, link by secret hash, OAuth
///   clients, codes and refresh tokens by hash, token revocation); the writes that follow run in
///   `withTenant` with the owner's scope;
/// - start-up loaders (latest version numbers, usage, reports, policies) and the walks of every tenant
///   (rescan, export);
/// - background writes across tenants (the batched usage flush, a rescan's quarantine hits);
/// - sweeps (deleted memories past retention, purges, expired sessions).
public protocol GlobalQueries {
    /// Records a revoked token id (replacing an earlier record of it).
    func revoke(jti: String, at time: Double, expiresAt: Double?) throws
    /// Whether the token id has been revoked.
    func isRevoked(jti: String) throws -> Bool
    /// The session with this cookie hash, whoever's it is.
    func session(secretHash: String) throws -> SessionRow?
    /// The link with this secret hash, whoever's it is.
    func link(secretHash: String) throws -> CredentialLinkRow?
    func deleteExpiredSessions(before time: Double) throws
    /// Registers an OAuth client (public: no secret, no owner).
    func insertClient(_ c: OAuthClientRow) throws
    func client(id: String) throws -> OAuthClientRow?
    /// The authorization code with this hash, whoever's it is.
    func code(hash: String) throws -> OAuthGrantRow?
    /// The refresh token with this hash, whoever's it is.
    func refreshToken(hash: String) throws -> OAuthGrantRow?
    /// The highest version number recorded per memory.
    func latestVersionNumbers() throws -> [String: Int]
    /// Every version of every memory, by memory then version (rescan, export).
    func allVersions() throws -> [VersionRow]
    /// Memories whose latest version is a deletion recorded before `before`, with their organisation.
    func deletedBefore(_ before: Double) throws -> [(memoryId: String, orgId: String?, at: Double)]
    /// Removes every version, usage row, served-log row, report and quarantine row of the memories.
    func purge(memoryIds: [String]) throws
    /// Every usage row.
    func allUsage() throws -> [UsageRow]
    /// Appends served-log rows and adds usage rows of many tenants' memories (the batched flush): as
    /// `LifecycleQueries.recordUsage`, each `servedCount` is an increment and times keep the later one.
    func recordUsage(served: [ServedRow], usage: [UsageRow]) throws
    /// Every report, oldest first.
    func allReports() throws -> [ReportRow]
    /// Deletes served-log rows older than `before`; returns how many.
    @discardableResult
    func purgeServedLog(before: Double) throws -> Int
    /// Forgets deliveries recorded before `before`.
    func purgeDeliveries(before: Double) throws
    /// Every organisation's policy.
    func policies() throws -> [String: LifecyclePolicyRow]
    /// Records quarantined versions of any tenant (a rescan); returns the rows added.
    @discardableResult
    func quarantine(_ rows: [QuarantineRow]) throws -> Int
    /// Quarantined versions of one organisation (nil: every one), newest first.
    func quarantined(orgId: String?) throws -> [QuarantineRow]
    /// Up to `limit` entries of the change feed after `seq`, in feed order (replicas follow it to keep
    /// their in-memory index in step with writes made by others).
    func changes(after seq: Int64, limit: Int) throws -> [ChangeRow]
    /// The entries of the feed at `positions` that exist (a follower looks again for gaps it gave up:
    /// a transaction slower than the follower's patience).
    func changes(at positions: [Int64]) throws -> [ChangeRow]
    /// The feed's latest position (0 when empty).
    func latestChange() throws -> Int64
    /// Forgets feed entries recorded before `before`; returns how many.
    @discardableResult
    func purgeChanges(before: Double) throws -> Int
    /// Settles store writes: removes each memory's outbox rows up to the key's version.
    func settleOutbox(_ keys: [OutboxKey]) throws
    /// The latest recorded version of up to `limit` memories whose outbox rows are all older than `age`
    /// seconds (their writer crashed or the store refused it), oldest first. `now` is the caller's clock,
    /// used where the engine has none (SQLite); PostgreSQL ages rows on its own clock.
    func staleOutbox(olderThan age: Double, now: Double, limit: Int) throws -> [VersionRow]
    /// How many store writes are pending.
    func outboxDepth() throws -> OutboxDepth
}
