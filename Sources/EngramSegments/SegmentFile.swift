import EngramCore
package import EngramKernels
package import EngramStoreModel
package import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One collection's vector shards on disk, memory-mapped at open so a large store is ready without
/// rebuilding its rows from SQLite. SQLite stays the source of truth: a segment is used only when
/// everything in it checks out (see `EmbeddedStore+Segments.swift`), and rebuilt from SQLite otherwise.
///
/// Layout (little-endian): every section starts on a 4 KiB boundary, in shard order: row ids, float
/// rows, int8 rows, scales, error bounds, norm bounds and point ids; the row sections are sized for
/// `capacity` rows, of which the first `count` are written (the rest are holes, so appends after
/// opening land in place). After the sections come the header (JSON: `SegmentHeader`) and a
/// 24-byte trailer: the header's offset (UInt64), length (UInt32) and checksum (UInt32), then the
/// magic `ENGSEG01`. A file is written whole to a temporary name, fsynced and renamed over the old
/// one, so a crash leaves the old file or the new one, never a mix.
package enum SegmentFile {
    package static let magic = Array("ENGSEG01".utf8)
    package static let version = 1
    package static let alignment = 4096
    /// Sections are checksummed in chunks of this size, so verification runs on every core.
    package static let chunkBytes = 32 << 20
    package static let trailerBytes = 24

    package struct Section: Codable, Equatable {
        package var offset: Int
        /// Bytes in use (the section may reserve more, for appends).
        package var length: Int
        /// `Checksum.of` each `chunkBytes` chunk of the bytes in use.
        package var checksums: [UInt32]
    }

    package struct Shard: Codable {
        package var tenant: String?
        package var count: Int
        package var capacity: Int
        package var ids: Section
        package var floats: Section
        package var codes: Section
        package var scales: Section
        package var errors: Section
        package var norms: Section
        package var pointIDs: Section
        /// Bit patterns of the matrix's widest bounds.
        package var maxError: UInt32
        package var maxNorm: UInt32
    }

    package struct Header: Codable {
        package var version: Int
        package var collectionID: Int64
        /// The name recorded in the collection row's `segment` when the file was written.
        package var token: String
        package var dimension: Int
        package var normalizes: Bool
        package var stride: Int
        package var shards: [Shard]
    }

    /// Why a segment was not used (logged, then the collection is rebuilt from SQLite).
    package struct Rejected: Error, CustomStringConvertible {
        package let description: String
        package init(_ description: String) { self.description = description }
    }

    /// Bytes of a point id record: a kind byte (0 number, 1 UUID) and 16 bytes.
    package static let pointIDBytes = 17

    package static func aligned(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    package static func checksums(_ bytes: UnsafeRawBufferPointer) -> [UInt32] {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return [] }
        return stride(from: 0, to: bytes.count, by: chunkBytes).map { start in
            Checksum.of(base + start, count: min(chunkBytes, bytes.count - start))
        }
    }

    package static func encodePointID(_ id: PointID, into p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: pointIDBytes)
        switch id {
        case let .number(n):
            p.storeBytes(of: 0, as: UInt8.self)
            p.storeBytes(of: n.littleEndian, toByteOffset: 1, as: UInt64.self)
        case let .uuid(u):
            p.storeBytes(of: 1, as: UInt8.self)
            withUnsafeBytes(of: u.uuid) { (p + 1).copyMemory(from: $0.baseAddress!, byteCount: 16) }
        }
    }

    package static func decodePointID(_ p: UnsafeRawPointer) -> PointID? {
        switch p.load(as: UInt8.self) {
        case 0: return .number(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 1, as: UInt64.self)))
        case 1:
            var u: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &u) { $0.copyMemory(from: UnsafeRawBufferPointer(start: p + 1, count: 16)) }
            return .uuid(UUID(uuid: u))
        default: return nil
        }
    }
}

// MARK: - Writing

extension SegmentFile {
    /// One shard to write: its tenant, and access to its matrix and the point id of each row (under
    /// whatever lock keeps them still while the shard is written; a shard gone meanwhile calls no body).
    package struct ShardSource {
        package let tenant: String?
        package let read: (_ body: (VectorMatrix, (Int64) -> PointID?) throws -> Void) throws -> Void

        package init(
            tenant: String?,
            read: @escaping (_ body: (VectorMatrix, (Int64) -> PointID?) throws -> Void) throws -> Void
        ) {
            self.tenant = tenant
            self.read = read
        }
    }

