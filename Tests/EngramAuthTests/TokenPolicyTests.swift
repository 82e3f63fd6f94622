import Foundation
import JWTKit
import XCTest

@testable import EngramAuth

/// Time claims, lifetime, org-bound roles and signing-secret strength.
final class TokenPolicyTests: XCTestCase {
    let secret = "policy-tests-" + String(repeating: "0123456789abcdefghijklmnopqrstuv", count: 2)

    func claims(iat: Date, exp: Date, nbf: Date? = nil, org: String? = "acme", role: Role = .member) -> TokenClaims {
        TokenClaims(
            sub: SubjectClaim(value: "alice"),
            org: org,
            role: role,
            exp: ExpirationClaim(value: exp),
            iat: IssuedAtClaim(value: iat),
            jti: IDClaim(value: UUID().uuidString.lowercased()),
            nbf: nbf.map(NotBeforeClaim.init)
        )
    }

    func testTimeClaims() throws {
        let now = Date()
        XCTAssertNoThrow(try claims(iat: now, exp: now + 600).checkTimes(now: now))
        XCTAssertNoThrow(try claims(iat: now + 30, exp: now + 600, nbf: now + 30).checkTimes(now: now), "small skew is tolerated")
        XCTAssertThrowsError(try claims(iat: now - 7200, exp: now - 1).checkTimes(now: now)) { XCTAssertEqual($0 as? TokenError, .expired) }
        XCTAssertThrowsError(try claims(iat: now + 3600, exp: now + 7200).checkTimes(now: now)) { XCTAssertEqual($0 as? TokenError, .notYetValid) }
        XCTAssertThrowsError(try claims(iat: now, exp: now + 600, nbf: now + 3600).checkTimes(now: now)) {
            XCTAssertEqual($0 as? TokenError, .notYetValid)
        }
        XCTAssertThrowsError(try claims(iat: now, exp: now + 1000 * 366 * 86_400).checkTimes(now: now)) {
            XCTAssertEqual($0 as? TokenError, .lifetimeTooLong)
        }
        XCTAssertNoThrow(try claims(iat: now, exp: now + TokenService.maximumLifetime).checkTimes(now: now))
    }

    func testVerifyEnforcesTimeClaimsAndIssueCapsLifetime() async throws {
        let tokens = await TokenService(secret: secret)
        let p = Principal(userId: "alice", orgId: "acme", role: .member)
        let (future, _) = try await tokens.issue(for: p, lifetime: 600, now: Date() + 3600)
        do {
            _ = try await tokens.verify(future)
            XCTFail("accepted a token issued in the future")
        } catch let e as TokenError {
            XCTAssertEqual(e, .notYetValid)
            XCTAssertTrue(e.signatureVerified)
        }
        do {
            _ = try await tokens.issue(for: p, lifetime: 400 * 86_400)
            XCTFail()
        } catch let e as TokenError { XCTAssertEqual(e, .lifetimeTooLong) }
    }

    func testRolesAreOrgBound() {
        let now = Date()
        XCTAssertEqual(claims(iat: now, exp: now + 60, org: nil, role: .owner).principal.role, .member)
        XCTAssertEqual(claims(iat: now, exp: now + 60, org: nil, role: .viewer).principal.role, .viewer)
        XCTAssertEqual(claims(iat: now, exp: now + 60, org: "acme", role: .owner).principal.role, .owner)
    }

    func testSecretStrength() {
        XCTAssertNotNil(TokenService.weakness(ofSecret: String(repeating: "a", count: 32)))
        XCTAssertNotNil(TokenService.weakness(ofSecret: String(repeating: "ab", count: 32)))
        XCTAssertNotNil(TokenService.weakness(ofSecret: "short"))
        XCTAssertNil(TokenService.weakness(ofSecret: secret))
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let bytes = (0..<48).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertNil(TokenService.weakness(ofSecret: Data(bytes).base64EncodedString()), "openssl rand -base64 48")
            let hex = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
            XCTAssertNil(TokenService.weakness(ofSecret: hex), "openssl rand -hex 32")
        }
    }

    func testUnverifiedSubject() async throws {
        let tokens = await TokenService(secret: secret)
        let (token, _) = try await tokens.issue(for: Principal(userId: "bob", orgId: nil, role: .member))
        XCTAssertEqual(TokenService.unverifiedSubject(token), "bob")
        XCTAssertNil(TokenService.unverifiedSubject("not-a-jwt"))
        XCTAssertNil(TokenService.unverifiedSubject("a.b.c"))
    }
}
