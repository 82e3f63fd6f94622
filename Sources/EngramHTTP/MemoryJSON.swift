package import EngramAuth
package import EngramCore
package import EngramLifecycle
import EngramMemory
package import EngramMemoryModel
package import Foundation

/// The wire form of memories and search hits (snake_case, RFC 3339 times),
/// shared by MCP `structuredContent` and the REST API.
package enum MemoryJSON {
    /// A memory on the wire. `lean` (what an assistant reads over MCP) leaves out the bookkeeping an
    /// assistant has no use for: the content hash (reviewers bind approvals to it over REST) and the model.
    /// `trust` is the memory's trust for the reader (`Memory.trust(for:)`), shown when given.
    package static func memory(_ m: Memory, lean: Bool = false, trust: MemoryTrust? = nil) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(m.id.lowercasedText), "user_id": .string(m.userId), "scope": .string(m.scope.rawValue),
            "state": .string(m.state.rawValue), "content": .string(m.content), "tags": .array(m.tags.map { .string($0) }),
            "kind": .string(m.kind.rawValue),
            "created_at": .string(RFC3339.format(m.createdAt.timeIntervalSince1970)),
            "updated_at": .string(RFC3339.format(m.updatedAt.timeIntervalSince1970)),
        ]
        if !lean {
            o["content_hash"] = .string(m.contentHash)
            o["embedding_model"] = .string(m.embeddingModel)
        }
        o["org_id"] = m.orgId.map { .string($0) } ?? .null
        o["repo"] = m.repo.map { .string($0) } ?? .null
        o["task_id"] = m.taskId.map { .string($0) } ?? .null
        o["version"] = .int(Int64(m.version))
        o["provenance"] = provenance(m)
        o["anchors"] = .array(m.anchors.map(anchor))
        o["anchor_changed"] = m.anchorChange.map(anchorChange) ?? .null
        o["expires_at"] = m.expiresAt.map { time($0) } ?? .null
        if let trust { o["trust"] = .string(trust.rawValue) }
        o["screen_flags"] = .array(m.screenFlags.map { .string($0) })
        o["reviewed_by"] = m.reviewedBy.map { .string($0) } ?? .null
        o["superseded_by"] = m.supersededBy.map { .string($0.lowercasedText) } ?? .null
        return .object(o)
    }

    /// Possible conflicts on the wire: id, content, similarity (and state, author and trust for the reader).
    package static func conflicts(_ list: [PossibleConflict], reader: Principal) -> JSONValue {
        .array(
            list.map { c in
                .object([
                    "id": .string(c.memory.id.lowercasedText), "content": .string(c.memory.content),
                    "similarity": .double((c.similarity * 1e4).rounded() / 1e4), "state": .string(c.memory.state.rawValue),
                    "user_id": .string(c.memory.userId), "trust": .string(c.memory.trust(for: reader).rawValue),
                ])
            }
        )
    }

    /// The compact provenance block: who wrote it, by which path and client, in which task, repository and
    /// commit, when, and the current version.
    package static func provenance(_ m: Memory) -> JSONValue {
        let p = m.provenance
        func opt(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        return .object([
            "author": .string(m.userId), "channel": .string(p.channel.rawValue), "client": opt(p.client), "request_id": opt(p.requestId),
            "task_id": opt(m.taskId), "repo": opt(m.repo), "branch": opt(p.branch), "commit": opt(p.commit),
            "created_at": time(m.createdAt), "updated_at": time(m.updatedAt), "version": .int(Int64(m.version)),
        ])
    }

    package static func anchor(_ a: CodeAnchor) -> JSONValue {
        var o: [String: JSONValue] = ["path": .string(a.path)]
        if let sha = a.sha { o["sha"] = .string(sha) }
        if let lines = a.lines { o["lines"] = .string(lines.description) }
        if let symbol = a.symbol { o["symbol"] = .string(symbol) }
        return .object(o)
    }

    package static func anchorChange(_ c: AnchorChange) -> JSONValue {
        .object(["commit": .string(c.commit), "paths": .array(c.paths.map { .string($0) }), "at": time(c.at)])
    }

    package static func time(_ d: Date) -> JSONValue { .string(RFC3339.format(d.timeIntervalSince1970)) }

    package static func usage(_ u: MemoryUsage) -> JSONValue {
        .object([
            "served_count": .int(Int64(u.servedCount)), "last_served_at": u.lastServedAt.map { time($0) } ?? .null,
            "last_confirmed_at": u.lastConfirmedAt.map { time($0) } ?? .null, "open_reports": .int(Int64(u.openReports)),
        ])
    }

    /// A memory with its usage and freshness (get, and reviewers' views).
    package static func memory(_ m: Memory, usage u: MemoryUsage, freshness f: Freshness, lean: Bool = false, trust: MemoryTrust? = nil) -> JSONValue
    {
        guard case var .object(o) = memory(m, lean: lean, trust: trust) else { return memory(m, lean: lean, trust: trust) }
        o["usage"] = usage(u)
        o["freshness"] = .string(f.label)
        o["freshness_state"] = .string(f.code)
        return .object(o)
    }

    package static func hit(_ h: MemorySearchHit, lean: Bool = false, reader: Principal? = nil) -> JSONValue {
        var o: [String: JSONValue] = [
            "memory": memory(h.memory, usage: h.usage, freshness: h.freshness, lean: lean, trust: reader.map { h.memory.trust(for: $0) }),
            "score": .double(round(h.score * 1e6) / 1e6),
        ]
        o["similarity"] = h.similarity.map { .double(round($0 * 1e6) / 1e6) } ?? .null
        o["freshness"] = .string(h.freshness.label)
        return .object(o)
    }

    package static func version(_ v: MemoryVersion, lean: Bool = false) -> JSONValue {
        func opt(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        return .object([
            "version": .int(Int64(v.version)), "at": time(v.at), "actor": .string(v.actor), "channel": .string(v.channel),
            "client": opt(v.client), "request_id": opt(v.requestId), "reason": .string(v.reason), "state": .string(v.state),
            "recorded": .bool(v.recorded), "memory": memory(v.memory, lean: lean),
            "withheld_rules": v.withheldRules.map { .array($0.map { .string($0) }) } ?? .null,
        ])
    }

    package static func history(_ id: UUID, _ versions: [MemoryVersion], lean: Bool = false) -> JSONValue {
        .object(["id": .string(id.lowercasedText), "versions": .array(versions.map { version($0, lean: lean) })])
    }

    package static func report(_ r: MemoryReport) -> JSONValue {
        .object([
            "at": time(r.at), "memory_id": .string(r.memoryId.lowercasedText), "user_id": .string(r.userId),
            "verdict": .string(r.verdict.rawValue), "note": r.note.map { .string($0) } ?? .null, "resolved": .bool(r.resolved),
        ])
    }

    package static func rating(_ r: RatingResult, lean: Bool = false, reader: Principal) -> JSONValue {
        .object([
            "memory": memory(r.memory, lean: lean, trust: r.memory.trust(for: reader)), "outcome": .string(r.outcome.rawValue),
            "reporters": .int(Int64(r.reporters)),
        ])
    }

    package static func page(_ p: MemoryPage, lean: Bool = false, reader: Principal? = nil) -> JSONValue {
        .object([
            "memories": .array(p.memories.map { memory($0, lean: lean, trust: reader.map($0.trust(for:))) }),
            "next_cursor": p.nextCursor.map { .string($0) } ?? .null,
        ])
    }

    package static func add(_ r: AddResult, lean: Bool = false, reader: Principal) -> JSONValue {
        var o: [String: JSONValue] = [
            "memory": memory(r.memory, lean: lean, trust: r.memory.trust(for: reader)), "status": .string(r.status.rawValue),
            "possible_conflicts": conflicts(r.conflicts, reader: reader),
            "superseded": r.superseded.map { .string($0.id.lowercasedText) } ?? .null,
        ]
        if let next = nextStep(r.memory) { o["next_step"] = .string(next) }
        if let warning = flagWarning(r.memory) { o["warning"] = .string(warning) }
        return .object(o)
    }

    /// What the screen's flag means for the writer (nil when the memory is not flagged).
    package static func flagWarning(_ m: Memory) -> String? {
        guard !m.screenFlags.isEmpty else { return nil }
        let rules = m.screenFlags.joined(separator: ", ")
        if m.scope == .org {
            return "The poisoning screen flagged this text (\(rules)): it goes to an admin's review before the organisation sees it."
        }
        return "The poisoning screen flagged this text (\(rules)): it is kept, marked flagged, and served with a warning."
    }

    /// What the author must do for an org draft to reach the team (nil when nothing is needed).
    package static func nextStep(_ m: Memory) -> String? {
        guard m.scope == .org, m.state == .draft else { return nil }
        let call = m.taskId.map { "finish_task with task_id \"\($0)\"" } ?? "finish_task without a task_id"
        return "It is a draft visible only to you until you call \(call) (POST /v1/finish) to publish it."
    }

    package static func finish(_ promoted: [Memory], taskId: String?) -> JSONValue {
        .object([
            "task_id": taskId.map { .string($0) } ?? .null,
            "promoted": .array(promoted.map { .string($0.id.lowercasedText) }),
            // The state they reached (nil when none, or when some went to review and others were published).
            "state": Set(promoted.map(\.state)).count == 1 ? .string(promoted[0].state.rawValue) : .null,
            "states": .object(Dictionary(uniqueKeysWithValues: promoted.map { ($0.id.lowercasedText, JSONValue.string($0.state.rawValue)) })),
        ])
    }

    package static func usageReport(_ r: UsageReport) -> JSONValue {
        func entry(_ e: UsageReport.Entry) -> JSONValue {
            .object([
                "id": .string(e.memory.id.lowercasedText), "user_id": .string(e.memory.userId), "state": .string(e.memory.state.rawValue),
                "content": .string(e.memory.content), "usage": usage(e.usage), "created_at": time(e.memory.createdAt),
            ])
        }
        return .object([
            "most_served": .array(r.mostServed.map(entry)), "never_served": .array(r.neverServed.map(entry)),
            "recent_reports": .array(r.recentReports.map(report)),
            "members": .array(
                r.members.map {
                    .object([
                        "user_id": .string($0.userId), "authored": .int(Int64($0.authored)), "served": .int(Int64($0.served)),
                        "reports": .int(Int64($0.reports)),
                    ])
                }
            ),
        ])
    }
}
