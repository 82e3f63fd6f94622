import EngramCore
package import EngramMemoryModel
package import EngramMetadata
package import Foundation

/// What review and import read or settle of a memory's lifecycle records: its open reports, and the
/// versions a rescan withheld.
extension MemoryService {
    /// Marks a memory's reports resolved (a reviewer acted, or its text changed). `memory` (the memory as
    /// the caller found it) names the tenant when the index no longer holds it (a rejection deleted it).
    package func resolveReports(_ id: UUID, memory: Memory? = nil, actor: String? = nil) async throws {
        guard let lifecycle, usage.usage(id).openReports > 0 else { return }
        let scope =
            index.get(id).map { TenantScope.memory($0, actor: actor) } ?? memory.map { .memory($0, actor: actor) } ?? metadataScope(id, actor: actor)
        do {
            try await lifecycle.write(scope) { tx in try tx.resolveReports(memoryId: id.lowercasedText) }
        } catch {
            throw MemoryError.unavailable("the reports could not be resolved")
        }
        usage.setOpenReports(id, 0)
    }

    /// The versions withheld by a rescan, per memory: `versions(of:)` leaves their text out. Read in
    /// `scope`, the memory's metadata scope (its tenant and the caller's), not across every tenant.
    package func quarantinedVersions(_ id: UUID, scope: TenantScope) async throws -> [Int: [String]] {
        guard let lifecycle else { return [:] }
        var out: [Int: [String]] = [:]
        do {
            for r in try await lifecycle.read(scope, { tx in try tx.quarantined(orgId: nil) }) where r.memoryId == id.lowercasedText {
                out[r.version] = r.rules.split(separator: ",").map(String.init)
            }
        } catch {
            throw MemoryError.unavailable("the quarantine list is not readable")
        }
        return out
    }
}
