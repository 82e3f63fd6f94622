import EngramCore
public import EngramMetadata
import EngramStoreModel
public import Foundation
import Synchronization

/// One recorded state of a memory.
public struct MemoryVersion: Sendable, Hashable {
    public var version: Int
    public var at: Date
    /// Who made the change (a user id, or `system` for the sweep).
    public var actor: String
    public var channel: String
    public var client: String?
    public var requestId: String?
    /// Why: `created`, `edit`, `revert to v3`, `approve`, `stale: …`, `deleted`, …
    public var reason: String
    /// The memory's state after the change, or `deleted`.
    public var state: String
    /// The memory as it was after the change.
    public var memory: Memory
    /// False for a version the ledger did not record but derived from the stored memory (written before
    /// versions existed, or interrupted between the memory write and the version write).
    public var recorded: Bool
    /// The rules a rescan matched when this version's text is withheld (quarantined), else nil. A withheld
    /// version's `memory` has no text, tags, repository, task or anchors.
    public var withheldRules: [String]? = nil
    /// The id (`jti`) of the token that made the change, when there was one.
    public var tokenId: String? = nil

    /// This version with its text withheld.
    package func withheld(_ rules: [String]) -> MemoryVersion {
        var v = self
        v.withheldRules = rules
        v.memory.content = ""
        v.memory.tags = []
        v.memory.repo = nil
        v.memory.taskId = nil
        v.memory.anchors = []
        v.memory.provenance.branch = nil
        v.memory.provenance.commit = nil
        return v
    }
}

/// The memory versions of the service database: an append-only ledger, one full snapshot per change.
///
/// A change is recorded first, with its outbox row (`OutboxRow`) in the same transaction, inside the
/// service's write lock; the vector store is written second and the row settled after (`settled(_:)`,
/// flushed in batches by `flushSettled()`). A crash in between leaves the ledger one version ahead of the
/// store, and the reconciler (`MemoryService.reconcileOutbox`) finishes the store write from the recorded
/// version. Memories written before the outbox existed may still have a store one version ahead of the
/// ledger; that gap is filled from the stored memory (`baseline`) the next time the memory changes.
public final class MemoryLedger: Sendable {
    package let metadata: any MetadataStore
    /// The highest version recorded per memory (loaded once, then kept in step).
    private let recorded: Mutex<[UUID: Int]?> = Mutex(nil)
    /// Store writes done whose outbox rows are not settled yet.
    private let settledKeys: Mutex<[String: Int]> = Mutex([:])

    /// The ledger in `metadata`.
    public init(metadata: any MetadataStore) {
        self.metadata = metadata
    }

    package func highestRecorded(_ id: UUID) async throws -> Int {
        if let known = recorded.withLock({ $0 }) { return known[id] ?? 0 }
        // Loaded once for every memory (a start-up loader: the global surface).
        let loaded = try await metadata.readGlobal { tx in try tx.latestVersionNumbers() }
        var map: [UUID: Int] = [:]
        for (k, v) in loaded { if let id = UUID(uuidString: k) { map[id] = v } }
        recorded.withLock { state in if state == nil { state = map } }
        return map[id] ?? 0
    }

    /// Appends the change from `before` (nil for a new memory) to `after`. When the ledger lacks
    /// `before`'s version it records `before` first as a `baseline`.
    package func record(
        before: Memory?,
        after: Memory,
        state: String? = nil,
        actor: String,
        origin: WriteOrigin,
        reason: String,
        at: Date
    )
        async throws
    {
        var rows: [VersionRow] = []
        if let before, try await highestRecorded(before.id) < before.version {
            rows.append(
                Self.row(
                    before,
                    state: before.state.rawValue,
                    actor: before.userId,
                    channel: before.provenance.channel.rawValue,
                    client: nil,
                    requestId: nil,
                    reason: "baseline",
                    at: before.updatedAt
                )
            )
        }
        rows.append(
            Self.row(
                after,
                state: state ?? after.state.rawValue,
                actor: actor,
                channel: origin.channel.rawValue,
                client: origin.client,
                requestId: origin.requestId,
                reason: reason,
                at: at,
                tokenId: origin.tokenId
            )
        )
        let versions = rows
        let pending = OutboxRow(memoryId: after.id.lowercasedText, version: after.version, tenant: after.tenant, at: at.timeIntervalSince1970)
        try await metadata.write(.memory(after, actor: actor)) { tx in
            try tx.appendVersions(versions)
            try tx.insertOutbox([pending])
        }
        recorded.withLock { state in state?[after.id] = after.version }
    }

