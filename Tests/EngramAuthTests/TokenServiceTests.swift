import Foundation
import GRDB
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
        do { _ = try await tokens.verify(expired); XCTFail() } catch let e as TokenError { XCTAssertEqual(e, .expired) }
        let other = await TokenService(secret: String(repeating: "z", count: 40))
        let (forged, _) = try await other.issue(for: p)
        do { _ = try await tokens.verify(forged); XCTFail() } catch let e as TokenError { XCTAssertEqual(e, .invalidSignature) }
        let parts = forged.split(separator: ".")
        let noneHeader = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString()
            .replacingOccurrences(of: "=", with: "").replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        for bad in ["", "abc", "a.b", "\(noneHeader).\(parts[1]).", "\(noneHeader).\(parts[1]).\(parts[2])"] {
            do { _ = try await tokens.verify(bad); XCTFail("accepted \(bad)") } catch is TokenError {}
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

final class MemberDirectoryTests: XCTestCase {
    func testMembershipsAndLastOwner() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("engram-dir-\(UUID()).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let d = try MemberDirectory(database: try DatabasePool(path: path))
        try await d.upsertMember(userId: "olga", orgId: "acme", role: .owner)
        try await d.upsertMember(userId: "bob", orgId: "acme", role: .member)
        let bob = try await d.role(userId: "bob", orgId: "acme")
        XCTAssertEqual(bob, .member)
        await assertDirectoryError(.lastOwner) { try await d.removeMember(userId: "olga", orgId: "acme") }
        await assertDirectoryError(.lastOwner) { try await d.upsertMember(userId: "olga", orgId: "acme", role: .admin) }
        try await d.upsertMember(userId: "bob", orgId: "acme", role: .owner)
        try await d.upsertMember(userId: "olga", orgId: "acme", role: .admin)
        let roles = try await d.members(orgId: "acme").map(\.role)
        XCTAssertEqual(roles, [.owner, .admin])
        try await d.removeMember(userId: "olga", orgId: "acme")
        let olga = try await d.role(userId: "olga", orgId: "acme")
        XCTAssertNil(olga)
        await assertDirectoryError(nil) { try await d.upsertMember(userId: "bad id!", orgId: "acme", role: .member) }
        let before = try await d.organisation("acme")
        XCTAssertFalse(before!.requireReview)
        try await d.setRequireReview(true, orgId: "acme")
        let after = try await d.organisation("acme")
        XCTAssertTrue(after!.requireReview)
        let revokedBefore = try await d.isRevoked(jti: "j1")
        XCTAssertFalse(revokedBefore)
        try await d.revoke(jti: "j1", expiresAt: nil)
        let revokedAfter = try await d.isRevoked(jti: "j1")
        XCTAssertTrue(revokedAfter)
    }

    /// `XCTAssertThrowsError` for an async call; with `expected`, the error must be that `DirectoryError`.
    func assertDirectoryError(_ expected: DirectoryError?, line: UInt = #line, _ body: () async throws -> Void) async {
        do {
            try await body()
            XCTFail("expected an error", line: line)
        } catch {
            if let expected { XCTAssertEqual(error as? DirectoryError, expected, line: line) }
        }
    }
}
