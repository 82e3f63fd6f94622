import EngramCore
import EngramDatabase
import EngramKernels
import EngramSegments
import EngramStoreModel
import Foundation
import GRDB
import Logging

/// Segment files: each collection's vector shards (float and int8 rows, row ids, point ids) on disk,
/// memory-mapped at open instead of rebuilt from SQLite row by row (`SegmentFile`).
///
/// SQLite stays the source of truth. A segment is written by `persistSegments()` (the server calls
/// it after it starts and when it stops), which first records the file's name in the collection
/// row's `segment`; SQLite triggers clear that name at the first change to the collection's points
/// after it (insert, delete, vector or tenant change, from any path), so a file that missed a write
/// is never used. The store opens a collection from its segment when the
/// trailer, header and version read back, the header names the collection and the name its row still
/// records, the checksums of what a search reads from every row match (`SegmentFile.Part.serving`),
/// and no id repeats; else it rebuilds the collection from SQLite, and the file is replaced at the
/// next `persistSegments()`.
///
/// Two more checks would read much more than a search needs, so they run once the store has opened,
/// in the background (`segmentsVerified()` waits for them): the float rows' checksums (four fifths of
/// the file), and each shard's row count against SQLite's count for its tenant (a scan of the
/// points index). A collection failing either is rebuilt from SQLite then (built aside, swapped in
/// under the write lock).
/// Until then a search reads rows that passed every check the name recorded in SQLite implies.
/// Collections with named sparse vectors are always rebuilt (their sparse indexes are not in the file).
extension EmbeddedStore {
    /// `<path>.segments`, or nil when segments are off or the database has no file.
    static func segmentDirectory(path: String, enabled: Bool) -> URL? {
        guard enabled, !path.isEmpty, path != ":memory:", !path.hasPrefix("file::memory:") else { return nil }
        return URL(fileURLWithPath: path + ".segments")
    }

    func segmentURL(_ collectionID: Int64) -> URL? {
        segmentDirectory?.appendingPathComponent("collection-\(collectionID).seg")
    }

    func rejectSegment(_ state: CollectionState, _ reason: String) {
        logger.notice(
            "segment not used; rebuilding the collection from the database",
            metadata: ["collection": "\(state.config.name)", "reason": "\(reason)"]
        )
    }

    /// Installs `state`'s shards and point ids from its segment file: the rows served and the opened
    /// file, or nil (logged with the reason, never with content) when the collection must be rebuilt
    /// from SQLite.
    func openSegment(_ state: CollectionState, recorded: String?) -> (Int, SegmentFile.Opened)? {
        guard let url = segmentURL(state.id), FileManager.default.fileExists(atPath: url.path) else { return nil }
        func reject(_ reason: String) -> (Int, SegmentFile.Opened)? {
            rejectSegment(state, reason)
            return nil
        }
        guard state.sparse.isEmpty else { return reject("collection has sparse vectors") }
        guard let token = recorded else { return reject("points changed since it was written") }
        let opened: SegmentFile.Opened
        do { opened = try SegmentFile.mapped(url) } catch { return reject("\(error)") }
        let header = opened.header
        guard header.collectionID == state.id, header.token == token else { return reject("not the file the database names") }
        guard header.dimension == state.config.vectorSize, header.normalizes == (state.config.distance == .cosine) else {
            return reject("collection configuration differs")
        }
        var shards: [String?: VectorMatrix] = [:]
        var points: [(Int64, PointID)] = []
        points.reserveCapacity(header.shards.reduce(0) { $0 + $1.count })
        let base = opened.mapping.base
        for shard in header.shards where shard.count > 0 {
            guard shards[shard.tenant] == nil else { return reject("a tenant appears twice") }
            let rows = MappedRows(
                count: shard.count,
                capacity: shard.capacity,
                ids: UnsafeRawPointer(base + shard.ids.offset),
                floats: base + shard.floats.offset,
                codes: base + shard.codes.offset,
                scales: base + shard.scales.offset,
                errors: base + shard.errors.offset,
                norms: base + shard.norms.offset,
                maxError: Float(bitPattern: shard.maxError),
                maxNorm: Float(bitPattern: shard.maxNorm),
                owner: opened.mapping
            )
            do {
                shards[shard.tenant] = try VectorMatrix(dimension: header.dimension, normalizes: header.normalizes, mapped: rows)
            } catch { return reject("\(error)") }
            let ids = UnsafeRawPointer(base + shard.ids.offset).assumingMemoryBound(to: Int64.self)
            let records = UnsafeRawPointer(base + shard.pointIDs.offset)
            for row in 0..<shard.count {
                guard let pid = SegmentFile.decodePointID(records + row * SegmentFile.pointIDBytes) else {
                    return reject("unreadable point id")
                }
                points.append((ids[row], pid))
            }
        }
        guard state.installPoints(points) else { return reject("a point id repeats") }
        state.shards = shards
        state.segment = token
        return (points.count, opened)
    }

