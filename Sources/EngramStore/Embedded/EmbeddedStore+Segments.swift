import EngramCore
import EngramDatabase
import EngramKernels
import Foundation
import GRDB
import Logging

/// Segment files: each collection's vector shards (float and int8 rows, row ids, point ids) on disk,
/// memory-mapped at open instead of rebuilt from SQLite row by row (`SegmentFile`).
///
/// SQLite stays the source of truth. A segment is written by `persistSegments()` (the server calls
/// it when it stops), which then records the file's name in the collection row's `segment`; SQLite
/// triggers clear that name at the first change to the collection's points after it (insert, delete,
/// vector or tenant change, from any path). A segment is used at the next open only when all of this
/// holds, else the collection is rebuilt from SQLite and the file replaced at the next
/// `persistSegments()`:
/// - the trailer, header and version read back, and every section's checksum matches;
/// - the header names the collection and the name its row still records;
/// - each shard holds as many rows as SQLite has points for that tenant.
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

    /// Installs `state`'s shards and point ids from its segment file; the rows served, or nil (logged
    /// with the reason, never with content) when the collection must be rebuilt from SQLite.
    func openSegment(_ state: CollectionState, recorded: String?, sizes: [String?: Int]) -> Int? {
        guard let url = segmentURL(state.id), FileManager.default.fileExists(atPath: url.path) else { return nil }
        func reject(_ reason: String) -> Int? {
            logger.notice(
                "segment not used; rebuilding the collection from the database",
                metadata: ["collection": "\(state.config.name)", "reason": "\(reason)"]
            )
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
        let inFile = Dictionary(header.shards.map { ($0.tenant, $0.count) }, uniquingKeysWith: { a, b in a + b })
        guard inFile.filter({ $0.value > 0 }) == sizes.filter({ $0.value > 0 }) else { return reject("row counts differ") }
        var shards: [String?: VectorMatrix] = [:]
        var points: [(Int64, PointID)] = []
        points.reserveCapacity(sizes.values.reduce(0, +))
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
        return points.count
    }

    /// Writes a segment file for every collection whose shards are not on disk as they are now, and
    /// removes the files of collections that no longer exist. Returns how many files it wrote.
    ///
    /// Holds the store's read lock while it writes (writes wait; searches go on), so a file is an
    /// exact image of the shards as the database holds them. The server calls it once it has drained, before
    /// it exits; a store killed before then rebuilds at the next open the collections written to since
    /// their last segment. Does nothing when segments are off.
    @discardableResult
    public func persistSegments() async throws -> Int {
        guard let directory = segmentDirectory else { return 0 }
        return try await onReader {
            try self.segmentWriter.withLock {
                try self.lock.read { try self.persistSegmentsLocked(directory) }
            }
        }
    }

    private func persistSegmentsLocked(_ directory: URL) throws -> Int {
        try PrivateFiles.makeDirectory(directory)
        let recorded = try pool.read { db in
            try Dictionary(
                uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT id, segment FROM collections").map { ($0[0] as Int64, $0[1] as String?) }
            )
        }
        var written = 0
        for state in collections.values where state.sparse.isEmpty {
            guard let url = segmentURL(state.id) else { continue }
            // Still recorded: no point changed since this file was opened or written.
            if let segment = state.segment, recorded[state.id] == segment, FileManager.default.fileExists(atPath: url.path) { continue }
            let token = UUID().uuidString.lowercased()
            let sources = state.shards.sorted { ($0.key ?? "") < ($1.key ?? "") }.map { tenant, matrix in
                SegmentFile.ShardSource(tenant: tenant, matrix: matrix, pointID: { state.pointID[$0] })
            }
            try SegmentFile.write(
                to: url,
                collectionID: state.id,
                token: token,
                dimension: state.config.vectorSize,
                normalizes: state.config.distance == .cosine,
                shards: sources
            )
            // Recorded after the file is in place: a crash in between leaves a file whose token the row
            // does not name, which the next open rebuilds.
            try pool.write { db in
                try db.execute(sql: "UPDATE collections SET segment = ? WHERE id = ?", arguments: [token, state.id])
            }
            state.segment = token
            written += 1
        }
        // Files of deleted collections, and temporary files a crash left.
        let live = Set(collections.values.compactMap { segmentURL($0.id)?.lastPathComponent })
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where !live.contains(name) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        logger.info("segments written", metadata: ["files": "\(written)"])
        return written
    }
}
