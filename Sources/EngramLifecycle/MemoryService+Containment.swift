public import EngramAuth
import EngramCore
public import EngramMemory
public import EngramMemoryModel
import EngramMetadata
import EngramPoisoning
import EngramPoisoningCore
import EngramSecrets
public import Foundation

/// Picks the org memories an admin contains: written by a member, with a token, for a task, from a
/// client, within a time window, or listed by id. All given conditions must hold.
///
/// The writer conditions (member, token, client, window) match a memory when any of its recorded
/// versions matches them all (an edit by a stolen token counts, not only the first write), or, for
/// memories older than the version history, when its own author, provenance and creation time do.
public struct ContainmentSelector: Sendable, Hashable {
    public var member: String?
    /// A token id (`jti`).
    public var tokenId: String?
    public var taskId: String?
    /// The client name as recorded (`name/version`, or a prefix of it ending before `/`).
    public var client: String?
    public var since: Date?
    public var until: Date?
    public var ids: [UUID]?

    public init(
        member: String? = nil,
        tokenId: String? = nil,
        taskId: String? = nil,
        client: String? = nil,
        since: Date? = nil,
        until: Date? = nil,
        ids: [UUID]? = nil
    ) {
        self.member = member
        self.tokenId = tokenId
        self.taskId = taskId
        self.client = client
        self.since = since
        self.until = until
        self.ids = ids
    }

    var hasWriterConditions: Bool { member != nil || tokenId != nil || client != nil || since != nil || until != nil }

    /// The selector in words for the audit log (ids are counted, not listed).
    public var summary: String {
        var parts: [String] = []
        if let member { parts.append("member=\(member)") }
        if let tokenId { parts.append("token=\(tokenId)") }
        if let taskId { parts.append("task=\(taskId)") }
        if let client { parts.append("client=\(client)") }
        if let since { parts.append("since=\(RFC3339.format(since.timeIntervalSince1970))") }
        if let until { parts.append("until=\(RFC3339.format(until.timeIntervalSince1970))") }
        if let ids { parts.append("ids=\(ids.count)") }
        return parts.joined(separator: " ")
    }

    func validate() throws {
        let blank = [member, tokenId, taskId, client].contains { $0 != nil && $0!.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !blank else { throw MemoryError.invalid("selector fields must not be blank") }
        guard hasWriterConditions || taskId != nil || ids != nil else {
            throw MemoryError.invalid("a selector needs at least one of member, token_id, task_id, client, since, until, ids")
        }
        if let ids, ids.isEmpty || ids.count > 1000 { throw MemoryError.invalid("ids lists 1 to 1000 memory ids") }
        if let since, let until, since >= until { throw MemoryError.invalid("since must be before until") }
    }

    func clientMatches(_ recorded: String?) -> Bool {
        guard let client else { return true }
        guard let recorded else { return false }
        return recorded == client || recorded.hasPrefix(client + "/")
    }

    func inWindow(_ t: Date) -> Bool { (since.map { t >= $0 } ?? true) && (until.map { t < $0 } ?? true) }

    func matches(version v: MemoryVersion) -> Bool {
        (member.map { v.actor == $0 } ?? true) && (tokenId.map { v.tokenId == $0 } ?? true) && clientMatches(v.client) && inWindow(v.at)
    }

    func matchesFirstWrite(_ m: Memory) -> Bool {
        (member.map { m.userId == $0 } ?? true) && (tokenId.map { m.provenance.tokenId == $0 } ?? true)
            && clientMatches(m.provenance.client) && inWindow(m.createdAt)
    }

    func matchesMemory(_ m: Memory) -> Bool {
        (taskId.map { m.taskId == $0 } ?? true) && (ids.map { $0.contains(m.id) } ?? true)
    }
}

/// What a containment action did (or, in a dry run, would do).
public struct ContainmentReport: Sendable, Hashable {
    public var action: String
    public var dryRun: Bool
    /// Memories the selector matched.
    public var matched = 0
    public var quarantined = 0
    public var released = 0
    /// Memories returned to their last version before the window (rollback).
    public var restored = 0
    /// Matched memories the action left as they were (already in the wanted state, or a release of text
    /// that still fails the secret filter or the poisoning screen).
    public var unchanged = 0
    /// The memories changed (or that would be).
    public var memoryIds: [UUID] = []

    init(action: String, dryRun: Bool) {
        self.action = action
        self.dryRun = dryRun
    }

