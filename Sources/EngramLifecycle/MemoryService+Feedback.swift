public import EngramAuth
import EngramCore
public import EngramMemory
public import EngramMemoryModel
import EngramMetadata
public import Foundation

/// A caller's verdict on a memory.
public enum Verdict: String, Sendable, CaseIterable, Codable {
    /// It is right: confirms it (`last_confirmed_at`).
    case helpful
    /// It was right once; the code or the practice moved on.
    case outdated
    /// It is not right.
    case wrong
}

/// What `rate` did with a verdict.
public struct RatingResult: Sendable, Hashable {
    public enum Outcome: String, Sendable, Hashable {
        /// `helpful`: the memory was confirmed.
        case confirmed
        /// The author reported their personal memory: it is now `stale`.
        case markedStale = "marked_stale"
        /// Two members (or one admin) reported an org memory: it is back in review with the notes.
        case sentToReview = "sent_to_review"
        /// The report is recorded; one more member's report sends the memory to review.
        case recorded
    }

    public var memory: Memory
    public var outcome: Outcome
    /// Distinct members with an open `outdated`/`wrong` report on the memory.
    public var reporters: Int
}

/// A verdict as the reviewer sees it.
public struct MemoryReport: Sendable, Hashable {
    public var at: Date
    public var memoryId: UUID
    public var userId: String
    public var verdict: Verdict
    public var note: String?
    public var resolved: Bool
}

extension MemoryService {
    /// Reports from this many distinct members send an org memory back to review (one admin suffices).
    public static let reportsForReview = 2

    /// Records a verdict on a memory the caller can read. `helpful` confirms it. `outdated`/`wrong` from
    /// the author of a personal memory makes it `stale`; on an org memory, reports from two distinct
    /// members (or one admin) send a published or stale memory back to review, notes attached.
    public func rate(
        _ principal: Principal,
        id: UUID,
        verdict: Verdict,
        note: String? = nil,
        origin: WriteOrigin = WriteOrigin(.mcp)
    ) async throws
        -> RatingResult
    {
        let current = try get(principal, id: id)
        var text: String?
        if let note {
            let trimmed = note.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty {
                guard trimmed.count <= MemoryLimits.maxNoteLength else {
                    throw MemoryError.invalid("note is longer than \(MemoryLimits.maxNoteLength) characters")
                }
                guard !MemoryInput.hasControlCharacter(trimmed, allowingLayout: true) else {
                    throw MemoryError.invalid("note must not contain control characters")
                }
                try scanForSecrets([trimmed])
                text = trimmed
            }
        }
        let now = Date()
        if let lifecycle {
            do {
                let row = ReportRow(
                    at: now.timeIntervalSince1970,
                    memoryId: id.lowercasedText,
                    orgId: current.orgId,
                    userId: principal.userId,
                    verdict: verdict.rawValue,
                    note: text
                )
                try await lifecycle.write(.memory(current, actor: principal.userId)) { tx in try tx.insertReport(row) }
            } catch {
                throw MemoryError.unavailable("the report was not recorded")
            }
        }
        if verdict == .helpful {
            usage.confirmed(id, at: now)
            return RatingResult(memory: current, outcome: .confirmed, reporters: try await openReporters(id).count)
        }
        let reporters = try await openReporters(id)
        usage.setOpenReports(id, reporters.count)
        let reason = "reported \(verdict.rawValue) by \(principal.userId)"
        if current.scope == .personal {
            guard current.state == .published else { return RatingResult(memory: current, outcome: .recorded, reporters: reporters.count) }
            let m = try await changeState(id, to: .stale, actor: principal.userId, origin: origin, reason: reason, from: [.published])
            return RatingResult(memory: m ?? current, outcome: m == nil ? .recorded : .markedStale, reporters: reporters.count)
        }
        let byAdmin = AccessPolicy.canReview(principal, current)
        guard byAdmin || reporters.count >= Self.reportsForReview else {
            return RatingResult(memory: current, outcome: .recorded, reporters: reporters.count)
        }
        guard
            let m = try await changeState(
                id,
                to: .pendingReview,
                actor: principal.userId,
                origin: origin,
                reason: reason + " (\(reporters.count) open report\(reporters.count == 1 ? "" : "s"))",
                from: [.published, .stale]
            )
        else { return RatingResult(memory: current, outcome: .recorded, reporters: reporters.count) }
        try await recordAudit(
            m.orgId,
            actor: principal.userId,
            action: "reported",
            memory: m,
            before: m.contentHash,
            after: m.contentHash,
            detail: "\(verdict.rawValue); \(reporters.count) reporter(s); state \(current.state.rawValue)→\(m.state.rawValue)"
        )
        return RatingResult(memory: m, outcome: .sentToReview, reporters: reporters.count)
    }

    /// Distinct members with an open `outdated`/`wrong` report on the memory.
    func openReporters(_ id: UUID) async throws -> Set<String> {
        guard let lifecycle else { return [] }
        do {
            return Set(
                try await lifecycle.read(metadataScope(id)) { tx in try tx.openReports(memoryId: id.lowercasedText) }.filter {
                    $0.verdict != Verdict.helpful.rawValue
                }.map { $0.userId }
            )
        } catch {
            throw MemoryError.unavailable("the reports are not readable")
        }
    }

    /// The open reports of a memory, for its reviewers (and its author for a personal memory).
    public func reports(_ principal: Principal, id: UUID) async throws -> [MemoryReport] {
        let m = try get(principal, id: id)
        guard AccessPolicy.canReview(principal, m) || (m.scope == .personal && m.userId == principal.userId) else {
            throw MemoryError.forbidden("reports of an org memory are for its reviewers")
        }
        guard let lifecycle else { return [] }
        return try await lifecycle.read(.memory(m, actor: principal.userId)) { tx in try tx.openReports(memoryId: id.lowercasedText) }
            .compactMap(Self.report)
    }

    static func report(_ r: ReportRow) -> MemoryReport? {
        guard let id = UUID(uuidString: r.memoryId), let verdict = Verdict(rawValue: r.verdict) else { return nil }
        return MemoryReport(
            at: Date(timeIntervalSince1970: r.at),
            memoryId: id,
            userId: r.userId,
            verdict: verdict,
            note: r.note,
            resolved: r.resolved
        )
    }

    /// Moves a memory to `state` when it is in one of `from` (nil when it is not, or is gone), as a new version.
    func changeState(
        _ id: UUID,
        to state: MemoryState,
        actor: String,
        origin: WriteOrigin,
        reason: String,
        from: Set<MemoryState>
    )
        async throws -> Memory?
    {
        try await exclusively {
            guard let latest = index.get(id), from.contains(latest.state) else { return nil }
            var m = latest
            if state == .quarantined { m.quarantinedFrom = latest.state }
            m.state = state
            m.updatedAt = Date()
            m.version = latest.version + 1
            try await recordVersion(before: latest, after: m, actor: actor, origin: origin, reason: reason)
            try await setStates([m], state: state, at: m.updatedAt)
            return m
        }
    }
}