    /// Writes a segment to `url` (through `url.tmp`, fsynced and renamed, the directory fsynced).
    /// Each shard is an exact image of its matrix inside its `read`; shards may differ in time.
    package static func write(
        to url: URL,
        collectionID: Int64,
        token: String,
        dimension: Int,
        normalizes: Bool,
        shards sources: [ShardSource]
    ) throws {
        let temporary = url.appendingPathExtension("tmp")
        let fd = open(temporary.path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Rejected("cannot create \(temporary.lastPathComponent): errno \(errno)") }
        var closed = false
        defer {
            if !closed { close(fd) }
        }
        func put(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
            var done = 0
            while done < bytes.count {
                let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { throw Rejected("write failed: errno \(errno)") }
                done += n
            }
        }
        let stride = VectorMatrix.quantizedStride(dimension: dimension)
        var offset = 0
        func reserve(_ bytes: Int) -> Int {
            let at = offset
            offset = aligned(at + bytes)
            return at
        }
        var shards: [Shard] = []
        for source in sources {
            try source.read { matrix, pointID in
                try matrix.withSections { s in
                    // Room for a quarter more rows (at least 1,024) before an append must move the rows.
                    let capacity = max(s.count + s.count / 4, 1024)
                    func section(_ bytes: UnsafeRawBufferPointer, room: Int) throws -> Section {
                        let at = reserve(room)
                        if bytes.count > 0 { try put(bytes, at: at) }
                        return Section(offset: at, length: bytes.count, checksums: checksums(bytes))
                    }
                    let ids = try section(s.ids, room: s.count * 8)
                    let floats = try section(s.floats, room: capacity * dimension * 4)
                    let codes = try section(s.codes, room: capacity * stride)
                    let scales = try section(s.scales, room: capacity * 4)
                    let errors = try section(s.errors, room: capacity * 4)
                    let norms = try section(s.norms, room: capacity * 4)
                    let records = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, s.count * pointIDBytes), alignment: 8)
                    defer { records.deallocate() }
                    let rowIDs = s.ids.bindMemory(to: Int64.self)
                    for (row, rowid) in rowIDs.enumerated() {
                        guard let pid = pointID(rowid) else { throw Rejected("row \(rowid) has no point id") }
                        encodePointID(pid, into: records.baseAddress! + row * pointIDBytes)
                    }
                    let pointIDs = try section(UnsafeRawBufferPointer(rebasing: records[0..<(s.count * pointIDBytes)]), room: s.count * pointIDBytes)
                    shards.append(
                        Shard(
                            tenant: source.tenant,
                            count: s.count,
                            capacity: capacity,
                            ids: ids,
                            floats: floats,
                            codes: codes,
                            scales: scales,
                            errors: errors,
                            norms: norms,
                            pointIDs: pointIDs,
                            maxError: s.maxError.bitPattern,
                            maxNorm: s.maxNorm.bitPattern
                        )
                    )
                }
            }
        }
        let header = Header(
            version: version,
            collectionID: collectionID,
            token: token,
            dimension: dimension,
            normalizes: normalizes,
            stride: stride,
            shards: shards
        )
        let json = try JSONEncoder().encode(header)
        let headerOffset = offset
        try json.withUnsafeBytes { try put($0, at: headerOffset) }
        var trailer = [UInt8](repeating: 0, count: trailerBytes)
        trailer.withUnsafeMutableBytes { t in
            t.storeBytes(of: UInt64(headerOffset).littleEndian, toByteOffset: 0, as: UInt64.self)
            t.storeBytes(of: UInt32(json.count).littleEndian, toByteOffset: 8, as: UInt32.self)
            let sum = json.withUnsafeBytes { Checksum.of($0) }
            t.storeBytes(of: sum.littleEndian, toByteOffset: 12, as: UInt32.self)
            for (i, b) in magic.enumerated() { t[16 + i] = b }
        }
        try trailer.withUnsafeBytes { try put($0, at: headerOffset + json.count) }
        guard fsync(fd) == 0 else { throw Rejected("fsync failed: errno \(errno)") }
        closed = true
        guard close(fd) == 0 else { throw Rejected("close failed: errno \(errno)") }
        guard rename(temporary.path, url.path) == 0 else { throw Rejected("rename failed: errno \(errno)") }
        try fsyncDirectory(url.deletingLastPathComponent())
    }

    package static func fsyncDirectory(_ directory: URL) throws {
        let fd = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Rejected("cannot open the segment directory: errno \(errno)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Rejected("fsync of the segment directory failed: errno \(errno)") }
    }
}