    var counts: String {
        "matched \(matched); quarantined \(quarantined); released \(released); restored \(restored); unchanged \(unchanged)"
    }
}

extension MemoryService {
    /// Every org memory the selector matches, by id: the memory now (nil when deleted) and its versions
    /// in the window (empty without writer conditions or a ledger).
    func containmentMatches(org: String, _ selector: ContainmentSelector) async throws -> [UUID: (current: Memory?, versions: [MemoryVersion])] {
        try selector.validate()
        var out: [UUID: (current: Memory?, versions: [MemoryVersion])] = [:]
        let live = index.all { $0.scope == .org && $0.orgId == org && selector.matchesMemory($0) }
        if !selector.hasWriterConditions {
            for m in live { out[m.id] = (m, []) }
            return out
        }
        for m in live where selector.matchesFirstWrite(m) { out[m.id] = (m, []) }
        guard let ledger else { return out }
        let rows: [VersionRow]
        do {
            let since = selector.since?.timeIntervalSince1970 ?? 0
            rows = try await ledger.metadata.read(.org(org)) { tx in try tx.versions(orgId: org, since: since) }
        } catch {
            throw MemoryError.unavailable("the version history is not readable")
        }
        for row in rows {
            guard let v = MemoryLedger.version(row), selector.matches(version: v) else { continue }
            let id = v.memory.id
            let current = index.get(id)
            guard selector.matchesMemory(current ?? v.memory) else { continue }
            out[id, default: (current, [])].versions.append(v)
        }
        return out
    }

    /// Quarantines every org memory the selector matches: it leaves every read path at once (MCP, REST,
    /// the Qdrant API, export) and is listed as quarantined until released. Owners and admins of the
    /// organisation; one audit entry with the selector and the counts. `dryRun` only counts.
    public func quarantine(_ principal: Principal, _ selector: ContainmentSelector, dryRun: Bool) async throws -> ContainmentReport {
        let org = try requireReviewer(principal)
        var report = ContainmentReport(action: "quarantine", dryRun: dryRun)
        let matches = try await containmentMatches(org: org, selector)
        for (id, match) in matches.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            guard let m = match.current else { continue }
            report.matched += 1
            guard m.state != .quarantined else {
                report.unchanged += 1
                continue
            }
            report.quarantined += 1
            report.memoryIds.append(id)
            if !dryRun { try await quarantineOne(id, actor: principal.userId, reason: "quarantined by \(principal.userId): \(selector.summary)") }
        }
        if !dryRun { try await auditContainment(report, org: org, actor: principal.userId, selector: selector) }
        return report
    }