    /// Verifies, on a background thread, the float rows and row counts of the collections opened
    /// from segment files, and rebuilds from SQLite each one that fails.
    func verifyInBackground(_ opened: [(CollectionState, SegmentFile.Opened)]) {
        guard !opened.isEmpty else { return }
        segmentVerification.enter()
        DispatchQueue.global(qos: .utility).async {
            defer { self.segmentVerification.leave() }
            let start = Date()
            var failed = 0
            for (state, file) in opened {
                // One thread, so the other core keeps serving searches meanwhile.
                if let reason = self.verificationFailure(state, file) {
                    self.rejectSegment(state, reason)
                    failed += 1
                    self.rebuild(state)
                } else {
                    // Read in and mapped: searches stop asking for their rows ahead.
                    self.lock.read { for matrix in state.shards.values { matrix.markRowsResident() } }
                }
            }
            self.logger.info(
                "segments verified",
                metadata: [
                    "collections": "\(opened.count)", "rebuilt": "\(failed)",
                    "seconds": "\(String(format: "%.3f", Date().timeIntervalSince(start)))",
                ]
            )
        }
    }

    /// Why `state`, opened from `file`, must be rebuilt, or nil when its float rows and row counts
    /// check out (or the collection is gone).
    private func verificationFailure(_ state: CollectionState, _ file: SegmentFile.Opened) -> String? {
        guard file.verify(.floats, concurrently: false) else { return "section checksum (float rows)" }
        let sql = "SELECT tenant, COUNT(*) FROM points WHERE collection_id = ? GROUP BY tenant"
        func counts() throws -> [String?: Int] {
            try pool.read { db in
                var counts: [String?: Int] = [:]
                for row in try Row.fetchAll(db, sql: sql, arguments: [state.id]) { counts[row[0] as String?] = row[1] }
                return counts
            }
        }
        do {
            // Once without the lock, which reads the index in from the disk, so the locked pass (which
            // holds writes back) runs from the page cache.
            _ = try counts()
            return try lock.read {
                guard collections[state.config.name] === state else { return nil }
                let inDatabase = try counts().filter { $0.value > 0 }
                let inMemory = state.shards.mapValues(\.count).filter { $0.value > 0 }
                return inDatabase == inMemory ? nil : "row counts differ"
            }
        } catch {
            return "row counts unreadable: \(error)"
        }
    }

    /// Reloads `state` from the database. Built aside first, with searches and writes going on: a new
    /// name is recorded in the collection row before the rows are read (a name no file carries), and
    /// the triggers clear it at the first point written after. If it is still recorded once the write
    /// lock is held, no point changed while building, and the rows built replace the old ones at once;
    /// otherwise the collection is loaded again under the write lock (on the writer queue, between
    /// groups).
    private func rebuild(_ state: CollectionState) {
        /// `state`'s collection loaded from the database into a new, unshared state.
        func loadedAside() throws -> CollectionState {
            let aside = CollectionState(id: state.id, config: state.config)
            _ = try pool.read { db in try Self.loadRows(db, into: [aside.id: aside]) }
            return aside
        }
        let marker = "rebuild-" + UUID().uuidString.lowercased()
        var aside: CollectionState?
        do {
            try pool.write { db in
                try db.execute(sql: "UPDATE collections SET segment = ? WHERE id = ?", arguments: [marker, state.id])
            }
            aside = try loadedAside()
        } catch {
            logger.warning("building a collection aside failed", metadata: ["collection": "\(state.config.name)", "error": "\(error)"])
        }
        writerQueue.sync {
            lock.write {
                guard collections[state.config.name] === state else { return }
                let recorded = try? pool.read { db in
                    try String.fetchOne(db, sql: "SELECT segment FROM collections WHERE id = ?", arguments: [state.id])
                }
                if let aside, recorded == marker {
                    state.replacePoints(with: aside)
                    logger.info("collection rebuilt", metadata: ["collection": "\(state.config.name)", "how": "built aside"])
                    return
                }
                do {
                    state.replacePoints(with: try loadedAside())
                    logger.info("collection rebuilt", metadata: ["collection": "\(state.config.name)", "how": "under the write lock"])
                } catch {
                    logger.error("rebuilding a collection failed", metadata: ["collection": "\(state.config.name)", "error": "\(error)"])
                }
            }
        }
    }

