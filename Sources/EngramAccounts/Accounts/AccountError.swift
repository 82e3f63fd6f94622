/// Why an account request is refused. The HTTP layer maps each case once; messages never hold a
/// password, code, link or token.
public enum AccountError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Unknown user or wrong password: one answer for both.
    case invalidCredentials
    /// The password was right; the account needs a TOTP or backup code.
    case totpRequired
    /// The TOTP or backup code was wrong, replayed or used.
    case invalidTOTP
    /// The new password breaks `PasswordPolicy`.
    case weakPassword(String)
    /// An invitation or reset link that is unknown, expired or used (one answer for all three).
    case invalidLink
    /// A sensitive change needs the password typed within the re-prompt window.
    case reauthRequired
    /// The org requires TOTP and the session's user has not enrolled yet.
    case totpEnrolmentRequired
    /// TOTP secrets cannot be sealed: `ENGRAM_ENCRYPTION_KEY` is not set.
    case encryptionKeyMissing
    /// The request conflicts with the account's state (e.g. TOTP already enabled).
    case conflict(String)
    /// The session, token or account is not there (or not the caller's).
    case notFound
    /// A malformed request.
    case invalid(String)

    public var description: String {
        switch self {
        case .invalidCredentials: return "wrong user id or password"
        case .totpRequired: return "enter the code from your authenticator app, or a backup code"
        case .invalidTOTP: return "wrong or already used code"
        case let .weakPassword(why): return why
        case .invalidLink: return "this link is invalid, expired or already used"
        case .reauthRequired: return "enter your password again to confirm this change"
        case .totpEnrolmentRequired: return "your organisation requires two-factor authentication: enrol on /me first"
        case .encryptionKeyMissing: return "two-factor authentication needs ENGRAM_ENCRYPTION_KEY on the server"
        case let .conflict(why): return why
        case .notFound: return "not found"
        case let .invalid(why): return why
        }
    }

    /// The machine-readable code of the REST error body.
    public var code: String {
        switch self {
        case .invalidCredentials: return "invalid_credentials"
        case .totpRequired: return "totp_required"
        case .invalidTOTP: return "invalid_totp"
        case .weakPassword: return "weak_password"
        case .invalidLink: return "invalid_link"
        case .reauthRequired: return "reauth_required"
        case .totpEnrolmentRequired: return "totp_enrolment_required"
        case .encryptionKeyMissing: return "encryption_key_missing"
        case .conflict: return "conflict"
        case .notFound: return "not_found"
        case .invalid: return "invalid_request"
        }
    }
}
