public import EngramAuth
public import EngramMetadata
public import Foundation
import Logging

/// People's accounts: passwords, TOTP and backup codes, browser sessions, personal access tokens,
/// and the single-use invitation and reset links that set a password. The HTTP layer calls it with
/// what it read from a request (cookie value, client address); rate limits stay at the edge.
///
/// Every write runs in one metadata transaction, in the user's scope, with the rule that guards it (a
/// link is spent, a TOTP step advanced, a backup code used exactly once even under concurrent requests).
/// Lookups before anyone is signed in (a cookie, a link) go through the store's global surface. Security
/// events go to the audit log of each org the user belongs to, with ids and the client IP only.
public final class AccountService: Sendable {
    let metadata: any MetadataStore
    let directory: MemberDirectory
    let audit: AuditLog?
    let tokens: TokenService
    /// Seals TOTP secrets; nil when the server has no encryption key (enrolment is then refused).
    let totpBox: (any SecretSealing)?
    public let settings: AccountSettings
    /// The time the re-prompt window is measured against (tests move it; the server uses `Date()`).
    let clock: @Sendable () -> Date

    public init(
        metadata: any MetadataStore,
        directory: MemberDirectory,
        audit: AuditLog?,
        tokens: TokenService,
        totpBox: (any SecretSealing)?,
        settings: AccountSettings = AccountSettings(),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.clock = clock
        self.metadata = metadata
        self.directory = directory
        self.audit = audit
        self.tokens = tokens
        self.totpBox = totpBox
        self.settings = settings
    }

    // MARK: - Passwords

    /// Sets `userId`'s password (scripted setups: `engram user add --password-stdin`), creating the user.
    public func setPassword(userId: String, password: String, actor: String = "operator") async throws {
        try MemberDirectory.validate(identifier: userId, what: "user id")
        if let problem = PasswordPolicy.problem(password, userId: userId) { throw AccountError.weakPassword(problem) }
        let hash = await PasswordHasher.hash(password)
        let now = Date().timeIntervalSince1970
        try await metadata.write(.user(userId)) { tx in
            try tx.insertUser(id: userId, at: now)
            try tx.setPassword(userId: userId, hash: hash, at: now)
        }
        try await record(userId: userId, actor: actor, action: "password.set", detail: nil)
    }

    /// Changes the signed-in person's password after checking the current one; every other session ends.
    public func changePassword(_ session: BrowserSession, current: String, new password: String, client: ClientInfo) async throws {
        let stored = try await metadata.read(.user(session.userId)) { tx in try tx.credential(userId: session.userId)?.passwordHash }
        guard await PasswordHasher.verify(current, hash: stored) else { throw AccountError.invalidCredentials }
        if let problem = PasswordPolicy.problem(password, userId: session.userId) { throw AccountError.weakPassword(problem) }
        let hash = await PasswordHasher.hash(password)
        let now = Date().timeIntervalSince1970
        let ended = try await metadata.write(.user(session.userId)) { tx in
            try tx.setPassword(userId: session.userId, hash: hash, at: now)
            return try tx.deleteSessions(userId: session.userId, except: session.id)
        }
        try await record(
            userId: session.userId,
            actor: session.userId,
            action: "password.change",
            detail: "ip \(client.ip); \(ended) other sessions ended"
        )
    }

    // MARK: - Sign-in

