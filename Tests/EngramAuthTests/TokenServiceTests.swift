import Foundation
import XCTest

@testable import EngramAuth

final class TokenServiceTests: XCTestCase {
    let secret = String(repeating: "k", count: 40)

    func testIssueAndVerifyRoundTrip() async throws {
        let tokens = await TokenService(secret: secret)
        let p = Principal(userId: "alice", orgId: "acme", role: .admin)
        let (token, claims) = try await tokens.issue(for: p)
        let verified = try await tokens.verify(token)
        XCTAssertEqual(verified.principal, p)
        XCTAssertEqual(verified.jti, claims.jti)
        XCTAssertGreaterThan(verified.exp.value.timeIntervalSinceNow, 29 * 86_400)
    }

    func testRejectsExpiredForgedAndMalformed() async throws {
        let tokens = await TokenService(secret: secret)
        let p = Principal(userId: "alice", orgId: nil, role: .member)
        let (expired, _) = try await tokens.issue(for: p, lifetime: 60, now: Date().addingTimeInterval(-3600))
        do {
            _ = try await tokens.verify(expired)
            XCTFail()
        } catch let e as TokenError { XCTAssertEqual(e, .expired) }
        let other = await TokenService(secret: String(repeating: "z", count: 40))
        let (forged, _) = try await other.issue(for: p)
        do {
            _ = try await tokens.verify(forged)
            XCTFail()
        } catch let e as TokenError { XCTAssertEqual(e, .invalidSignature) }
        let parts = forged.split(separator: ".")
        let noneHeader = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        for bad in ["", "abc", "a.b", "\(noneHeader).\(parts[1]).", "\(noneHeader).\(parts[1]).\(parts[2])"] {
            do {
                _ = try await tokens.verify(bad)
                XCTFail("accepted \(bad)")
            } catch is TokenError {}
        }
    }

    func testBearerParsing() {
        XCTAssertEqual(TokenService.bearerToken("Bearer abc"), "abc")
        XCTAssertEqual(TokenService.bearerToken("bearer  abc "), "abc")
        XCTAssertNil(TokenService.bearerToken("Basic abc"))
        XCTAssertNil(TokenService.bearerToken("Bearer "))
        XCTAssertNil(TokenService.bearerToken(nil))
    }

    func testPermissionTable() {
        XCTAssertEqual(Role.owner.permissions, Set(Permission.allCases))
        XCTAssertTrue(Role.admin.allows(.reviewMemories))
        XCTAssertFalse(Role.admin.allows(.manageOwners))
        XCTAssertFalse(Role.admin.allows(.deleteOrg))
        XCTAssertEqual(Role.member.permissions, [.readMemories, .writeOwnMemories])
        XCTAssertEqual(Role.viewer.permissions, [.readMemories])
        XCTAssertLessThan(Role.viewer, Role.member)
        XCTAssertEqual(min(Role.owner, Role.member), .member)
        let p = Principal(userId: "a", orgId: "acme", role: .admin)
        XCTAssertTrue(p.can(.reviewMemories, inOrg: "acme"))
        XCTAssertFalse(p.can(.reviewMemories, inOrg: "globex"))
    }
}
