import Crypto
public import EngramAccounts
public import EngramAuth
package import EngramCore
public import EngramEmbedding
public import EngramMemoryModel
public import EngramMetadata
public import EngramPoisoning
import EngramSearch
public import EngramSecrets
import EngramStore
public import EngramStoreModel
public import Foundation
public import Logging
import Metrics
package import Synchronization

/// The memory domain's operations. Every method takes the calling `Principal`
/// and goes through `AccessPolicy`; a memory the caller may not see answers
/// `MemoryError.notFound`, never "forbidden", so existence does not leak.
///
/// Writes run in this order: validate → secret scan and poisoning screen (reject, store nothing;
/// a `flag` verdict is recorded and sends an org memory to review) → normalise + SHA-256 → exact duplicate (return the existing id) → embed →
/// near duplicate by the same author (cosine ≥ 0.95: update it) → durable write →
/// in-memory indexes. Check-then-write sequences are serialised; embedding runs
/// outside the serial section.
public final class MemoryService: Sendable {
    /// Cosine similarity at or above which a new memory updates an existing one.
    public static let nearDuplicateThreshold: Float = 0.95

    public let store: any VectorStore
    public let embedder: (any Embedder)?
    /// The collection holding the memories (one per embedding model).
    public let collection: String
    package let scanner: SecretScanner
    /// The poisoning screen every write passes (`MemoryService+Screening`).
    package let poisonScreen: PoisoningScreen
    package let logger: Logger
    package let index = MemoryIndex()
    package let writes = AsyncSerialLock()
    /// New memories whose writes are in flight outside `writes` (see `InFlightAdds`).
    package let inFlight = InFlightAdds()

