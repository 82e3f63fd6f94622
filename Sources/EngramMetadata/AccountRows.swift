/// A user's credentials: the bcrypt hash of their password and their sealed TOTP secret.
public struct CredentialRow: Sendable, Hashable {
    public var userId: String
    public var passwordHash: String?
    public var passwordChangedAt: Double?
    /// AES-GCM box of the TOTP secret (pending until `totpEnabled`).
    public var totpSecret: [UInt8]?
    public var totpEnabled: Bool
    /// The last TOTP time step accepted (a code of this step or an earlier one is a replay).
    public var totpLastStep: Int64

    public init(
        userId: String,
        passwordHash: String?,
        passwordChangedAt: Double?,
        totpSecret: [UInt8]?,
        totpEnabled: Bool,
        totpLastStep: Int64
    ) {
        self.userId = userId
        self.passwordHash = passwordHash
        self.passwordChangedAt = passwordChangedAt
        self.totpSecret = totpSecret
        self.totpEnabled = totpEnabled
        self.totpLastStep = totpLastStep
    }
}

/// A browser session. The cookie's value is never stored, only its SHA-256.
public struct SessionRow: Sendable, Hashable {
    public var id: String
    public var secretHash: String
    public var userId: String
    public var orgId: String?
    public var csrfToken: String
    public var createdAt: Double
    public var lastSeenAt: Double
    /// The absolute end (the idle limit is the caller's rule).
    public var expiresAt: Double
    /// When the person last typed their password (sign-in or re-prompt).
    public var reauthAt: Double?
    public var ip: String?
    public var userAgent: String?

    public init(
        id: String,
        secretHash: String,
        userId: String,
        orgId: String?,
        csrfToken: String,
        createdAt: Double,
        lastSeenAt: Double,
        expiresAt: Double,
        reauthAt: Double?,
        ip: String?,
        userAgent: String?
    ) {
        self.id = id
        self.secretHash = secretHash
        self.userId = userId
        self.orgId = orgId
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.reauthAt = reauthAt
        self.ip = ip
        self.userAgent = userAgent
    }
}

/// A personal access token a member created (the JWT itself is never stored).
public struct AccessTokenRow: Sendable, Hashable {
    public var jti: String
    public var userId: String
    public var orgId: String?
    public var role: String
    public var name: String
    public var createdAt: Double
    public var expiresAt: Double

    public init(jti: String, userId: String, orgId: String?, role: String, name: String, createdAt: Double, expiresAt: Double) {
        self.jti = jti
        self.userId = userId
        self.orgId = orgId
        self.role = role
        self.name = name
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A single-use link: an invitation (`invitation_id` names it) or a password reset.
public struct CredentialLinkRow: Sendable, Hashable {
    public var secretHash: String
    public var kind: String
    public var userId: String
    public var invitationId: String?
    public var createdBy: String
    public var createdAt: Double
    public var expiresAt: Double
    public var usedAt: Double?

    public init(
        secretHash: String,
        kind: String,
        userId: String,
        invitationId: String?,
        createdBy: String,
        createdAt: Double,
        expiresAt: Double,
        usedAt: Double? = nil
    ) {
        self.secretHash = secretHash
        self.kind = kind
        self.userId = userId
        self.invitationId = invitationId
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }
}
