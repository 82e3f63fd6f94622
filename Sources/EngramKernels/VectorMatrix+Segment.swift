import CEngramKernels
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The rows of a matrix as the byte sections of a segment file: what `VectorMatrix.withSections`
/// hands a writer, and (with `capacity` rows of room) what `VectorMatrix(mapped:)` serves from.
public struct MatrixSections {
    /// Rows in use.
    public let count: Int
    /// Row ids in row order (`count` × `Int64`).
    public let ids: UnsafeRawBufferPointer
    /// The float rows (`count` × dimension × `Float`).
    public let floats: UnsafeRawBufferPointer
    /// The int8 rows (`count` × `VectorMatrix.quantizedStride(dimension:)` bytes).
    public let codes: UnsafeRawBufferPointer
    /// Per-row scale, error bound and norm bound of the int8 rows (`count` × `Float` each).
    public let scales: UnsafeRawBufferPointer
    public let errors: UnsafeRawBufferPointer
    public let norms: UnsafeRawBufferPointer
    /// The largest error and norm bounds ever stored (the scan's widest bound).
    public let maxError: Float
    public let maxNorm: Float
}

/// Rows laid out in a mapped segment file, with room for `capacity` rows in every section (the
/// file's pages past `count` are holes until written).
public struct MappedRows {
    public let count: Int
    public let capacity: Int
    /// `count` row ids.
    public let ids: UnsafeRawPointer
    /// `capacity` × dimension floats, `capacity` × stride int8 codes, `capacity` floats each.
    public let floats: UnsafeMutableRawPointer
    public let codes: UnsafeMutableRawPointer
    public let scales: UnsafeMutableRawPointer
    public let errors: UnsafeMutableRawPointer
    public let norms: UnsafeMutableRawPointer
    public let maxError: Float
    public let maxNorm: Float
    /// Keeps the mapping alive while the matrix serves from it (unmapping it on release).
    public let owner: AnyObject

    public init(
        count: Int,
        capacity: Int,
        ids: UnsafeRawPointer,
        floats: UnsafeMutableRawPointer,
        codes: UnsafeMutableRawPointer,
        scales: UnsafeMutableRawPointer,
        errors: UnsafeMutableRawPointer,
        norms: UnsafeMutableRawPointer,
        maxError: Float,
        maxNorm: Float,
        owner: AnyObject
    ) {
        self.count = count
        self.capacity = capacity
        self.ids = ids
        self.floats = floats
        self.codes = codes
        self.scales = scales
        self.errors = errors
        self.norms = norms
        self.maxError = maxError
        self.maxNorm = maxNorm
        self.owner = owner
    }
}

extension VectorMatrix {
    /// Bytes per int8 row for `dimension` components (the dimension rounded up to 64).
    public static func quantizedStride(dimension: Int) -> Int { (dimension + 63) / 64 * 64 }

    /// Calls `body` with the matrix's rows as segment sections. The buffers are valid only inside
    /// `body`, and only while no write runs (the owner's lock).
    public func withSections<R>(_ body: (MatrixSections) throws -> R) rethrows -> R {
        let n = count
        let d = dimension
        let stride = quantized.stride
        return try rowIDs.withUnsafeBytes { ids in
            func bytes<T>(_ p: UnsafeMutablePointer<T>?, _ elements: Int) -> UnsafeRawBufferPointer {
                guard let p, elements > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
                return UnsafeRawBufferPointer(start: p, count: elements * MemoryLayout<T>.stride)
            }
            return try body(
                MatrixSections(
                    count: n,
                    ids: UnsafeRawBufferPointer(rebasing: ids[0..<(n * 8)]),
                    floats: bytes(storage, n * d),
                    codes: bytes(quantized.data, n * stride),
                    scales: bytes(quantized.scales, n),
                    errors: bytes(quantized.errors, n),
                    norms: bytes(quantized.norms, n),
                    maxError: quantized.maxError,
                    maxNorm: quantized.maxNorm
                )
            )
        }
    }

    /// A matrix serving rows from a mapped segment, without copying them: writes change the mapped
    /// pages (a private mapping copies a page on its first write, the file is never written), and
    /// growing past `rows.capacity` moves the rows into memory of the matrix's own.
    ///
    /// - Throws: `KernelError.invalidVector` when the ids repeat (a corrupt segment).
    public convenience init(dimension: Int, normalizes: Bool, mapped rows: MappedRows) throws {
        precondition(rows.count <= rows.capacity, "more rows than room")
        self.init(dimension: dimension, normalizes: normalizes)
        let ids = UnsafeBufferPointer(start: rows.ids.assumingMemoryBound(to: Int64.self), count: rows.count)
        var rowIDs: [Int64] = []
        rowIDs.reserveCapacity(rows.capacity)
        rowIDs.append(contentsOf: ids)
        var rowOfID: [Int64: Int] = [:]
        rowOfID.reserveCapacity(rows.capacity)
        for (row, id) in ids.enumerated() {
            guard rowOfID.updateValue(row, forKey: id) == nil else { throw KernelError.invalidVector("row id \(id) appears twice") }
        }
        self.rowIDs = rowIDs
        self.rowOfID = rowOfID
        count = rows.count
        capacity = rows.capacity
        storage = rows.floats.bindMemory(to: Float.self, capacity: rows.capacity * dimension)
        quantized.owned = false
        quantized.capacity = rows.capacity
        quantized.data = rows.codes.bindMemory(to: Int8.self, capacity: rows.capacity * quantized.stride)
        quantized.scales = rows.scales.bindMemory(to: Float.self, capacity: rows.capacity)
        quantized.errors = rows.errors.bindMemory(to: Float.self, capacity: rows.capacity)
        quantized.norms = rows.norms.bindMemory(to: Float.self, capacity: rows.capacity)
        quantized.maxError = rows.maxError
        quantized.maxNorm = rows.maxNorm
        mapping = rows.owner
        rowsMayBeOnDisk.store(true, ordering: .relaxed)
    }

    /// Whether the rows are served from a mapped segment (no write has grown the matrix since).
    public var isMapped: Bool { mapping != nil }

    /// Whether searches ask the kernel for the float rows they rescore before reading them: true for
    /// a matrix just mapped from a segment, whose float rows may still be on disk (a search would
    /// otherwise wait for them one page fault at a time), until `markRowsResident()`.
    public var readsRowsAhead: Bool { rowsMayBeOnDisk.load(ordering: .relaxed) && mapping != nil }

    /// Records that the float rows have been read into memory (the store calls it once it has
    /// verified them), so searches stop asking for them ahead.
    public func markRowsResident() { rowsMayBeOnDisk.store(false, ordering: .relaxed) }

    /// Asks the kernel to start reading the float rows `rows` in, all at once (`MADV_WILLNEED`).
    func readAhead(rows: some Sequence<Int>) {
        for row in rows { readAhead(from: row, count: 1) }
    }

    /// Asks the kernel to start reading every float row in (before a scan of all of them).
    func readAheadAllRows() { readAhead(from: 0, count: count) }

    private func readAhead(from row: Int, count rows: Int) {
        guard let storage, rows > 0 else { return }
        let page = Int(getpagesize())
        let start = Int(bitPattern: storage + row * dimension)
        let aligned = start / page * page
        let end = start + rows * dimension * MemoryLayout<Float>.stride
        _ = madvise(UnsafeMutableRawPointer(bitPattern: aligned), end - aligned, MADV_WILLNEED)
    }
}
