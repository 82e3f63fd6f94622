import EngramAccounts
import EngramAuth
import EngramDatabase
import EngramMetadata
import EngramPostgres
import Foundation
import Testing

@testable import EngramMemory

/// The account rules with a real SQLite file and an injected clock: session rotation, idle and
/// absolute expiry, re-prompt windows, TOTP replay, single-use backup codes and links.
@Suite struct AccountServiceTests {
    /// The SQLite file (its metadata unused under `Tests/postgres.sh`).
    let sqlite: EngramDatabase
    /// The metadata store's database (SQLite, or PostgreSQL under `Tests/postgres.sh`).
    let metadata: TestMetadata
    var database: any MetadataStore { metadata.store }
    let directory: MemberDirectory
    let audit: AuditLog
    let accounts: AccountService
    let client = ClientInfo(ip: "192.0.2.7", userAgent: "tests")
    static let password = "tidal-marmot-quarry-57"

    init() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("engram-accounts-\(UUID()).sqlite").path
        let sqlite = try EngramDatabase(path: path)
        self.sqlite = sqlite
        let metadata = try await TestMetadata.make { sqlite }
        self.metadata = metadata
        directory = MemberDirectory(metadata: metadata.store)
        audit = AuditLog(metadata: metadata.store)
        accounts = AccountService(
            metadata: metadata.store,
            directory: directory,
            audit: audit,
            tokens: await TokenService(secret: OneTimeSecret.generate().value + OneTimeSecret.generate().value),
            totpBox: SecretBox(masterKey: OneTimeSecret.generate().value, purpose: "totp")
        )
        try await directory.upsertMember(userId: "ada", orgId: "acme", role: .owner)
        try await accounts.setPassword(userId: "ada", password: Self.password)
    }

    func actions() async throws -> [String] { try await audit.entries(orgId: "acme", limit: 200).map(\.action) }

    @Test func signInOpensANewSessionAndSignOutEndsIt() async throws {
        let first = try await accounts.signIn(userId: "ada", password: Self.password, code: nil, orgId: nil, client: client)
        let second = try await accounts.signIn(userId: "ada", password: Self.password, code: nil, orgId: nil, client: client)
        #expect(first.cookie != second.cookie && first.session.id != second.session.id)
        #expect(first.session.csrfToken != second.session.csrfToken)
        #expect(first.session.principal == Principal(userId: "ada", orgId: "acme", role: .owner))
        let found = try await accounts.session(cookie: first.cookie)
        #expect(found?.id == first.session.id)
        #expect(try await accounts.session(cookie: "attacker-chosen-value") == nil)
        try await accounts.signOut(first.session, client: client)
        #expect(try await accounts.session(cookie: first.cookie) == nil)
        #expect(try await accounts.session(cookie: second.cookie) != nil)
        #expect(try await actions().filter { $0 == "signin.success" }.count == 2)
        #expect(try await actions().contains("signout"))
    }

    @Test func wrongPasswordAndUnknownUserFailAlike() async throws {
        await #expect(throws: AccountError.invalidCredentials) {
            _ = try await accounts.signIn(userId: "ada", password: "wrong-password-123", code: nil, orgId: nil, client: client)
        }
        await #expect(throws: AccountError.invalidCredentials) {
            _ = try await accounts.signIn(userId: "nobody", password: Self.password, code: nil, orgId: nil, client: client)
        }
        let entries = try await audit.entries(orgId: "acme", limit: 10)
        #expect(entries.contains { $0.action == "signin.failure" && ($0.detail ?? "").contains("192.0.2.7") })
        #expect(!entries.contains { ($0.detail ?? "").contains("wrong-password-123") })
    }

    @Test func sessionsExpireWhenIdleAndAtTheAbsoluteLimit() async throws {
        let t0 = Date()
        let issued = try await accounts.signIn(userId: "ada", password: Self.password, code: nil, orgId: nil, client: client, now: t0)
        let idle = accounts.settings.sessionIdle
        // Used within the idle limit: alive, and the idle clock moves on.
        #expect(try await accounts.session(cookie: issued.cookie, now: t0.addingTimeInterval(idle - 60)) != nil)
        #expect(try await accounts.session(cookie: issued.cookie, now: t0.addingTimeInterval(2 * idle - 120)) != nil)
        // Not used for longer than the idle limit: gone (and deleted).
        #expect(try await accounts.session(cookie: issued.cookie, now: t0.addingTimeInterval(3 * idle)) == nil)
        #expect(try await accounts.session(cookie: issued.cookie, now: t0.addingTimeInterval(2 * idle - 100)) == nil)

        // Kept busy, a session still ends at the absolute limit.
        let busy = try await accounts.signIn(userId: "ada", password: Self.password, code: nil, orgId: nil, client: client, now: t0)
        var t = t0
        while t < t0.addingTimeInterval(accounts.settings.sessionAbsolute - idle) {
            t = t.addingTimeInterval(idle / 2)
            #expect(try await accounts.session(cookie: busy.cookie, now: t) != nil)
        }
        #expect(try await accounts.session(cookie: busy.cookie, now: t0.addingTimeInterval(accounts.settings.sessionAbsolute + 1)) == nil)
    }

    @Test func aRemovedMemberLosesTheSession() async throws {
        try await directory.upsertMember(userId: "bob", orgId: "acme", role: .member)
        try await accounts.setPassword(userId: "bob", password: Self.password)
        let issued = try await accounts.signIn(userId: "bob", password: Self.password, code: nil, orgId: nil, client: client)
        try await directory.removeMember(userId: "bob", orgId: "acme")
        #expect(try await accounts.session(cookie: issued.cookie) == nil)
    }

    @Test func reauthenticationRotatesTheSessionAndOpensTheWindow() async throws {
        let t0 = Date()
        let issued = try await accounts.signIn(userId: "ada", password: Self.password, code: nil, orgId: nil, client: client, now: t0)
        let window = accounts.settings.reauthWindow
        try accounts.requireRecentPassword(issued.session, now: t0.addingTimeInterval(window - 1))
        #expect(throws: AccountError.reauthRequired) { try accounts.requireRecentPassword(issued.session, now: t0.addingTimeInterval(window + 1)) }
        let later = t0.addingTimeInterval(window + 10)
        await #expect(throws: AccountError.invalidCredentials) {
            _ = try await accounts.reauthenticate(issued.session, password: "not-the-password-9", code: nil, client: client, now: later)
        }
        let rotated = try await accounts.reauthenticate(issued.session, password: Self.password, code: nil, client: client, now: later)
        #expect(rotated.cookie != issued.cookie && rotated.session.id == issued.session.id)
        #expect(rotated.session.csrfToken != issued.session.csrfToken)
        #expect(try await accounts.session(cookie: issued.cookie, now: later) == nil)
        try accounts.requireRecentPassword(rotated.session, now: later.addingTimeInterval(window - 1))
    }

    @Test func totpEnrolmentReplayAndBackupCodes() async throws {
        let issued = try await accounts.signIn(userId: "ada", password: Self.password, code: nil, orgId: nil, client: client)
        let (secret, uri) = try await accounts.beginTOTP(issued.session)
        #expect(uri.contains(secret))
        let raw = try #require(try await storedCredential())
        let sealed = Data(try #require(raw.totpSecret))
        #expect(sealed.range(of: Data(secret.utf8)) == nil)  // sealed, not the base32 text
        let totp = TOTPCodes(secret: try await plainSecret())
        let now = Date()
        let step = TOTPCodes.step(at: now)
        let (codes, rotated) = try await accounts.enableTOTP(issued.session, code: totp.code(step: step), client: client, now: now)
        #expect(codes.count == 10)
        #expect(rotated.cookie != issued.cookie)
        // The stored codes are hashes.
        let stored: [String]
        if let postgres = metadata.postgres {
            stored = try await postgres.withTenant(try PostgresTenantScope.user("ada"), readOnly: true) { tx in
                try tx.column("SELECT code_hash FROM engram.backup_codes", as: String.self)
            }
        } else {
            stored = try await sqlite.pool.read { db in try String.fetchAll(db, sql: "SELECT code_hash FROM backup_codes") }
        }
        #expect(Set(stored) == Set(codes.compactMap(BackupCodes.hash)))

        await #expect(throws: AccountError.totpRequired) {
            _ = try await accounts.signIn(userId: "ada", password: Self.password, code: nil, orgId: nil, client: client, now: now)
        }
        // The enrolment's code is spent: the same step again is a replay.
        await #expect(throws: AccountError.invalidTOTP) {
            _ = try await accounts.signIn(userId: "ada", password: Self.password, code: totp.code(step: step), orgId: nil, client: client, now: now)
        }
        let next = now.addingTimeInterval(30)
        _ = try await accounts.signIn(userId: "ada", password: Self.password, code: totp.code(step: step + 1), orgId: nil, client: client, now: next)
        await #expect(throws: AccountError.invalidTOTP) {
            _ = try await accounts.signIn(
                userId: "ada",
                password: Self.password,
                code: totp.code(step: step + 1),
                orgId: nil,
                client: client,
                now: next
            )
        }
        // A backup code works once.
        _ = try await accounts.signIn(userId: "ada", password: Self.password, code: codes[3], orgId: nil, client: client, now: next)
        await #expect(throws: AccountError.invalidTOTP) {
            _ = try await accounts.signIn(userId: "ada", password: Self.password, code: codes[3], orgId: nil, client: client, now: next)
        }
        let acts = try await actions()
        #expect(acts.contains("totp.enrol") && acts.contains("backup_code.use"))
    }

    @Test func totpNeedsTheEncryptionKey() async throws {
        let keyless = AccountService(
            metadata: database,
            directory: directory,
            audit: audit,
            tokens: await TokenService(secret: OneTimeSecret.generate().value),
            totpBox: nil
        )
        let issued = try await keyless.signIn(userId: "ada", password: Self.password, code: nil, orgId: nil, client: client)
        await #expect(throws: AccountError.encryptionKeyMissing) { _ = try await keyless.beginTOTP(issued.session) }
    }

    @Test func linksAreSingleUseAndExpire() async throws {
        let admin = Principal(userId: "ada", orgId: "acme", role: .owner)
        let administration = OrgAdministration(directory: directory, audit: audit)
        let (_, link) = try await accounts.invite(admin, userId: "newbie", role: .member, administration: administration)
        let info = try await accounts.inspectLink(link.secret)
        #expect(info.kind == .invitation && info.userId == "newbie" && info.orgId == "acme" && info.role == .member && !info.hasPassword)
        await #expect(throws: AccountError.weakPassword(PasswordPolicy.problem("short", userId: "newbie")!)) {
            _ = try await accounts.acceptInvitationLink(link.secret, password: "short", client: client)
        }
        let session = try await accounts.acceptInvitationLink(link.secret, password: Self.password, client: client)
        #expect(session.session.principal == Principal(userId: "newbie", orgId: "acme", role: .member))
        await #expect(throws: AccountError.invalidLink) { _ = try await accounts.inspectLink(link.secret) }
        await #expect(throws: AccountError.invalidLink) {
            _ = try await accounts.acceptInvitationLink(link.secret, password: Self.password, client: client)
        }

        let reset = try await accounts.issueResetLink(for: "newbie", by: admin)
        let newPassword = "harbour-lantern-owl-88"
        #expect(try await accounts.useResetLink(reset.secret, password: newPassword, client: client) == "newbie")
        #expect(try await accounts.session(cookie: session.cookie) == nil)  // every session ended
        await #expect(throws: AccountError.invalidLink) { _ = try await accounts.useResetLink(reset.secret, password: newPassword, client: client) }
        _ = try await accounts.signIn(userId: "newbie", password: newPassword, code: nil, orgId: nil, client: client)

        let expiring = try await accounts.issueResetLink(for: "newbie", by: nil, lifetime: 60)
        await #expect(throws: AccountError.invalidLink) {
            _ = try await accounts.useResetLink(expiring.secret, password: newPassword, client: client, now: Date().addingTimeInterval(61))
        }
        // A newer reset link replaces the older one.
        let older = try await accounts.issueResetLink(for: "newbie", by: nil)
        _ = try await accounts.issueResetLink(for: "newbie", by: nil)
        await #expect(throws: AccountError.invalidLink) { _ = try await accounts.inspectLink(older.secret) }
        // A member cannot issue reset links; an admin cannot reset an owner.
        await #expect(throws: OrgAdministrationError.self) {
            _ = try await accounts.issueResetLink(for: "ada", by: Principal(userId: "newbie", orgId: "acme", role: .member))
        }
        try await directory.upsertMember(userId: "cora", orgId: "acme", role: .admin)
        await #expect(throws: OrgAdministrationError.self) {
            _ = try await accounts.issueResetLink(for: "ada", by: Principal(userId: "cora", orgId: "acme", role: .admin))
        }
        let acts = try await actions()
        #expect(acts.contains("invitation.use") && acts.contains("password.reset") && acts.contains("password.reset_link"))
    }

    @Test func tokensAreListedAndRevoked() async throws {
        let issued = try await accounts.signIn(userId: "ada", password: Self.password, code: nil, orgId: nil, client: client)
        let created = try await accounts.createToken(issued.session, name: "laptop", days: 7, client: client)
        let listed = try await accounts.accessTokens(of: "ada")
        #expect(listed.map(\.name) == ["laptop"] && listed[0].revoked == false && listed[0].id == created.info.id)
        #expect(created.info.expiresAt.timeIntervalSince(created.info.createdAt) == 7 * 86_400)
        await #expect(throws: AccountError.notFound) { try await accounts.revokeToken(userId: "bob", id: created.info.id, client: client) }
        try await accounts.revokeToken(userId: "ada", id: created.info.id, client: client)
        #expect(try await directory.isRevoked(jti: created.info.id))
        #expect(try await accounts.accessTokens(of: "ada")[0].revoked)
        await #expect(throws: AccountError.self) { _ = try await accounts.createToken(issued.session, name: "", days: 7, client: client) }
        await #expect(throws: AccountError.self) { _ = try await accounts.createToken(issued.session, name: "x", days: 400, client: client) }
    }

    /// The user's credential row as stored.
    func storedCredential(_ userId: String = "ada") async throws -> CredentialRow? {
        try await database.read(.user(userId)) { tx in try tx.credential(userId: userId) }
    }

    /// The stored TOTP secret, unsealed through the service's own path.
    func plainSecret() async throws -> String {
        let credential = try await storedCredential()
        return try #require(try credential.flatMap { try accounts.totpSecret(userId: "ada", credential: $0) })
    }
}
