import EngramAuth
import EngramMemoryModel
import EngramStore
import EngramStoreModel
import Foundation
import Testing

@testable import EngramMemory

/// `AccessPolicy.visibilityConditions` (the filter the store applies during a vector search) and
/// `AccessPolicy.canRead` (the rule every other read applies) must agree on every memory, for every
/// principal and every state filter: otherwise search would show what `get` hides, or hide what it shows.
@Suite struct VisibilityEquivalenceTests {
    /// Every memory shape the domain can hold: personal memories are published or stale.
    static var memories: [Memory] {
        var out: [Memory] = []
        for author in ["me", "other"] {
            for state in [MemoryState.published, .stale] {
                out.append(Memory(userId: author, orgId: nil, scope: .personal, state: state, content: "c", contentHash: "h"))
            }
            for org in ["acme", "globex"] {
                for state in MemoryState.allCases {
                    out.append(Memory(userId: author, orgId: org, scope: .org, state: state, content: "c", contentHash: "h"))
                }
            }
        }
        return out
    }

    static var principals: [Principal] {
        Role.allCases.flatMap { role in [Principal(userId: "me", orgId: "acme", role: role), Principal(userId: "me", orgId: nil, role: role)] }
    }

    @Test(arguments: [nil] + MemoryState.allCases.map { Optional($0) }, [false, true])
    func filterFormMatchesCanRead(stateFilter: MemoryState?, includeStale: Bool) {
        let states = MemoryFilter(state: stateFilter, includeStale: includeStale).visibleStates
        for principal in Self.principals {
            let tenants = AccessPolicy.visibleTenants(principal)
            for memory in Self.memories {
                let wanted = states.contains(memory.state)
                let expected = AccessPolicy.canRead(principal, memory) && wanted
                var found: Bool
                // Without knowing the tenant's states, and knowing them (a tenant holding only this memory).
                for present in [nil, Set([memory.state])] {
                    if tenants.contains(memory.tenant) {
                        let filter = Filter(
                            must: [.field(FieldCondition(key: Memory.Field.tenant, match: .value(.string(memory.tenant))))]
                                + AccessPolicy.visibilityConditions(principal, tenant: memory.tenant, states: states, present: present)
                        )
                        found = FilterEvaluator.matches(filter, id: .uuid(memory.id), payload: memory.payload)
                    } else {
                        found = false
                    }
                    #expect(
                        found == expected,
                        "\(principal) \(memory.scope) \(memory.state) by \(memory.userId) in \(memory.orgId ?? "-") present \(String(describing: present))"
                    )
                }
            }
        }
    }
}
