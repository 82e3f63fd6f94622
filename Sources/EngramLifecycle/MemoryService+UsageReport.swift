public import EngramAuth
import EngramCore
public import EngramMemory
public import EngramMemoryModel
import EngramMetadata
import Foundation

/// How an organisation's memories are used, for its admins.
public struct UsageReport: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public var memory: Memory
        public var usage: MemoryUsage
    }

    public struct Member: Sendable, Hashable {
        public var userId: String
        /// Org memories the member wrote (any state).
        public var authored: Int
        /// Times the member's org memories were served.
        public var served: Int
        /// Verdicts the member gave in the report window.
        public var reports: Int
    }

    /// Published or stale memories, most served first.
    public var mostServed: [Entry]
    /// Published memories never served, oldest first.
    public var neverServed: [Entry]
    /// Verdicts of the report window, newest first.
    public var recentReports: [MemoryReport]
    public var members: [Member]
}

extension MemoryService {
    /// The usage report of the admin's organisation: most served, never served, recently reported
    /// (the last `days` days), and per-member counts.
    public func usageReport(_ principal: Principal, limit: Int = 20, days: Int = 30) async throws -> UsageReport {
        let org = try requireReviewer(principal)
        guard (1...MemoryLimits.maxSearchLimit).contains(limit) else {
            throw MemoryError.invalid("limit must be between 1 and \(MemoryLimits.maxSearchLimit)")
        }
        guard (1...3650).contains(days) else { throw MemoryError.invalid("days must be between 1 and 3650") }
        let mine = index.all { $0.scope == .org && $0.orgId == org }
        let all = usage.all()
        let entries = mine.map { UsageReport.Entry(memory: $0, usage: all[$0.id] ?? MemoryUsage()) }
        let live = entries.filter { $0.memory.state == .published || $0.memory.state == .stale }
        let most = live.filter { $0.usage.servedCount > 0 }.sorted {
            ($0.usage.servedCount, $1.memory.id.uuidString) > ($1.usage.servedCount, $0.memory.id.uuidString)
        }
        let never = entries.filter { $0.memory.state == .published && $0.usage.servedCount == 0 }.sorted {
            ($0.memory.createdAt, $0.memory.id.uuidString) < ($1.memory.createdAt, $1.memory.id.uuidString)
        }
        var reports: [MemoryReport] = []
        if let lifecycle {
            do {
                let since = Date().timeIntervalSince1970 - Double(days) * 86_400
                reports = try await lifecycle.read(.org(org)) { tx in try tx.recentReports(orgId: org, since: since, limit: 200) }.compactMap(
                    Self.report
                )
            } catch {
                throw MemoryError.unavailable("the reports are not readable")
            }
        }
        var members: [String: UsageReport.Member] = [:]
        for e in entries {
            members[e.memory.userId, default: UsageReport.Member(userId: e.memory.userId, authored: 0, served: 0, reports: 0)].authored += 1
            members[e.memory.userId]!.served += e.usage.servedCount
        }
        for r in reports {
            members[r.userId, default: UsageReport.Member(userId: r.userId, authored: 0, served: 0, reports: 0)].reports += 1
        }
        return UsageReport(
            mostServed: Array(most.prefix(limit)),
            neverServed: Array(never.prefix(limit)),
            recentReports: Array(reports.prefix(limit * 5)),
            members: members.values.sorted { $0.userId < $1.userId }
        )
    }
}
