import EngramAuth
import EngramMemoryModel
import Foundation
import XCTest

@testable import EngramMemory

/// The access matrix: roles × scopes × states × same/other user × same/other org.
final class AccessPolicyTests: XCTestCase {
    func memory(author: String, org: String?, scope: MemoryScope, state: MemoryState) -> Memory {
        Memory(
            id: UUID(),
            userId: author,
            orgId: org,
            scope: scope,
            state: state,
            content: "c",
            tags: [],
            repo: nil,
            taskId: nil,
            kind: .fact,
            contentHash: "h",
            createdAt: Date(),
            updatedAt: Date(),
            embeddingModel: "m"
        )
    }

    func testMatrix() {
        for role in Role.allCases {
            for scope in MemoryScope.allCases {
                for state in MemoryState.allCases {
                    for sameUser in [true, false] {
                        for sameOrg in [true, false] {
                            let p = Principal(userId: "me", orgId: "acme", role: role)
                            let m = memory(author: sameUser ? "me" : "other", org: sameOrg ? "acme" : "globex", scope: scope, state: state)
                            let expectedRead: Bool
                            switch scope {
                            case _ where state == .quarantined: expectedRead = false
                            case .personal: expectedRead = sameUser
                            case .org:
                                if !sameOrg {
                                    expectedRead = false
                                } else {
                                    switch state {
                                    case .published, .stale: expectedRead = true
                                    case .draft, .pendingReview: expectedRead = sameUser || role == .admin || role == .owner
                                    case .archived, .rejected: expectedRead = role == .admin || role == .owner
                                    case .quarantined: expectedRead = false
                                    }
                                }
                            }
                            let label = "\(role) \(scope) \(state) sameUser=\(sameUser) sameOrg=\(sameOrg)"
                            XCTAssertEqual(AccessPolicy.canRead(p, m), expectedRead, "read: " + label)
                            XCTAssertEqual(AccessPolicy.canModify(p, m), expectedRead && sameUser && role != .viewer, "modify: " + label)
                            XCTAssertEqual(
                                AccessPolicy.canReview(p, m),
                                scope == .org && sameOrg && (role == .admin || role == .owner) && state != .quarantined,
                                "review: " + label
                            )
                        }
                    }
                }
            }
            let p = Principal(userId: "me", orgId: "acme", role: role)
            XCTAssertEqual(AccessPolicy.canCreate(p, scope: .personal), role != .viewer)
            XCTAssertEqual(AccessPolicy.canCreate(p, scope: .org), role != .viewer)
            XCTAssertFalse(AccessPolicy.canCreate(Principal(userId: "me", orgId: nil, role: role), scope: .org))
        }
    }

    func testNoOrgPrincipalSeesOnlyPersonal() {
        let p = Principal(userId: "me", orgId: nil, role: .owner)
        XCTAssertFalse(AccessPolicy.canRead(p, memory(author: "me", org: nil, scope: .org, state: .published)))
        XCTAssertEqual(AccessPolicy.visibleTenants(p), ["user:me"])
    }
}
