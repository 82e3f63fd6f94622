public import Foundation
public import JWTKit

/// The claims of an Engram access token.
public struct TokenClaims: JWTPayload, Sendable, Equatable {
    public var sub: SubjectClaim
    public var org: String?
    public var role: Role
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim
    public var jti: IDClaim
    /// Optional; honoured when present.
    public var nbf: NotBeforeClaim?
    /// The one resource an OAuth access token is for (`BASE/mcp/{userId}`); absent on static tokens.
    public var aud: String?
    /// The OAuth client a token was issued to; absent on static tokens.
    public var cid: String?

    /// Called by jwt-kit after the signature verified: the time claims, checked at `Date()`.
    public func verify(using algorithm: some JWTAlgorithm) throws {
        try checkTimes(now: Date())
    }

    /// `exp` in the future; `iat` and `nbf` not later than `now` plus `TokenService.clockSkew`;
    /// `exp - iat` at most `TokenService.maximumLifetime` (plus the skew).
    public func checkTimes(now: Date) throws {
        let skew = TokenService.clockSkew
        guard exp.value > now else { throw TokenError.expired }
        guard iat.value <= now.addingTimeInterval(skew), nbf.map({ $0.value <= now.addingTimeInterval(skew) }) ?? true else {
            throw TokenError.notYetValid
        }
        guard exp.value.timeIntervalSince(iat.value) <= TokenService.maximumLifetime + skew else { throw TokenError.lifetimeTooLong }
    }

    /// The principal the token speaks for. Roles are organisation roles: a token without `org`
    /// carries none, so its role is `member` at most (its own personal memories).
    public var principal: Principal {
        Principal(userId: sub.value, orgId: org, role: org == nil ? min(role, .member) : role)
    }
}

/// Why a token was refused. Messages are generic: they never echo the token.
public enum TokenError: Error, Equatable, Sendable, CustomStringConvertible {
    case missing
    case malformed
    case expired
    case notYetValid
    case lifetimeTooLong
    case invalidSignature
    case revoked

    public var description: String {
        switch self {
        case .missing: return "missing bearer token"
        case .malformed: return "malformed token"
        case .expired: return "token expired"
        case .notYetValid: return "token not yet valid"
        case .lifetimeTooLong: return "token lifetime exceeds \(Int(TokenService.maximumLifetime / 86_400)) days"
        case .invalidSignature: return "invalid token"
        case .revoked: return "token revoked"
        }
    }

    /// The token was signed with the service's key; only a time claim is out of range
    /// (jwt-kit checks the claims after the signature).
    public var signatureVerified: Bool {
        switch self {
        case .expired, .notYetValid, .lifetimeTooLong, .revoked: return true
        case .missing, .malformed, .invalidSignature: return false
        }
    }
}

/// Issues and verifies HS256 JWTs (jwt-kit). Only HS256 is accepted: a token
/// with `alg: none` or any other algorithm fails verification.
public struct TokenService: Sendable {
    /// Minimum secret length outside development mode.
    public static let minimumSecretBytes = 32
    /// Minimum estimated entropy of the secret outside development mode.
    public static let minimumSecretBits = 128.0
    /// Longest token lifetime (`engram token issue --days` at most 366).
    public static let maximumLifetime: TimeInterval = 366 * 86_400
    /// Tolerated clock difference for `iat` and `nbf`.
    public static let clockSkew: TimeInterval = 60
    private let keys: JWTKeyCollection

    /// Creates the service with an HMAC secret.
    public init(secret: String) async {
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.keys = keys
    }

    /// Why `secret` is too weak to sign production tokens, or nil: it needs at least
    /// `minimumSecretBytes` bytes and `minimumSecretBits` of estimated entropy (length ×
    /// Shannon entropy per byte: `openssl rand -base64 48` or `-hex 32` qualify, a repeated
    /// letter or a short word list does not).
    public static func weakness(ofSecret secret: String) -> String? {
        guard secret.utf8.count >= minimumSecretBytes else { return "must be at least \(minimumSecretBytes) bytes" }
        let bits = estimatedEntropyBits(secret)
        guard bits >= minimumSecretBits else {
            return "has about \(Int(bits)) bits of estimated entropy, at least \(Int(minimumSecretBits)) are needed"
        }
        return nil
    }

    /// Length × the Shannon entropy of the byte distribution.
    static func estimatedEntropyBits(_ s: String) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        for b in s.utf8 { counts[Int(b)] += 1 }
        let n = Double(s.utf8.count)
        let perByte = counts.filter { $0 > 0 }.reduce(0.0) { h, c in
            let p = Double(c) / n
            return h - p * log2(p)
        }
        return perByte * n
    }

    /// Signs a token for `principal`, valid for `lifetime` seconds (at most `maximumLifetime`).
    public func issue(
        for principal: Principal,
        lifetime: TimeInterval = 30 * 86_400,
        audience: String? = nil,
        clientID: String? = nil,
        now: Date = Date()
    ) async throws -> (token: String, claims: TokenClaims) {
        guard lifetime > 0, lifetime <= Self.maximumLifetime else { throw TokenError.lifetimeTooLong }
        let claims = TokenClaims(
            sub: SubjectClaim(value: principal.userId),
            org: principal.orgId,
            role: principal.role,
            exp: ExpirationClaim(value: now.addingTimeInterval(lifetime)),
            iat: IssuedAtClaim(value: now),
            jti: IDClaim(value: UUID().uuidString.lowercased()),
            aud: audience,
            cid: clientID
        )
        return (try await keys.sign(claims), claims)
    }

    /// Verifies signature, algorithm and time claims.
    public func verify(_ token: String) async throws -> TokenClaims {
        guard !token.isEmpty else { throw TokenError.missing }
        guard token.split(separator: ".", omittingEmptySubsequences: false).count == 3, token.utf8.count <= 8192 else {
            throw TokenError.malformed
        }
        do {
            return try await keys.verify(token, as: TokenClaims.self)
        } catch let error as TokenError {
            throw error
        } catch let error as JWTError {
            if error.errorType == .claimVerificationFailure { throw TokenError.expired }
            if error.errorType == .signatureVerificationFailed { throw TokenError.invalidSignature }
            throw TokenError.malformed
        } catch {
            throw TokenError.malformed
        }
    }

    /// The `sub` a token claims, read without verifying anything (at most 128 characters):
    /// only a rate-limit key for failed authentications, never an identity.
    public static func unverifiedSubject(_ token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].utf8.count <= 8192 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let sub = object["sub"] as? String, !sub.isEmpty, sub.count <= 128
        else { return nil }
        return sub
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

extension TokenClaims {
    /// The user the token speaks for (`sub`).
    public var subject: String { sub.value }
    /// The token id (`jti`): what revocation and the token list name.
    public var tokenID: String { jti.value }
    /// When the token was issued (`iat`).
    public var issuedAt: Date { iat.value }
    /// When the token expires (`exp`).
    public var expiresAt: Date { exp.value }
}
