public import EngramAuth

/// Checks a bearer token's signature, algorithm and time claims and returns its claims; throws
/// `TokenError` otherwise. `TokenService` is the verifier of a running server; tests may count calls.
public protocol BearerTokenVerifier: Sendable {
    /// The claims of `token` when it verifies.
    func verify(_ token: String) async throws -> TokenClaims
}

extension TokenService: BearerTokenVerifier {}
