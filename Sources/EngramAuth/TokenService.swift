import Foundation
import JWTKit

/// The claims of an Engram access token.
public struct TokenClaims: JWTPayload, Sendable, Equatable {
    public var sub: SubjectClaim
    public var org: String?
    public var role: Role
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim
    public var jti: IDClaim

    public func verify(using algorithm: some JWTAlgorithm) throws {
        try exp.verifyNotExpired()
    }

    /// The principal the token speaks for.
    public var principal: Principal { Principal(userId: sub.value, orgId: org, role: role) }
}

/// Why a token was refused. Messages are generic: they never echo the token.
public enum TokenError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing
    case malformed
    case expired
    case invalidSignature
    case revoked

    public var description: String {
        switch self {
        case .missing: return "missing bearer token"
        case .malformed: return "malformed token"
        case .expired: return "token expired"
        case .invalidSignature: return "invalid token"
        case .revoked: return "token revoked"
        }
    }
}

/// Issues and verifies HS256 JWTs (jwt-kit). Only HS256 is accepted: a token
/// with `alg: none` or any other algorithm fails verification.
public struct TokenService: Sendable {
    /// Minimum secret length outside development mode.
    public static let minimumSecretBytes = 32
    private let keys: JWTKeyCollection

    /// Creates the service with an HMAC secret.
    public init(secret: String) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
    }

    /// Signs a token for `principal`, valid for `lifetime` seconds.
    public func issue(for principal: Principal, lifetime: TimeInterval = 30 * 86_400, now: Date = Date()) async throws -> (token: String, claims: TokenClaims) {
        let claims = TokenClaims(
            sub: SubjectClaim(value: principal.userId), org: principal.orgId, role: principal.role,
            exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)),
            iat: IssuedAtClaim(value: now), jti: IDClaim(value: UUID().uuidString.lowercased()))
        return (try await keys.sign(claims), claims)
    }

    /// Verifies signature, algorithm and expiry.
    public func verify(_ token: String) async throws -> TokenClaims {
        guard !token.isEmpty else { throw TokenError.missing }
        guard token.split(separator: ".", omittingEmptySubsequences: false).count == 3, token.utf8.count <= 8192 else {
            throw TokenError.malformed
        }
        do {
            return try await keys.verify(token, as: TokenClaims.self)
        } catch let error as JWTError {
            if error.errorType == .claimVerificationFailure { throw TokenError.expired }
            if error.errorType == .signatureVerificationFailed { throw TokenError.invalidSignature }
            throw TokenError.malformed
        } catch {
            throw TokenError.malformed
        }
    }

    /// Extracts the token from an `Authorization: Bearer …` header value.
    public static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
