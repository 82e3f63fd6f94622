import EngramAccounts
import EngramAuth
import EngramDatabase
import Foundation
import XCTest

@testable import EngramMemory

final class MemberDirectoryTests: XCTestCase {
    func testMembershipsAndLastOwner() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("engram-dir-\(UUID()).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let metadata = try await TestMetadata.make { try EngramDatabase(path: path) }
        defer { withExtendedLifetime(metadata) {} }
        let d = MemberDirectory(metadata: metadata.store)
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