    /// Releases every quarantined org memory the selector matches to the state it had before (a memory
    /// whose text fails today's secret filter or blocks in the poisoning screen stays quarantined).
    public func release(_ principal: Principal, _ selector: ContainmentSelector, dryRun: Bool) async throws -> ContainmentReport {
        let org = try requireReviewer(principal)
        var report = ContainmentReport(action: "release", dryRun: dryRun)
        let matches = try await containmentMatches(org: org, selector)
        for (id, match) in matches.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            guard let m = match.current, m.state == .quarantined else { continue }
            report.matched += 1
            guard findings(m).isEmpty else {
                report.unchanged += 1
                continue
            }
            report.released += 1
            report.memoryIds.append(id)
            guard !dryRun else { continue }
            _ = try await exclusively {
                guard let latest = index.get(id), latest.state == .quarantined else { return }
                var r = latest
                r.state = latest.quarantinedFrom ?? (latest.scope == .org ? .pendingReview : .published)
                r.quarantinedFrom = nil
                r.updatedAt = Date()
                r.version = latest.version + 1
                try await recordVersion(before: latest, after: r, actor: principal.userId, origin: WriteOrigin(.admin), reason: "released")
                try await setStates([r], state: r.state, at: r.updatedAt)
            }
        }
        if !dryRun { try await auditContainment(report, org: org, actor: principal.userId, selector: selector) }
        return report
    }

    /// Rolls back what the selector changed: every matched memory returns to its last version before
    /// the window (`since`, required), restored as a new version (a deleted one comes back); memories the
    /// selector created (no version before the window) are quarantined.
    public func rollback(_ principal: Principal, _ selector: ContainmentSelector, dryRun: Bool) async throws -> ContainmentReport {
        let org = try requireReviewer(principal)
        guard let since = selector.since else { throw MemoryError.invalid("rollback needs since: the start of the window to undo") }
        guard let ledger else { throw MemoryError.unavailable("rollback needs the version history (the service database)") }
        var report = ContainmentReport(action: "rollback", dryRun: dryRun)
        let matches = try await containmentMatches(org: org, selector)
        for (id, match) in matches.sorted(by: { $0.key.uuidString < $1.key.uuidString }) {
            let versions: [MemoryVersion]
            let scope = metadataScope(id, principal: principal)
            do { versions = try await ledger.versions(of: id, current: match.current, scope: scope) } catch {
                throw MemoryError.unavailable("the version history is not readable")
            }
            let withheld = try await quarantinedVersions(id, scope: scope)
            report.matched += 1
            let before = versions.last { $0.at < since && $0.state != "deleted" }
            guard let target = before, withheld[target.version] == nil, findings(target.memory).isEmpty else {
                // Created in the window (or its last text before it is quarantined): contain it.
                if let current = match.current, current.state != .quarantined {
                    report.quarantined += 1
                    report.memoryIds.append(id)
                    if !dryRun {
                        try await quarantineOne(id, actor: principal.userId, reason: "rollback: created in the window (\(selector.summary))")
                    }
                } else {
                    report.unchanged += 1
                }
                continue
            }
            if let current = match.current, current.contentHash == target.memory.contentHash, current.state == target.memory.state,
                current.tags == target.memory.tags, current.kind == target.memory.kind
            {
                report.unchanged += 1
                continue
            }
            report.restored += 1
            report.memoryIds.append(id)
            if !dryRun { try await restore(id, to: target, current: match.current, actor: principal.userId) }
        }
        if !dryRun { try await auditContainment(report, org: org, actor: principal.userId, selector: selector) }
        return report
    }

    func quarantineOne(_ id: UUID, actor: String, reason: String) async throws {
        _ = try await exclusively {
            guard let latest = index.get(id), latest.state != .quarantined else { return }
            var m = latest
            m.quarantinedFrom = latest.state
            m.state = .quarantined
            m.updatedAt = Date()
            m.version = latest.version + 1
            try await recordVersion(before: latest, after: m, actor: actor, origin: WriteOrigin(.admin), reason: reason)
            try await setStates([m], state: .quarantined, at: m.updatedAt)
        }
    }

    /// Writes `target`'s text, metadata, state and trust record back as a new version.
    func restore(_ id: UUID, to target: MemoryVersion, current: Memory?, actor: String) async throws {
        let source = target.memory
        let vector = try await embed(source.content)
        let now = Date()
        try await exclusively {
            let latest = index.get(id)
            let top = max(latest?.version ?? 0, try await ledger?.highestRecorded(id) ?? 0, current?.version ?? 0)
            var m = source
            m.contentHash = MemoryInput.contentHash(source.content)
            m.state = source.state == .quarantined ? (source.quarantinedFrom ?? .pendingReview) : source.state
            m.quarantinedFrom = nil
            m.anchorChange = nil
            m.version = top + 1
            m.updatedAt = now
            m.embeddingModel = embeddingModel
            // The screen runs again on restored text: today's rules decide its flags.
            let report = poisonScreen.screen(m.content)
            if report.verdict != .allow, m.reviewedBy == nil { m.screenFlags = report.ruleIDs }
            try await recordVersion(
                before: latest,
                after: m,
                actor: actor,
                origin: WriteOrigin(.admin),
                reason: "rollback to v\(target.version)"
            )
            try await persist(m, vector: vector)
        }
    }

    func auditContainment(_ report: ContainmentReport, org: String, actor: String, selector: ContainmentSelector) async throws {
        try await recordAudit(
            org,
            actor: actor,
            action: report.action,
            memory: nil,
            before: nil,
            after: nil,
            detail: "\(selector.summary); \(report.counts)"
        )
    }
}

extension MemoryService {
    /// A quarantined memory as its organisation's admins see it: the text only when it holds no secret.
    public struct QuarantinedMemory: Sendable, Hashable {
        public var memory: Memory
        /// False when the text fails the secret filter (then `memory.content` is empty).
        public var textShown: Bool
        /// Rules of the secret filter or the poisoning screen's block that the text matches today.
        public var rules: [String]
    }

    /// The organisation's quarantined memories, newest change first (owners and admins).
    public func quarantinedMemories(_ principal: Principal) throws -> [QuarantinedMemory] {
        let org = try requireReviewer(principal)
        return index.all { $0.scope == .org && $0.orgId == org && $0.state == .quarantined }
            .sorted { $0.updatedAt > $1.updatedAt }
            .map { m in
                let secrets = scannedTexts(m).compactMap { $0 }.flatMap { scanner.scan($0).map(\.ruleID) }
                var shown = m
                if !secrets.isEmpty {
                    shown.content = ""
                    shown.tags = []
                }
                return QuarantinedMemory(memory: shown, textShown: secrets.isEmpty, rules: findings(m))
            }
    }
}
