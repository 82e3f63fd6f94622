import EngramCore
import EngramKernels
import EngramStoreModel
package import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SegmentFile {
    /// A mapped segment file; unmapped when the last matrix serving from it (and the last verification
    /// reading it) lets go.
    ///
    /// The file is mapped twice, over the same page-cache pages: privately and writable for the
    /// matrices (a write copies just the page it touches; the file never changes), and shared and
    /// read-only for verification, which so always reads the bytes as written even after matrices have
    /// changed rows. Nothing is read in at mapping time: `prefetch` asks for the ranges the first
    /// search needs, and the other pages come in when first read.
    package final class Mapping: @unchecked Sendable {  // immutable after init; the pages are written only by matrices under the store's lock
        /// The private, writable mapping the matrices serve from.
        package let base: UnsafeMutableRawPointer
        /// The shared, read-only mapping: the file's bytes.
        package let pristine: UnsafeRawPointer
        package let length: Int

        package init(url: URL) throws {
            let fd = open(url.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Rejected("cannot open: errno \(errno)") }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw Rejected("cannot stat: errno \(errno)") }
            let length = Int(info.st_size)
            guard length >= SegmentFile.trailerBytes else { throw Rejected("too short (\(length) bytes)") }
            guard let base = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
                throw Rejected("cannot map: errno \(errno)")
            }
            guard let pristine = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), pristine != MAP_FAILED else {
                munmap(base, length)
                throw Rejected("cannot map: errno \(errno)")
            }
            self.base = base
            self.pristine = UnsafeRawPointer(pristine)
            self.length = length
        }

        /// Maps `count` bytes at `offset` of the private mapping in (readable, not copied), so the
        /// first search takes no page faults on them; a no-op on kernels without `MADV_POPULATE_READ`.
        package func populate(offset: Int, count: Int) {
            #if os(Linux)
            advise(base, offset: offset, count: count, SegmentFile.populateRead)
            #endif
        }

        /// Checksums `count` bytes at `offset` as the file holds them, then drops them from the
        /// read-only mapping (the pages stay in the page cache; resident memory counts them once, in
        /// the private mapping, where searches touch them).
        package func checksum(offset: Int, count: Int) -> UInt32 {
            let sum = Checksum.of(pristine + offset, count: count)
            advise(pristine, offset: offset, count: count, MADV_DONTNEED)
            return sum
        }

        deinit {
            munmap(base, length)
            munmap(UnsafeMutableRawPointer(mutating: pristine), length)
        }

        /// Asks the kernel to start reading `count` bytes at `offset` in (both mappings share the
        /// pages), so many ranges are read at once instead of one page fault at a time.
        package func prefetch(offset: Int, count: Int) {
            advise(pristine, offset: offset, count: count, MADV_WILLNEED)
        }

        /// `madvise(advice)` over the pages holding `count` bytes at `offset` of `mapping`.
        private func advise(_ mapping: UnsafeRawPointer, offset: Int, count: Int, _ advice: Int32) {
            guard count > 0 else { return }
            let page = Int(getpagesize())
            let start = offset / page * page
            _ = madvise(UnsafeMutableRawPointer(mutating: mapping + start), offset + count - start, advice)
        }
    }

    /// `madvise` advice (Linux 5.14): fault the range's pages in readable, without copying them in a
    /// private mapping. Not in every libc's headers, hence the number.
    package static let populateRead: Int32 = 22

    /// Which sections a verification covers.
    package enum Part: Sendable {
        /// What a search reads from every row: row ids, int8 rows, scales, bounds and point ids.
        /// Verified before the segment is used.
        case serving
        /// The float rows, read only to rescore a search's candidates (about four fifths of the
        /// file). Verified after the store has opened (`EmbeddedStore+Segments.swift`).
        case floats
    }

    /// A mapped segment whose trailer, header and section bounds check out.
    package struct Opened: Sendable {
        package let header: Header
        package let mapping: Mapping

        /// `(offset, length, checksum)` of every chunk of `part`'s sections.
        package func chunks(_ part: Part) -> [(Int, Int, UInt32)] {
            var chunks: [(Int, Int, UInt32)] = []
            for shard in header.shards {
                let sections =
                    part == .floats
                    ? [shard.floats] : [shard.ids, shard.codes, shard.scales, shard.errors, shard.norms, shard.pointIDs]
                for section in sections {
                    for (i, sum) in section.checksums.enumerated() {
                        let start = section.offset + i * chunkBytes
                        chunks.append((start, min(chunkBytes, section.offset + section.length - start), sum))
                    }
                }
            }
            return chunks
        }

        /// Checksums `part`'s sections as the file holds them: on every core (`concurrently`), or on
        /// the calling thread alone. False at the first mismatch.
        ///
        /// The serving sections, which every search reads, are also mapped in (`Mapping.populate`).
        /// The float rows are left in the page cache, mapped only where a search touches them: they
        /// stay one copy, the file's, which the kernel may evict under memory pressure.
        package func verify(_ part: Part, concurrently: Bool) -> Bool {
            let chunks = chunks(part)
            let mapping = mapping
            let populates = part == .serving
            guard concurrently else {
                // One chunk read ahead of the one being checked, so a search's own reads still get the disk.
                for (i, (start, count, sum)) in chunks.enumerated() {
                    if i + 1 < chunks.count { mapping.prefetch(offset: chunks[i + 1].0, count: chunks[i + 1].1) }
                    guard mapping.checksum(offset: start, count: count) == sum else { return false }
                    if populates { mapping.populate(offset: start, count: count) }
                }
                return true
            }
            for (start, count, _) in chunks { mapping.prefetch(offset: start, count: count) }
            let bad = Mutex<Bool>(false)
            DispatchQueue.concurrentPerform(iterations: chunks.count) { i in
                let (start, count, sum) = chunks[i]
                if mapping.checksum(offset: start, count: count) != sum {
                    bad.withLock { $0 = true }
                } else if populates {
                    mapping.populate(offset: start, count: count)
                }
            }
            return !bad.withLock { $0 }
        }
    }

    /// Maps the segment at `url` and checks its trailer, header, every section's bounds, and the
    /// checksums of the sections a search reads from every row (`Part.serving`); the float rows are
    /// left to `Opened.verify(.floats, ...)`.
    package static func mapped(_ url: URL) throws -> Opened {
        let mapping = try Mapping(url: url)
        let length = mapping.length
        let trailer = mapping.pristine + length - trailerBytes
        guard Array(UnsafeRawBufferPointer(start: trailer + 16, count: 8)) == magic else { throw Rejected("no segment trailer") }
        let headerOffset = Int(UInt64(littleEndian: trailer.loadUnaligned(as: UInt64.self)))
        let headerLength = Int(UInt32(littleEndian: trailer.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        let headerSum = UInt32(littleEndian: trailer.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        guard headerOffset >= 0, headerLength > 0, headerOffset + headerLength == length - trailerBytes else {
            throw Rejected("header out of bounds")
        }
        let headerBytes = UnsafeRawBufferPointer(start: mapping.pristine + headerOffset, count: headerLength)
        guard Checksum.of(headerBytes) == headerSum else { throw Rejected("header checksum") }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: Data(headerBytes)) } catch { throw Rejected("unreadable header") }
        guard header.version == version else { throw Rejected("version \(header.version), expected \(version)") }
        guard header.dimension > 0, header.stride == VectorMatrix.quantizedStride(dimension: header.dimension) else {
            throw Rejected("bad dimension")
        }
        // Every section's bounds (a chunk is checksummed only inside the file).
        for shard in header.shards {
            guard shard.count >= 0, shard.capacity >= shard.count else { throw Rejected("bad shard size") }
            let expected: [(Section, Int, Int)] = [
                (shard.ids, shard.count * 8, shard.count * 8),
                (shard.floats, shard.count * header.dimension * 4, shard.capacity * header.dimension * 4),
                (shard.codes, shard.count * header.stride, shard.capacity * header.stride),
                (shard.scales, shard.count * 4, shard.capacity * 4),
                (shard.errors, shard.count * 4, shard.capacity * 4),
                (shard.norms, shard.count * 4, shard.capacity * 4),
                (shard.pointIDs, shard.count * pointIDBytes, shard.count * pointIDBytes),
            ]
            for (section, used, room) in expected {
                guard section.length == used, section.offset % alignment == 0, section.offset >= 0,
                    section.offset + room <= headerOffset,
                    section.checksums.count == (used + chunkBytes - 1) / chunkBytes
                else { throw Rejected("section out of bounds") }
            }
        }
        let opened = Opened(header: header, mapping: mapping)
        guard opened.verify(.serving, concurrently: true) else { throw Rejected("section checksum") }
        return opened
    }
}