    /// Checks the user id, password and (when enrolled) the TOTP or backup code, then opens a new
    /// session. Unknown users and wrong passwords take the same time and fail the same way. A session
    /// is always new: a cookie the browser sent along is not reused (session fixation).
    public func signIn(
        userId: String,
        password: String,
        code: String?,
        orgId requestedOrg: String?,
        client: ClientInfo,
        now: Date = Date()
    ) async throws -> IssuedSession {
        let known = (try? MemberDirectory.validate(identifier: userId, what: "user id")) != nil
        let credential = known ? try await metadata.read(.user(userId)) { tx in try tx.credential(userId: userId) } : nil
        guard await PasswordHasher.verify(password, hash: credential?.passwordHash), let credential else {
            // An id nobody has is not recorded: people type passwords into the user field by mistake.
            try await record(
                userId: credential == nil ? nil : userId,
                actor: credential == nil ? "unknown" : userId,
                action: "signin.failure",
                detail: "ip \(client.ip); reason \(credential == nil ? "unknown user or no password" : "wrong password")"
            )
            throw AccountError.invalidCredentials
        }
        if credential.totpEnabled {
            guard let code, !code.isEmpty else { throw AccountError.totpRequired }
            do {
                try await checkSecondFactor(userId: userId, credential: credential, code: code, now: now)
            } catch {
                try await record(userId: userId, actor: userId, action: "signin.failure", detail: "ip \(client.ip); reason wrong code")
                throw error
            }
        }
        let memberships = try await metadata.read(.user(userId)) { tx in try tx.memberships(userId: userId) }
        let org: String?
        if let requestedOrg, !requestedOrg.isEmpty {
            guard memberships.contains(where: { $0.orgId == requestedOrg }) else { throw AccountError.invalid("not a member of \(requestedOrg)") }
            org = requestedOrg
        } else {
            org = memberships.first?.orgId
        }
        let issued = try await openSession(userId: userId, orgId: org, client: client, now: now)
        try await record(userId: userId, actor: userId, action: "signin.success", detail: "ip \(client.ip); session \(issued.session.id)")
        return issued
    }

    /// Records a lockout (the edge's limit emptied for an IP or an account).
    public func recordLockout(userId: String?, client: ClientInfo, scope: String) async throws {
        try await record(userId: userId, actor: userId ?? "unknown", action: "signin.locked", detail: "ip \(client.ip); limit \(scope)")
    }

    /// The second factor: a TOTP code of a step later than the last accepted one, or an unused backup code.
    func checkSecondFactor(userId: String, credential: CredentialRow, code: String, now: Date) async throws {
        if let hash = BackupCodes.hash(code) {
            let time = now.timeIntervalSince1970
            let used = try await metadata.write(.user(userId)) { tx in try tx.useBackupCode(userId: userId, hash: hash, at: time) }
            guard used else { throw AccountError.invalidTOTP }
            try await record(userId: userId, actor: userId, action: "backup_code.use", detail: nil)
            return
        }
        guard let secret = try totpSecret(userId: userId, credential: credential),
            let step = TOTPCodes(secret: secret).matchingStep(code, at: now, after: credential.totpLastStep)
        else { throw AccountError.invalidTOTP }
        let fresh = try await metadata.write(.user(userId)) { tx in try tx.advanceTOTPStep(userId: userId, to: step) }
        guard fresh else { throw AccountError.invalidTOTP }
    }

    /// The user's TOTP secret, unsealed.
    package func totpSecret(userId: String, credential: CredentialRow) throws -> String? {
        guard let sealed = credential.totpSecret else { return nil }
        guard let totpBox else { throw AccountError.encryptionKeyMissing }
        return String(decoding: try totpBox.open(Data(sealed), owner: userId), as: UTF8.self)
    }

    // MARK: - Sessions

    func openSession(userId: String, orgId: String?, client: ClientInfo, now: Date) async throws -> IssuedSession {
        let secret = OneTimeSecret.generate()
        let time = now.timeIntervalSince1970
        let row = SessionRow(
            id: UUID().uuidString.lowercased(),
            secretHash: secret.hash,
            userId: userId,
            orgId: orgId,
            csrfToken: OneTimeSecret.generate().value,
            createdAt: time,
            lastSeenAt: time,
            expiresAt: time + settings.sessionAbsolute,
            reauthAt: time,
            ip: client.ip,
            userAgent: client.userAgent
        )
        // Expired sessions of every user go first (a sweep: the global surface).
        try await metadata.writeGlobal { tx in try tx.deleteExpiredSessions(before: time) }
        let session = try await metadata.write(.user(userId, org: orgId)) { tx in
            try tx.insertSession(row)
            return try self.describe(row, tx: tx, now: now)
        }
        guard let session else { throw AccountError.notFound }
        return IssuedSession(cookie: secret.value, session: session)
    }