    /// Notes that the store holds `version` of memory `id`: its outbox rows up to that version are settled
    /// at the next `flushSettled()`.
    package func settled(_ id: UUID, version: Int) {
        settledKeys.withLock { keys in keys[id.lowercasedText] = max(keys[id.lowercasedText] ?? 0, version) }
    }

    /// Removes the outbox rows of the store writes done since the last flush, in one transaction. On failure
    /// the keys stay for the next flush (a row left behind is only re-checked by the reconciler).
    /// - Returns: how many memories' rows were settled.
    @discardableResult
    package func flushSettled() async throws -> Int {
        let keys = settledKeys.withLock { keys in
            defer { keys = [:] }
            return keys.map { OutboxKey(memoryId: $0.key, version: $0.value) }
        }
        guard !keys.isEmpty else { return 0 }
        do {
            try await metadata.writeGlobal { tx in try tx.settleOutbox(keys) }
        } catch {
            settledKeys.withLock { pending in
                for k in keys { pending[k.memoryId] = max(pending[k.memoryId] ?? 0, k.version) }
            }
            throw error
        }
        return keys.count
    }

    /// Notes a version that another replica recorded (read from the change feed), so that this one does not
    /// take the memory for one whose ledger lags the store and fill a `baseline` over that version.
    package func noteRecorded(_ id: UUID, version: Int) {
        recorded.withLock { state in
            guard state != nil else { return }
            let highest = max(state?[id] ?? 0, version)
            state?[id] = highest
        }
    }

    /// Appends versions of many memories (imports) in one transaction.
    package func recordAll(_ rows: [VersionRow], scope: TenantScope) async throws {
        try await metadata.write(scope) { tx in try tx.appendVersions(rows, keepingExisting: true) }
        recorded.withLock { state in
            guard var map = state else { return }
            for r in rows { if let id = UUID(uuidString: r.memoryId) { map[id] = max(map[id] ?? 0, r.version) } }
            state = map
        }
    }

    /// Every version of a memory, oldest first; `current` (the stored memory, if it exists) fills a gap at the end.
    package func versions(of id: UUID, current: Memory?, scope: TenantScope) async throws -> [MemoryVersion] {
        var out = try await metadata.read(scope) { tx in try tx.versions(memoryId: id.lowercasedText) }.compactMap(Self.version)
        if let current, (out.last?.version ?? 0) < current.version {
            out.append(
                MemoryVersion(
                    version: current.version,
                    at: current.updatedAt,
                    actor: current.userId,
                    channel: current.provenance.channel.rawValue,
                    client: current.provenance.client,
                    requestId: current.provenance.requestId,
                    reason: current.version == 1 ? "created" : "baseline",
                    state: current.state.rawValue,
                    memory: current,
                    recorded: false
                )
            )
        }
        return out
    }

    /// Forgets memories purged by retention.
    package func forget(_ ids: [UUID]) {
        recorded.withLock { state in for id in ids { state?[id] = nil } }
    }

    package static func row(
        _ m: Memory,
        state: String,
        actor: String,
        channel: String,
        client: String?,
        requestId: String?,
        reason: String,
        at: Date,
        tokenId: String? = nil
    ) -> VersionRow {
        VersionRow(
            memoryId: m.id.lowercasedText,
            version: m.version,
            at: at.timeIntervalSince1970,
            actor: actor,
            channel: channel,
            client: client,
            requestId: requestId,
            reason: reason,
            orgId: m.orgId,
            state: state,
            contentHash: m.contentHash,
            snapshot: Data(JSONValue.object(m.payload).jsonBytes()),
            tokenId: tokenId,
            tenant: m.tenant
        )
    }

    package static func version(_ r: VersionRow) -> MemoryVersion? {
        guard let id = UUID(uuidString: r.memoryId), let json = try? JSONDecoder().decode(JSONValue.self, from: r.snapshot),
            case let .object(payload) = json,
            let m = Memory(id: .uuid(id), payload: payload)
        else { return nil }
        return MemoryVersion(
            version: r.version,
            at: Date(timeIntervalSince1970: r.at),
            actor: r.actor,
            channel: r.channel,
            client: r.client,
            requestId: r.requestId,
            reason: r.reason,
            state: r.state,
            memory: m,
            recorded: true,
            tokenId: r.tokenId
        )
    }
}
