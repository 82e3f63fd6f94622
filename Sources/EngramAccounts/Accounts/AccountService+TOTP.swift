import EngramAuth
import EngramMetadata
public import Foundation

extension AccountService {
    /// Starts TOTP enrolment: a new secret, sealed and stored as pending (it replaces a pending one).
    /// Returns the base32 secret and the `otpauth://` URI to show once. Refused when TOTP is already on
    /// (disable it first) or when the server has no encryption key.
    public func beginTOTP(_ session: BrowserSession) async throws -> (secret: String, uri: String) {
        guard let totpBox else { throw AccountError.encryptionKeyMissing }
        let current = try await metadata.read(.user(session.userId)) { tx in try tx.credential(userId: session.userId) }
        if current?.totpEnabled == true { throw AccountError.conflict("two-factor authentication is already on") }
        let codes = TOTPCodes(secret: TOTPCodes.newSecret())
        let sealed = try totpBox.seal(Data(codes.secret.utf8), owner: session.userId)
        try await metadata.write(.user(session.userId)) { tx in try tx.setTOTP(userId: session.userId, sealed: [UInt8](sealed), enabled: false) }
        return (codes.base32Secret, codes.uri(account: session.userId))
    }

    /// Confirms enrolment with a code from the app: TOTP is on, ten backup codes are made (returned
    /// once, stored hashed) and the session rotates.
    public func enableTOTP(
        _ session: BrowserSession,
        code: String,
        client: ClientInfo,
        now: Date = Date()
    ) async throws
        -> (backupCodes: [String], session: IssuedSession)
    {
        let credential = try await metadata.read(.user(session.userId)) { tx in try tx.credential(userId: session.userId) }
        guard let credential, !credential.totpEnabled, credential.totpSecret != nil else {
            throw AccountError.conflict("start enrolment first (or two-factor authentication is already on)")
        }
        guard let secret = try totpSecret(userId: session.userId, credential: credential),
            let step = TOTPCodes(secret: secret).matchingStep(code, at: now, after: credential.totpLastStep)
        else { throw AccountError.invalidTOTP }
        let backup = BackupCodes.generate()
        let hashes = backup.compactMap(BackupCodes.hash)
        try await metadata.write(.user(session.userId)) { tx in
            try tx.setTOTPEnabled(userId: session.userId, lastStep: step)
            try tx.replaceBackupCodes(userId: session.userId, hashes: hashes)
        }
        let rotated = try await rotate(session, reauthenticated: false, now: now)
        try await record(userId: session.userId, actor: session.userId, action: "totp.enrol", detail: "ip \(client.ip)")
        return (backup, rotated)
    }

    /// Turns TOTP off (a sensitive change: the caller checks the re-prompt window) and drops the backup codes.
    public func disableTOTP(_ session: BrowserSession, client: ClientInfo) async throws {
        try await metadata.write(.user(session.userId)) { tx in
            try tx.setTOTP(userId: session.userId, sealed: nil, enabled: false)
            try tx.replaceBackupCodes(userId: session.userId, hashes: [])
        }
        try await record(userId: session.userId, actor: session.userId, action: "totp.remove", detail: "ip \(client.ip)")
    }

    /// A new set of backup codes; the old ones stop working.
    public func regenerateBackupCodes(_ session: BrowserSession, client: ClientInfo) async throws -> [String] {
        guard try await metadata.read(.user(session.userId), { tx in try tx.credential(userId: session.userId)?.totpEnabled }) == true else {
            throw AccountError.conflict("two-factor authentication is off")
        }
        let backup = BackupCodes.generate()
        let hashes = backup.compactMap(BackupCodes.hash)
        try await metadata.write(.user(session.userId)) { tx in try tx.replaceBackupCodes(userId: session.userId, hashes: hashes) }
        try await record(userId: session.userId, actor: session.userId, action: "totp.backup_codes", detail: "ip \(client.ip)")
        return backup
    }

    /// Sets whether an org requires TOTP of its members at sign-in.
    public func setRequireTOTP(_ on: Bool, orgId: String, actor: String) async throws {
        if on, totpBox == nil { throw AccountError.encryptionKeyMissing }
        let exists = try await metadata.write(.org(orgId, actor: actor)) { tx in try tx.setRequireTOTP(on, orgId: orgId) }
        guard exists else { throw AccountError.notFound }
        try await audit?.record(orgId: orgId, actor: actor, action: "policy", detail: "require_totp \(on)")
    }

    /// Whether an org requires TOTP.
    public func requiresTOTP(orgId: String) async throws -> Bool {
        try await metadata.read(.org(orgId)) { tx in try tx.requireTOTP(orgId: orgId) }
    }
}