    /// Returns once the collections opened from segment files have been verified in full (float rows,
    /// row counts) and any that failed rebuilt; at once when there were none.
    public func segmentsVerified() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            segmentVerification.notify(queue: .global()) { continuation.resume() }
        }
    }

    /// Writes a segment file for every collection whose shards are not on disk as they are now, and
    /// removes the files of collections that no longer exist. Returns how many files it wrote.
    ///
    /// Writes and searches go on meanwhile: the new file's name is recorded in the collection row
    /// first, and each shard is written under the store's read lock (a write waits for one shard, not
    /// for the file). A point written after the name was recorded clears it (the triggers), so a file
    /// that missed a write, or caught half of the writes, is never used: it is replaced at the next
    /// call. The server calls it once its store has opened (so a store rebuilt after a crash is
    /// mapped at the next start) and when it stops. Does nothing when segments are off.
    @discardableResult
    public func persistSegments() async throws -> Int {
        try await persistSegments(afterEachShard: nil)
    }

    /// `persistSegments()`, calling `afterEachShard` once each shard is written (tests use it to
    /// write points in the middle of a file).
    func persistSegments(afterEachShard: (@Sendable () throws -> Void)?) async throws -> Int {
        guard let directory = segmentDirectory else { return 0 }
        // A file still being verified is rewritten if it fails, not kept.
        await segmentsVerified()
        return try await onReader {
            try self.segmentWriter.withLock { try self.writeSegments(directory, afterEachShard: afterEachShard) }
        }
    }

    private func writeSegments(_ directory: URL, afterEachShard: (@Sendable () throws -> Void)?) throws -> Int {
        try PrivateFiles.makeDirectory(directory)
        func recorded() throws -> [Int64: String?] {
            try pool.read { db in
                try Dictionary(
                    uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, segment FROM collections").map { ($0[0] as Int64, $0[1] as String?) }
                )
            }
        }
        let before = try recorded()
        let states = lock.read { Array(collections.values) }
        var written = 0
        var overtaken = 0
        for state in states where state.sparse.isEmpty {
            guard let url = segmentURL(state.id) else { continue }
            // Still recorded: no point changed since this file was opened or written.
            if let segment = state.segment, before[state.id] == segment, FileManager.default.fileExists(atPath: url.path) { continue }
            let token = UUID().uuidString.lowercased()
            // Recorded before the rows are read: any point written from now on clears it. A crash before
            // the file is in place leaves a name no file header carries, which the next open rebuilds.
            try pool.write { db in
                try db.execute(sql: "UPDATE collections SET segment = ? WHERE id = ?", arguments: [token, state.id])
            }
            let tenants = lock.read { state.shards.keys.sorted { ($0 ?? "") < ($1 ?? "") } }
            let sources = tenants.map { tenant in
                SegmentFile.ShardSource(tenant: tenant) { body in
                    try self.lock.read {
                        guard let matrix = state.shards[tenant] else { return }
                        try body(matrix) { state.pointID[$0] }
                    }
                    try afterEachShard?()
                }
            }
            try SegmentFile.write(
                to: url,
                collectionID: state.id,
                token: token,
                dimension: state.config.vectorSize,
                normalizes: state.config.distance == .cosine,
                shards: sources
            )
            if try recorded()[state.id] == token {
                state.segment = token
                written += 1
            } else {
                overtaken += 1
            }
        }
        // Files of deleted collections, and temporary files a crash left.
        let live = Set(lock.read { collections.values.compactMap { segmentURL($0.id)?.lastPathComponent } })
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where !live.contains(name) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        logger.info("segments written", metadata: ["files": "\(written)", "overtaken by writes": "\(overtaken)"])
        return written
    }
}