    /// Runs `body` under the write lock once no add is in flight: every writer but `add` sees the
    /// memories as if the adds before it had run one after another (an add's own writes leave the
    /// lock so that concurrent adds share commits; `InFlightAdds`).
    package func exclusively<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        try await writes.withLock {
            await inFlight.waitForAll()
            return try await body()
        }
    }
    /// Vector searches of concurrent requests, batched so that a shard's rows are read once
    /// for up to eight queries (the scan is memory-bound; `VectorMatrix.search(batch:k:)`).
    package let scans: BatchCoalescer<SearchRequest, [ScoredPoint]>
    package let reloadGate = Mutex(ReloadState())
    /// This replica's position in the change feed (`MemoryService+Follow`).
    package let feed = Mutex(ChangeCursor(floor: 0, gapTimeout: MemoryService.feedGapTimeout))
    /// Feed entries whose version the store does not hold yet, by memory (`MemoryService+Follow`).
    package let storeWaits = Mutex(StoreWaits(capacity: MemoryService.maxStoreWaits))
    /// Held by `catchUp()`: one read of the feed applies at a time, so that each sees what the last one left.
    package let feedReads = AsyncSerialLock()
    /// Whether this replica follows others through the change feed (`followChanges` running).
    package let following = Mutex(false)
    package struct ReloadState {
        package var running = false
        package var again = false
    }
    package let requiresReview: @Sendable (String) async -> Bool
    /// Where admin actions, promotions and deletions are recorded (nil: not recorded).
    public let audit: AuditLog?
    /// Every version of every memory (nil without a service database: versions are not kept).
    public let ledger: MemoryLedger?
    /// Served counts, confirmations and open reports.
    public let usage: UsageTracker
    /// Org lifecycle policies, reports and webhook deliveries (nil without a service database).
    package let lifecycle: (any MetadataStore)?
    /// Whether secrets (webhook secrets) may be stored only sealed: production servers refuse them
    /// when the database has no encryption key.
    package let secretsNeedKey: Bool
    /// Lifecycle policies per organisation (loaded at start, kept in step by `setPolicy`).
    package let policies = Mutex<[String: LifecyclePolicy]>([:])
    /// Hybrid-search hits whose fused relevance is below this are dropped (0 keeps everything).
    public let minRelevance: Double
    /// The default relevance floor: 0.15 of the fused score, i.e. a cosine similarity of about 0.21
    /// for a hit that shares no word with the query (unrelated MiniLM pairs score 0 to 0.15).
    public static let defaultMinRelevance = 0.15

    /// The model id recorded on memories and in the collection name (`none` for BM25-only).
    public var embeddingModel: String { embedder?.modelID ?? "none" }

    /// Collection name for an embedder: `memories_<model>_<dimensions>`, or `memories_bm25` without one.
    public static func collectionName(for embedder: (any Embedder)?) -> String {
        guard let embedder else { return "memories_bm25" }
        let model = embedder.modelID.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return "memories_\(String(model))_\(embedder.dimensions)"
    }

    /// Opens the memory domain over `store`: creates the collection if needed (with
    /// `createIfMissing: false`, a read-only open, a missing collection is left missing
    /// and no memories are loaded), checks its vector size against the embedder (a
    /// mismatch is refused, never silently stored), and rebuilds the in-memory indexes.
    public init(
        store: any VectorStore,
        embedder: (any Embedder)?,
        scanner: SecretScanner = SecretScanner(),
        poisonScreen: PoisoningScreen = PoisoningScreen(),
        requiresReview: @escaping @Sendable (String) async -> Bool = { _ in false },
        audit: AuditLog? = nil,
        metadata: (any MetadataStore)? = nil,
        createIfMissing: Bool = true,
        minRelevance: Double = MemoryService.defaultMinRelevance,
        secretsNeedKey: Bool = false,
        logger: Logger = Logger(label: "engram.memory")
    ) async throws {
        self.audit = audit
        self.secretsNeedKey = secretsNeedKey
        ledger = metadata.map { MemoryLedger(metadata: $0) }
        lifecycle = metadata
        usage = UsageTracker(metadata: metadata)
        try await usage.load()
        self.minRelevance = minRelevance
        self.store = store
        self.embedder = embedder
        self.scanner = scanner
        self.poisonScreen = poisonScreen
        self.logger = logger
        self.requiresReview = requiresReview
        collection = Self.collectionName(for: embedder)
        scans = BatchCoalescer(maxBatch: 8) { [store, collection] requests in try await store.search(collection, batch: requests) }
        if let lifecycle {
            // The feed position comes before the load: a write made meanwhile is applied again, never missed
            // (a little before it, for transactions that were still committing).
            let latest = try await lifecycle.readGlobal { tx in try tx.latestChange() }
            feed.withLock { $0 = ChangeCursor(floor: max(0, latest - 64), gapTimeout: Self.feedGapTimeout) }
        }
        try await reloadPolicies()
        let dimensions = embedder?.dimensions ?? 1
        let existing = try await store.listCollections().first { $0.name == collection }
        if let existing {
            guard existing.vectorSize == dimensions else {
                throw MemoryError.unavailable(
                    "collection \(collection) holds \(existing.vectorSize)-d vectors but the embedder produces \(dimensions)-d"
                )
            }
        } else if createIfMissing {
            try await store.createCollection(
                CollectionConfig(
                    name: collection,
                    vectorSize: dimensions,
                    distance: .cosine,
                    tenantKey: Memory.Field.tenant
                )
            )
        } else {
            logger.info("no memory collection (read-only open)", metadata: ["collection": "\(collection)"])
            return
        }
        var offset: PointID?
        var loaded = 0
        repeat {
            let page = try await readablePage(after: offset)
            for record in page.points {
                guard let payload = record.payload, let m = Memory(id: record.id, payload: payload) else {
                    logger.warning("skipping unreadable memory point", metadata: ["id": "\(record.id)"])
                    continue
                }
                index.put(m)
                loaded += 1
            }
            offset = page.nextPageOffset
        } while offset != nil
        logger.info(
            "memory domain ready",
            metadata: [
                "collection": "\(collection)", "memories": "\(loaded)", "embedder": "\(embeddingModel)",
            ]
        )
    }

    /// One page of the memory collection for the start-up load. A stored payload that does not open (a
    /// sealed value altered on disk, moved to another row, or under a key the server lacks) withholds that
    /// memory only: the page is read again point by point, the unreadable ones are logged by id (never by
    /// content) and left out of the index, and the service starts with every other memory. The bytes stay
    /// in the store (and its backups) for the operator.
    package func readablePage(after offset: PointID?) async throws -> ScrollResult {
        do {
            return try await store.scroll(collection, ScrollRequest(limit: 1000, offset: offset, withPayload: true))
        } catch StoreError.corrupt {
            let ids = try await store.scroll(collection, ScrollRequest(limit: 1000, offset: offset, withPayload: false))
            var readable: [Record] = []
            for point in ids.points {
                do {
                    readable += try await store.retrieve(collection, ids: [point.id], withPayload: true, withVector: false)
                } catch StoreError.corrupt(let why) {
                    logger.error("withholding a memory whose stored payload does not open", metadata: ["id": "\(point.id)", "reason": "\(why)"])
                }
            }
            return ScrollResult(points: readable, nextPageOffset: ids.nextPageOffset)
        }
    }

    /// Number of memories held (all tenants).
    ///
    /// (Memories are loaded before usage is needed: `usage.load()` ran above.)
    public var count: Int { index.count }

    /// Number of memories per state (all tenants), for metrics.
    public func countsByState() -> [MemoryState: Int] {
        var out: [MemoryState: Int] = [:]
        for m in index.all(where: { _ in true }) { out[m.state, default: 0] += 1 }
        return out
    }

    /// Rejects any text field holding a credential. The error names rules and spans, never the secret.
    package func scanForSecrets(_ fields: [String?]) throws {
        var findings: [Finding] = []
        for field in fields.compactMap({ $0 }) { findings += scanner.scan(field) }
        if !findings.isEmpty {
            for rule in Set(findings.map(\.ruleID)) { Counter(label: "engram_secret_rejections_total", dimensions: [("rule", rule)]).increment() }
            logger.notice("memory rejected: secret detected", metadata: ["rules": "\(Set(findings.map(\.ruleID)).sorted())"])
            throw MemoryError.secretDetected(findings: findings)
        }
    }

    package func embed(_ text: String) async throws -> [Float] {
        guard let embedder else { return [1] }
        do {
            guard let v = try await embedder.embed([text]).first else { throw MemoryError.unavailable("embedder returned nothing") }
            return v
        } catch let e as MemoryError { throw e } catch {
            logger.error("embedding failed", metadata: ["error": "\(type(of: error))"])
            throw MemoryError.unavailable("embedding failed")
        }
    }

    // MARK: - Add
    /// The store write of a recorded version (`recordVersion` first), its outbox row settled, then the
    /// in-memory indexes. When the store refuses, the recorded version stays in the outbox and the
    /// reconciler completes it when the store returns.
    package func persist(_ m: Memory, vector: [Float]) async throws {
        let started = ContinuousClock.now
        do {
            try await store.upsert(collection, points: [PointStruct(id: .uuid(m.id), vector: vector, payload: m.payload)])
        } catch {
            logger.error("store write failed", metadata: ["memory": "\(m.id)", "error": "\(type(of: error))"])
            throw MemoryError.unavailable("the store did not accept the write; it is queued and completes when the store returns")
        }
        ledger?.settled(m.id, version: m.version)
        index.put(m)
        if ContinuousClock.now - started > Self.slowStoreWrite { await followNewerVersion(after: m) }
    }

    // MARK: - Read

    /// The memory, if the caller may see it.
    public func get(_ principal: Principal, id: UUID) throws -> Memory {
        guard let m = index.get(id), AccessPolicy.canRead(principal, m) else { throw MemoryError.notFound }
        return m
    }

    /// Visible memories, newest first, `limit` per page.
    public func list(_ principal: Principal, filter: MemoryFilter = MemoryFilter(), limit: Int = 20, cursor: String? = nil) throws -> MemoryPage {
        guard (1...MemoryLimits.maxSearchLimit).contains(limit) else {
            throw MemoryError.invalid("limit must be between 1 and \(MemoryLimits.maxSearchLimit)")
        }
        var items = index.all { m in AccessPolicy.canRead(principal, m) && filter.matches(m) }
        return try paginate(&items, limit: limit, cursor: cursor)
    }

    // MARK: - Update and delete

    /// Changes the caller's own memory: re-scanned, re-hashed and re-embedded when the content changes.
    /// A content change to a published or pending org memory sends it (back) to review when the org
    /// requires review (`stateAfterContentChange`); every update is audited with both content hashes.
    public func update(
        _ principal: Principal,
        id: UUID,
        _ patch: MemoryPatch,
        origin: WriteOrigin = WriteOrigin(.rest)
    ) async throws
        -> Memory
    {
        let current = try get(principal, id: id)
        guard AccessPolicy.canModify(principal, current) else { throw MemoryError.forbidden("only the author can change this memory") }
        let (before, after) = try await applyPatch(current, patch, byReviewer: false, actor: principal.userId, origin: origin)
        try await recordUpdate(actor: principal.userId, before: before, after: after, channel: origin.channel)
        return after
    }

    /// Applies `patch` under the write lock and returns the memory as it was just before and after.
    /// Edits by a reviewer keep the state; other edits go through `stateAfterContentChange`.
    package func applyPatch(
        _ current: Memory,
        _ patch: MemoryPatch,
        byReviewer: Bool,
        actor: String,
        origin: WriteOrigin,
        reason: String? = nil
    )
        async throws -> (before: Memory, after: Memory)
    {
        var m = current
        if let c = patch.content { m.content = try MemoryInput.validate(content: c) }
        if let t = patch.tags { m.tags = try MemoryInput.validate(tags: t) }
        if let r = patch.repo { m.repo = try MemoryInput.validate(optional: r, field: "repo", max: MemoryLimits.maxRepoLength) }
        if let t = patch.taskId { m.taskId = try MemoryInput.validate(optional: t, field: "task_id", max: MemoryLimits.maxTaskIdLength) }
        if let k = patch.kind { m.kind = k }
        if let a = patch.anchors { m.anchors = try CodeAnchor.validate(a) }
        let commit = try MemoryInput.validate(commit: patch.commit)
        try scanForSecrets([m.content] + m.tags + [m.repo, m.taskId, commit] + MemoryInput.anchorTexts(m.anchors))
        m.screenFlags = try screenForPoisoning(m.content)
        m.contentHash = MemoryInput.contentHash(m.content)
        let vector = try await embed(m.content)
        return try await exclusively {
            guard let latest = index.get(current.id) else { throw MemoryError.notFound }
            m.state = latest.state
            m.version = latest.version + 1
            m.anchorChange = latest.anchorChange
            // New text or new anchors answer a code change: the mark is cleared.
            if m.contentHash != latest.contentHash || m.anchors != latest.anchors { m.anchorChange = nil }
            m.reviewedBy = m.contentHash == latest.contentHash ? latest.reviewedBy : nil
            if m.contentHash == latest.contentHash { m.screenFlags = latest.screenFlags }
            m.supersededBy = latest.supersededBy
            m.quarantinedFrom = latest.quarantinedFrom
            if !byReviewer {
                m.state = await stateAfterContentChange(m, from: latest)
            } else if m.contentHash != latest.contentHash, m.scope == .org, m.state == .published, !m.screenFlags.isEmpty {
                // Even a reviewer's own flagged text goes to review (by another reviewer, under four eyes).
                m.state = .pendingReview
            }
            m.updatedAt = Date()
            m.embeddingModel = embeddingModel
            var why = reason ?? (byReviewer ? "review edit" : "edit")
            if let commit { why += " at \(commit)" }
            try await recordVersion(before: latest, after: m, actor: actor, origin: origin, reason: why)
            try await persist(m, vector: vector)
            return (latest, m)
        }
    }

    /// The state of `changed` after its content moved away from `previous`'s outside review: a published
    /// or pending org memory goes (back) to `pending_review` when its organisation requires review, so
    /// no reader is served text that no reviewer approved, and a pending review restarts on the new text.
    package func stateAfterContentChange(_ changed: Memory, from previous: Memory) async -> MemoryState {
        guard changed.contentHash != previous.contentHash else { return changed.state }
        // New text is a new claim: a stale memory is live again (for review first where the org requires it).
        let live: MemoryState = changed.state == .stale ? .published : changed.state
        guard changed.scope == .org, let org = changed.orgId else { return live }
        switch live {
        // Flagged text always goes to review, whatever the org's policy.
        case .published, .pendingReview:
            if !changed.screenFlags.isEmpty { return .pendingReview }
            return await requiresReview(org) ? .pendingReview : live
        case .draft, .archived, .rejected, .stale, .quarantined: return live
        }
    }

    /// Audits a change of an existing memory: before and after content hashes, the path it came by,
    /// and the state change if any (never content).
    package func recordUpdate(actor: String, before: Memory, after: Memory, channel: WriteChannel, how: String? = nil) async throws {
        var detail = "via \(channel.rawValue)"
        if let how { detail += "; \(how)" }
        if before.state != after.state { detail += "; state \(before.state.rawValue)→\(after.state.rawValue)" }
        try await recordAudit(
            after.orgId,
            actor: actor,
            action: "update",
            memory: after,
            before: before.contentHash,
            after: after.contentHash,
            detail: detail
        )
    }

    /// Deletes the caller's own memory.
    public func delete(_ principal: Principal, id: UUID, origin: WriteOrigin = WriteOrigin(.rest)) async throws {
        let current = try get(principal, id: id)
        guard AccessPolicy.canModify(principal, current) else { throw MemoryError.forbidden("only the author can delete this memory") }
        try await remove(current, actor: principal.userId, origin: origin)
        try await recordAudit(current.orgId, actor: principal.userId, action: "delete", memory: current, before: current.contentHash, after: nil)
    }

    /// Appends to the audit log when one is configured. Never records content.
    package func recordAudit(
        _ org: String?,
        actor: String,
        action: String,
        memory: Memory?,
        before: String?,
        after: String?,
        detail: String? = nil
    ) async throws {
        try await recordAudit([
            AuditLog.Record(
                orgId: org,
                actor: actor,
                action: action,
                memoryId: memory?.id,
                beforeHash: before,
                afterHash: after,
                detail: detail
            )
        ])
    }

    /// Appends entries in one transaction when an audit log is configured. Never records content.
    package func recordAudit(_ records: [AuditLog.Record]) async throws {
        guard let audit, !records.isEmpty else { return }
        do {
            try await audit.record(records)
        } catch {
            logger.error("audit write failed", metadata: ["actions": "\(Set(records.map(\.action)).sorted())"])
            throw MemoryError.unavailable("the audit log did not accept the entry")
        }
    }

    /// Deletes a memory; its versions stay (ending in a `deleted` version) until the retention sweep purges them.
    package func remove(_ m: Memory, actor: String, origin: WriteOrigin) async throws {
        try await exclusively {
            let latest = index.get(m.id) ?? m
            var gone = latest
            gone.version = latest.version + 1
            try await recordVersion(before: latest, after: gone, state: "deleted", actor: actor, origin: origin, reason: "deleted")
            do {
                try await store.delete(collection, .ids([.uuid(m.id)]))
            } catch {
                throw MemoryError.unavailable("the store did not accept the delete; it is queued and completes when the store returns")
            }
            ledger?.settled(m.id, version: gone.version)
            index.remove(m.id)
        }
    }
}
