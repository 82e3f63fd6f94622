import EngramMetadata
public import Foundation

/// An OAuth error as RFC 6749 names it (`invalid_request`, `invalid_grant`, …). `redirectable` false:
/// the client or redirect URI could not be trusted, so the person sees the error instead of being sent
/// back to the client.
public struct OAuthError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var redirectable: Bool

    public init(_ code: String, _ message: String, redirectable: Bool = true) {
        self.code = code
        self.message = message
        self.redirectable = redirectable
    }

    public var description: String { "\(code): \(message)" }

    package static func invalidRequest(_ m: String) -> OAuthError { OAuthError("invalid_request", m) }
    static func invalidGrant(_ m: String) -> OAuthError { OAuthError("invalid_grant", m) }
}

/// Lifetimes of OAuth artefacts.
public struct OAuthSettings: Sendable {
    /// Access tokens (`ENGRAM_OAUTH_ACCESS_TOKEN_SECONDS`).
    public var accessTokenLifetime: TimeInterval = 3600
    public var refreshTokenLifetime: TimeInterval = 30 * 86_400
    public var codeLifetime: TimeInterval = 60

    public init() {}
}

/// A registered OAuth client (public: PKCE is its proof, it has no secret).
public struct OAuthClient: Sendable, Hashable {
    public var clientId: String
    public var clientName: String?
    public var redirectURIs: [String]
    public var createdAt: Date
    /// Described by the metadata document at its URL `clientId` rather than registered with Engram:
    /// the consent page shows the host that vouches for it.
    public var fromMetadataDocument: Bool

    init(clientId: String, clientName: String?, redirectURIs: [String], createdAt: Date, fromMetadataDocument: Bool) {
        self.clientId = clientId
        self.clientName = clientName
        self.redirectURIs = redirectURIs
        self.createdAt = createdAt
        self.fromMetadataDocument = fromMetadataDocument
    }

    init(_ row: OAuthClientRow) {
        self.init(
            clientId: row.clientId,
            clientName: row.clientName,
            redirectURIs: row.redirectURIs,
            createdAt: Date(timeIntervalSince1970: row.createdAt),
            fromMetadataDocument: false
        )
    }
}

/// A validated authorization request, waiting for the person's consent.
public struct AuthorizationRequest: Sendable, Hashable {
    public var client: OAuthClient
    public var redirectURI: String
    public var state: String?
    public var codeChallenge: String
    /// The resource the token will be for: `BASE/mcp/{userId}`.
    public var resource: String?
    public var scope: String?
}

/// What the token endpoint answers.
public struct TokenGrant: Sendable {
    public var accessToken: String
    public var expiresIn: Int
    public var refreshToken: String
    public var scope: String
}
