import EngramAccounts
public import EngramAuth
import EngramCore
public import EngramMemory
import EngramMemoryModel
import EngramMetadata
import EngramPoisoning
import EngramPoisoningCore
import EngramSecrets
public import Foundation

/// One memory version whose text fails the secret filter or is blocked by the poisoning screen: the rules
/// that matched, never the text.
public struct RescanHit: Sendable, Hashable {
    public var memoryId: UUID
    /// The version holding the text (the stored memory's current version, or an older one).
    public var version: Int
    /// Whether it is the memory as stored now (else an older version in the history).
    public var current: Bool
    public var orgId: String?
    public var rules: [String]
}

/// What a rescan found and did.
public struct RescanReport: Sendable, Hashable {
    public var memoriesScanned = 0
    public var versionsScanned = 0
    public var hits: [RescanHit] = []
    /// Hits quarantined by this run (with `apply`); hits quarantined before are not counted again.
    public var quarantined = 0
    /// Memories the poisoning screen newly flags (with `apply`, marked `flagged`; published org memories
    /// go back to review).
    public var flagged: [UUID] = []
}

/// A quarantined version as admins see it.
public struct QuarantineEntry: Sendable, Hashable {
    public var memoryId: UUID
    public var version: Int
    public var rules: [String]
    public var at: Date
}

extension MemoryService {
    /// The texts of a memory the secret filter reads on every write.
    func scannedTexts(_ m: Memory) -> [String?] {
        [m.content] + m.tags + [m.repo, m.taskId, m.provenance.branch, m.provenance.commit] + MemoryInput.anchorTexts(m.anchors)
    }

    /// The secret filter's rules for every text field, and the poisoning screen's `block` rules for the content.
    func findings(_ m: Memory) -> [String] {
        let secrets = scannedTexts(m).compactMap { $0 }.flatMap { scanner.scan($0).map(\.ruleID) }
        return Array(Set(secrets + poisoningBlockRules(m.content))).sorted()
    }

    /// Re-runs today's secret filter and poisoning screen over every stored memory and every recorded
    /// version (rules change; old text must meet the new rules). With `apply`, hits are quarantined, not deleted: a current memory
    /// becomes `quarantined` (hidden from every read path) as a new version, an older version is withheld
    /// from history and revert, and each is listed for admins by id and rule and audited. Idempotent.
    /// `progress` hears (texts screened, texts in all) as the scan goes: memories, then versions.
    public func rescan(
        apply: Bool,
        actor: String = "operator",
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) async throws -> RescanReport {
        var report = RescanReport()
        var rows: [QuarantineRow] = []
        let now = Date()
        let memories = index.all(where: { _ in true })
        for m in memories {
            report.memoriesScanned += 1
            if report.memoriesScanned % 256 == 0 { progress?(report.memoriesScanned, memories.count) }
            let rules = findings(m)
            guard !rules.isEmpty else { continue }
            report.hits.append(RescanHit(memoryId: m.id, version: m.version, current: true, orgId: m.orgId, rules: rules))
        }
        if let ledger {
            let all: [VersionRow]
            do { all = try await ledger.metadata.readGlobal { tx in try tx.allVersions() } } catch {
                throw MemoryError.unavailable("the version history is not readable")
            }
            for row in all {
                report.versionsScanned += 1
                if report.versionsScanned % 256 == 0 { progress?(memories.count + report.versionsScanned, memories.count + all.count) }
                guard let v = MemoryLedger.version(row) else { continue }
                let rules = findings(v.memory)
                guard !rules.isEmpty else { continue }
                let id = v.memory.id
                if report.hits.contains(where: { $0.memoryId == id && $0.version == row.version }) { continue }
                report.hits.append(RescanHit(memoryId: id, version: row.version, current: false, orgId: row.orgId, rules: rules))
            }
        }
        // The screen's flags: a memory nobody reviewed that today's rules flag is marked (and an org memory
        // served to everyone goes back to review).
        var flagUpdates: [(UUID, [String])] = []
        for m in index.all(where: { $0.state != .quarantined && $0.reviewedBy == nil }) {
            let screened = poisonScreen.screen(m.content)
            guard screened.verdict == .flag, Set(screened.ruleIDs) != Set(m.screenFlags) else { continue }
            if report.hits.contains(where: { $0.memoryId == m.id && $0.current }) { continue }
            report.flagged.append(m.id)
            flagUpdates.append((m.id, screened.ruleIDs))
        }
        guard apply else { return report }
        for (id, rules) in flagUpdates {
            try await exclusively {
                guard let latest = index.get(id), latest.state != .quarantined else { return }
                var m = latest
                m.screenFlags = rules
                if m.scope == .org, m.state == .published { m.state = .pendingReview }
                m.updatedAt = now
                m.version = latest.version + 1
                try await recordVersion(
                    before: latest,
                    after: m,
                    actor: actor,
                    origin: WriteOrigin(.system),
                    reason: "flagged by the poisoning screen (\(rules.joined(separator: ", ")))"
                )
                try await setStates([m], state: m.state, at: now)
            }
        }
        for hit in report.hits {
            var version = hit.version
            if hit.current {
                let changed = try await changeState(
                    hit.memoryId,
                    to: .quarantined,
                    actor: actor,
                    origin: WriteOrigin(.system),
                    reason: "quarantined: the secret filter or the poisoning screen matches (\(hit.rules.joined(separator: ", ")))",
                    from: Set(MemoryState.allCases).subtracting([.quarantined])
                )
                // The text is that of the version before the quarantine, and of the quarantine version itself.
                if let changed {
                    version = changed.version - 1
                    rows.append(
                        QuarantineRow(
                            memoryId: hit.memoryId.lowercasedText,
                            version: changed.version,
                            orgId: hit.orgId,
                            rules: hit.rules.joined(separator: ","),
                            at: now.timeIntervalSince1970
                        )
                    )
                }
            }
            rows.append(
                QuarantineRow(
                    memoryId: hit.memoryId.lowercasedText,
                    version: version,
                    orgId: hit.orgId,
                    rules: hit.rules.joined(separator: ","),
                    at: now.timeIntervalSince1970
                )
            )
        }
        guard let lifecycle else { return report }
        do {
            let hits = rows
            // A rescan walks every tenant (an operator sweep): the global surface.
            report.quarantined = try await lifecycle.writeGlobal { tx in try tx.quarantine(hits) }
        } catch {
            throw MemoryError.unavailable("the quarantine list did not accept the hits")
        }
        try await recordAudit(
            report.hits.map { hit in
                AuditLog.Record(
                    orgId: hit.orgId,
                    actor: actor,
                    action: "quarantine",
                    memoryId: hit.memoryId,
                    detail: "v\(hit.version)\(hit.current ? " (current)" : ""): \(hit.rules.joined(separator: ", "))"
                )
            }
        )
        return report
    }

    /// The admin's organisation's quarantined versions, newest first (ids and rules, never text).
    public func quarantineList(_ principal: Principal) async throws -> [QuarantineEntry] {
        let org = try requireReviewer(principal)
        guard let lifecycle else { return [] }
        do {
            return try await lifecycle.read(.org(org)) { tx in try tx.quarantined(orgId: org) }.compactMap { r in
                UUID(uuidString: r.memoryId).map {
                    QuarantineEntry(
                        memoryId: $0,
                        version: r.version,
                        rules: r.rules.split(separator: ",").map(String.init),
                        at: Date(timeIntervalSince1970: r.at)
                    )
                }
            }
        } catch {
            throw MemoryError.unavailable("the quarantine list is not readable")
        }
    }
}
