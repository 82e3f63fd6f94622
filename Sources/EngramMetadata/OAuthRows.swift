/// A registered OAuth client (public: PKCE is its proof, it has no secret).
public struct OAuthClientRow: Sendable, Hashable {
    public var clientId: String
    public var clientName: String?
    public var redirectURIs: [String]
    public var createdAt: Double

    public init(clientId: String, clientName: String?, redirectURIs: [String], createdAt: Double) {
        self.clientId = clientId
        self.clientName = clientName
        self.redirectURIs = redirectURIs
        self.createdAt = createdAt
    }
}

/// What an authorization code or a refresh token grants: who, to which client, for which resource.
public struct OAuthGrantRow: Sendable, Hashable {
    /// The SHA-256 of the code or refresh token.
    public var hash: String
    /// Every code, refresh token and access token descended from one consent.
    public var family: String
    public var clientId: String
    public var userId: String
    public var orgId: String?
    public var resource: String
    public var scope: String?
    public var expiresAt: Double
    public var usedAt: Double?
    /// Codes only.
    public var redirectURI: String?
    public var codeChallenge: String?
    /// Refresh tokens only.
    public var revokedAt: Double?

    public init(
        hash: String,
        family: String,
        clientId: String,
        userId: String,
        orgId: String?,
        resource: String,
        scope: String?,
        expiresAt: Double,
        usedAt: Double? = nil,
        redirectURI: String? = nil,
        codeChallenge: String? = nil,
        revokedAt: Double? = nil
    ) {
        self.hash = hash
        self.family = family
        self.clientId = clientId
        self.userId = userId
        self.orgId = orgId
        self.resource = resource
        self.scope = scope
        self.expiresAt = expiresAt
        self.usedAt = usedAt
        self.redirectURI = redirectURI
        self.codeChallenge = codeChallenge
        self.revokedAt = revokedAt
    }
}