    /// The live session a cookie names, its idle clock moved on; nil for an unknown, idle or expired
    /// one (which is deleted) or one whose org membership ended.
    public func session(cookie: String, now: Date = Date()) async throws -> BrowserSession? {
        guard !cookie.isEmpty, cookie.utf8.count <= 128 else { return nil }
        let hash = OneTimeSecret.hash(cookie)
        let time = now.timeIntervalSince1970
        // One read finds the session and what it grants (role, TOTP state); a write follows only when the
        // session ended or its idle clock moves on (at most every `touchInterval`).
        let touch = settings.touchInterval
        // Whose session the cookie names is a global lookup (no principal yet); the rest runs in the owner's scope.
        guard let scope = try await metadata.readGlobal({ tx in try tx.session(secretHash: hash).map { TenantScope.user($0.userId, org: $0.orgId) } })
        else { return nil }
        let found = try await metadata.read(scope) { tx -> (row: SessionRow, session: BrowserSession?)? in
            guard var row = try tx.session(secretHash: hash) else { return nil }
            if self.isOver(row, at: time) { return (row, nil) }
            if time - row.lastSeenAt >= touch { row.lastSeenAt = time }
            return (row, try self.describe(row, tx: tx, now: now))
        }
        guard let found else { return nil }
        guard let session = found.session else {
            if isOver(found.row, at: time) { try await metadata.write(scope) { tx in _ = try tx.deleteSession(id: found.row.id) } }
            return nil
        }
        if found.row.lastSeenAt == time { try await metadata.write(scope) { tx in try tx.touchSession(id: found.row.id, at: time) } }
        return session
    }

    func isOver(_ row: SessionRow, at time: Double) -> Bool {
        time >= row.expiresAt || time - row.lastSeenAt >= settings.sessionIdle
    }

    /// The session as the edge sees it, or nil when its org membership ended.
    func describe(_ row: SessionRow, tx: any MetadataTransaction, now: Date) throws -> BrowserSession? {
        var role = Role.member
        var enrolmentRequired = false
        if let org = row.orgId {
            guard let raw = try tx.role(orgId: org, userId: row.userId), let r = Role(rawValue: raw) else { return nil }
            role = r
            enrolmentRequired = try tx.requireTOTP(orgId: org)
        }
        let totpEnabled = try tx.credential(userId: row.userId)?.totpEnabled ?? false
        return BrowserSession(
            id: row.id,
            userId: row.userId,
            orgId: row.orgId,
            role: role,
            csrfToken: row.csrfToken,
            createdAt: Date(timeIntervalSince1970: row.createdAt),
            lastSeenAt: Date(timeIntervalSince1970: row.lastSeenAt),
            expiresAt: Date(timeIntervalSince1970: min(row.expiresAt, row.lastSeenAt + settings.sessionIdle)),
            reauthAt: row.reauthAt.map { Date(timeIntervalSince1970: $0) },
            totpEnabled: totpEnabled,
            totpEnrolmentRequired: enrolmentRequired && !totpEnabled,
            ip: row.ip,
            userAgent: row.userAgent
        )
    }

    /// Gives the session a new cookie and CSRF token (privilege changes: re-prompt, TOTP enrolment),
    /// optionally marking the password as just typed. The old cookie stops working at once.
    func rotate(_ session: BrowserSession, reauthenticated: Bool, now: Date = Date()) async throws -> IssuedSession {
        let secret = OneTimeSecret.generate()
        let time = now.timeIntervalSince1970
        let csrf = OneTimeSecret.generate().value
        let updated = try await metadata.write(.user(session.userId, org: session.orgId)) { tx -> BrowserSession? in
            guard try tx.rotateSession(id: session.id, secretHash: secret.hash, csrfToken: csrf, reauthAt: reauthenticated ? time : nil, at: time),
                let row = try tx.sessions(userId: session.userId).first(where: { $0.id == session.id })
            else { return nil }
            return try self.describe(row, tx: tx, now: now)
        }
        guard let updated else { throw AccountError.notFound }
        return IssuedSession(cookie: secret.value, session: updated)
    }

    /// Re-prompt: checks the password (and the second factor when enrolled), then rotates the session
    /// with the password marked as just typed.
    public func reauthenticate(
        _ session: BrowserSession,
        password: String,
        code: String?,
        client: ClientInfo,
        now: Date = Date()
    ) async throws
        -> IssuedSession
    {
        let credential = try await metadata.read(.user(session.userId)) { tx in try tx.credential(userId: session.userId) }
        guard await PasswordHasher.verify(password, hash: credential?.passwordHash), let credential else {
            try await record(userId: session.userId, actor: session.userId, action: "reauth.failure", detail: "ip \(client.ip)")
            throw AccountError.invalidCredentials
        }
        if credential.totpEnabled {
            guard let code, !code.isEmpty else { throw AccountError.totpRequired }
            try await checkSecondFactor(userId: session.userId, credential: credential, code: code, now: now)
        }
        let issued = try await rotate(session, reauthenticated: true, now: now)
        try await record(userId: session.userId, actor: session.userId, action: "reauth", detail: "ip \(client.ip); session \(session.id)")
        return issued
    }

    /// Refuses a sensitive change unless the password was typed within the re-prompt window.
    public func requireRecentPassword(_ session: BrowserSession, now: Date? = nil) throws {
        guard let until = session.reauthUntil(window: settings.reauthWindow), now ?? clock() < until else {
            throw AccountError.reauthRequired
        }
    }

    /// Ends the session (sign-out).
    public func signOut(_ session: BrowserSession, client: ClientInfo) async throws {
        try await metadata.write(.user(session.userId, org: session.orgId)) { tx in _ = try tx.deleteSession(id: session.id) }
        try await record(userId: session.userId, actor: session.userId, action: "signout", detail: "ip \(client.ip); session \(session.id)")
    }

    /// Ends the session a cookie names, if it is live (a new sign-in in the same browser).
    public func endSession(cookie: String, client: ClientInfo) async throws {
        if let earlier = try await session(cookie: cookie) { try await signOut(earlier, client: client) }
    }

    /// The user's live sessions, newest first.
    public func sessions(of userId: String, now: Date = Date()) async throws -> [BrowserSession] {
        let time = now.timeIntervalSince1970
        return try await metadata.read(.user(userId)) { tx in
            try tx.sessions(userId: userId).filter { !self.isOver($0, at: time) }.compactMap { try self.describe($0, tx: tx, now: now) }
        }
    }

    /// Ends one of the user's sessions (not found when it is not theirs).
    public func revokeSession(userId: String, id: String, actor: String) async throws {
        let removed = try await metadata.write(.user(userId)) { tx in try tx.deleteSession(id: id, userId: userId) }
        guard removed else { throw AccountError.notFound }
        try await record(userId: userId, actor: actor, action: "session.revoke", detail: "session \(id)")
    }

    // MARK: - Audit

    /// Appends an entry to the audit log of each org the user belongs to (none for an unknown user).
    func record(userId: String?, actor: String, action: String, detail: String?) async throws {
        guard let audit else { return }
        let orgs = if let userId { try await directory.memberships(userId: userId) } else { [String]() }
        try await audit.record(orgs: orgs, actor: actor, action: action, detail: detail)
    }
}

extension AccountService {
    /// Whether the user has a password (dev mode prints a link to set one until they do).
    public func hasPassword(userId: String) async throws -> Bool {
        try await metadata.read(.user(userId)) { tx in try tx.credential(userId: userId)?.passwordHash != nil }
    }
}
