import CBLAS
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Contiguous row-major Float32 storage of vectors with a stable row ↔ id mapping,
/// and exact top-k similarity search over it through CBLAS.
///
/// - Rows are L2-normalised on write when `normalizes` is true (cosine distance),
///   so cosine similarity is a plain dot product.
/// - `upsert` appends or overwrites in place; `remove` swaps the last row into the
///   hole (O(1)); ids stay valid, row positions do not.
/// - Storage grows geometrically (amortised O(1) per insert, never a copy per insert)
///   and sits on 2 MiB-aligned memory advised for transparent huge pages, which
///   measurably speeds up full scans, which are bound by memory bandwidth.
///
/// Not synchronised: concurrent reads are safe, but writes must be serialised
/// against all other access by the owner (EngramStore holds a readers-writer lock).
public final class VectorMatrix: @unchecked Sendable {
    /// Number of components per vector.
    public let dimension: Int
    /// Whether rows and queries are L2-normalised (cosine similarity).
    public let normalizes: Bool
    /// Number of rows.
    public internal(set) var count: Int = 0

    var capacity: Int = 0
    var storage: UnsafeMutablePointer<Float>?
    private var allocationBytes: Int = 0
    var rowIDs: [Int64] = []
    var rowOfID: [Int64: Int] = [:]
    /// The segment mapping the rows live in when the matrix was opened from one
    /// (`VectorMatrix+Segment.swift`); nil once they live in memory this matrix allocated.
    var mapping: AnyObject?
    /// Set while the mapped float rows may not have been read in yet (`readsRowsAhead`).
    let rowsMayBeOnDisk = Atomic<Bool>(false)
    /// The int8 copy of the rows scanned by large searches (`VectorMatrix+Quantized.swift`).
    var quantized: QuantizedRows

    /// Rows are scored in blocks of this many, keeping the score buffer in cache
    /// while the top-k heap consumes it.
    static let blockRows = 16_384
    static let hugePage = 2 << 20
    /// `MADV_HUGEPAGE` (Linux), which Glibc does not export to Swift.
    static let madviseHugePage: Int32 = 14

    /// Creates an empty matrix.
    /// - Parameters:
    ///   - dimension: vector length (> 0).
    ///   - normalizes: L2-normalise rows and queries (cosine). Pass `false` for dot product.
    ///   - initialCapacity: rows to reserve up front.
    public init(dimension: Int, normalizes: Bool = true, initialCapacity: Int = 0) {
        precondition(dimension > 0, "dimension must be positive")
        self.dimension = dimension
        self.normalizes = normalizes
        quantized = QuantizedRows(dimension: dimension)
        if initialCapacity > 0 { reserve(initialCapacity) }
    }

    deinit {
        if mapping == nil { storage.map { free($0) } }
        quantized.deallocate()
    }

    /// The ids in row order.
    public var ids: ArraySlice<Int64> { rowIDs[0..<count] }

    /// Whether a row with this id exists.
    public func contains(id: Int64) -> Bool { rowOfID[id] != nil }

    /// A copy of the stored (normalised) vector for `id`.
    public func vector(for id: Int64) -> [Float]? {
        guard let row = rowOfID[id], let base = storage else { return nil }
        return Array(UnsafeBufferPointer(start: base + row * dimension, count: dimension))
    }

    /// Bytes of vector data currently held (rows × dimension × 4).
    public var dataBytes: Int { count * dimension * MemoryLayout<Float>.stride }

    /// Grows capacity to at least `rows` rows.
    public func reserve(_ rows: Int) {
        guard rows > capacity else { return }
        var newCapacity = max(capacity, 1024)
        while newCapacity < rows { newCapacity *= 2 }
        let bytes = newCapacity * dimension * MemoryLayout<Float>.stride
        let alignment = bytes >= Self.hugePage ? Self.hugePage : 64
        let rounded = (bytes + alignment - 1) / alignment * alignment
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, alignment, rounded) == 0, let raw else {
            fatalError("VectorMatrix: out of memory reserving \(rounded) bytes")
        }
        #if os(Linux)
        if alignment == Self.hugePage { _ = madvise(raw, rounded, Self.madviseHugePage) }
        #endif
        let newStorage = raw.bindMemory(to: Float.self, capacity: newCapacity * dimension)
        if let old = storage {
            newStorage.update(from: old, count: count * dimension)
            if mapping == nil { free(old) }
        }
        storage = newStorage
        quantized.reserve(newCapacity, count: count)
        // Both copies now live in memory of their own: the segment may be unmapped.
        mapping = nil
        capacity = newCapacity
        allocationBytes = rounded
        rowIDs.reserveCapacity(newCapacity)
    }

    /// Validates a vector's length and values, normalising it if this matrix does.
    public func prepare(_ vector: [Float]) throws -> [Float] {
        guard vector.count == dimension else {
            throw KernelError.dimensionMismatch(expected: dimension, got: vector.count)
        }
        var sumSquares: Float = 0
        for x in vector {
            guard x.isFinite else { throw KernelError.invalidVector("contains NaN or infinity") }
            sumSquares += x * x
        }
        guard normalizes else { return vector }
        // Already unit length (to float precision): keep it bit for bit, so writing a stored
        // vector back (export/import, migration) is idempotent.
        if abs(sumSquares - 1) < 1e-6 { return vector }
        let norm = sumSquares.squareRoot()
        guard norm > 0, norm.isFinite else { return vector }
        let inv = 1 / norm
        return vector.map { $0 * inv }
    }

    /// Inserts the vector under `id`, or overwrites the row that already has it.
    public func upsert(id: Int64, vector: [Float]) throws {
        let v = try prepare(vector)
        try upsertPrepared(id: id, vector: v)
    }

    /// Like `upsert`, for a vector already passed through `prepare` (no second normalisation).
    public func upsertPrepared(id: Int64, vector v: [Float]) throws {
        guard v.count == dimension else {
            throw KernelError.dimensionMismatch(expected: dimension, got: v.count)
        }
        let row: Int
        if let existing = rowOfID[id] {
            row = existing
        } else {
            if count == capacity { reserve(count + 1) }
            row = count
            rowIDs.append(id)
            rowOfID[id] = row
            count += 1
        }
        v.withUnsafeBufferPointer { src in
            (storage! + row * dimension).update(from: src.baseAddress!, count: dimension)
            quantized.set(row: row, from: src.baseAddress!)
        }
    }

    /// Removes the row with `id` by moving the last row into its place. Returns whether it existed.
    @discardableResult
    public func remove(id: Int64) -> Bool {
        guard let row = rowOfID.removeValue(forKey: id) else { return false }
        let last = count - 1
        if row != last, let base = storage {
            (base + row * dimension).update(from: base + last * dimension, count: dimension)
            quantized.move(from: last, to: row)
            let movedID = rowIDs[last]
            rowIDs[row] = movedID
            rowOfID[movedID] = row
        }
        rowIDs.removeLast()
        count -= 1
        return true
    }

    /// Removes every row.
    public func removeAll() {
        rowIDs.removeAll(keepingCapacity: true)
        rowOfID.removeAll(keepingCapacity: true)
        quantized.removeAll()
        count = 0
    }

    // MARK: - Search

    /// Exact top-k by similarity for one query (`cblas_sgemv`, block by block, bounded heap).
    ///
    /// - Parameters:
    ///   - query: a vector of `dimension` components (normalised here when the matrix normalises).
    ///   - k: how many results at most (≥ 1); fewer when the matrix holds fewer rows.
    ///   - accept: optional predicate on ids; rejected rows never enter the result.
    /// - Returns: best first; equal scores by ascending id.
    public func search(_ query: [Float], k: Int, accept: ((Int64) -> Bool)? = nil) throws -> [ScoredID] {
        guard k >= 1 else { throw KernelError.invalidK(k) }
        let q = try prepare(query)
        var top = TopK(k: k)
        guard count > 0, let base = storage else { return [] }
        if usesQuantizedScan {
            return quantizedSearch([q], k: k, accept: accept)[0]
        }
        if readsRowsAhead { readAheadAllRows() }
        // Split a large scan across cores only when no other scan is running: under
        // concurrent load the cores are already busy and splitting only adds overhead.
        let large = count >= Self.parallelScanThreshold
        let alone = large && Self.activeScans.add(1, ordering: .relaxed).newValue == 1
        defer { if large { Self.activeScans.subtract(1, ordering: .relaxed) } }
        if accept == nil, Self.scanThreads > 1, alone {
            return parallelSearch(q, k: k, base: base)
        }
        scanBlocks(q, base: base) { scores, rows, start in
            collect(scores, rows: rows, offset: start, into: &top, accept: accept)
        }
        return top.sorted()
    }

    /// Large scans in progress (process-wide), to split only when the cores are otherwise idle.
    static let activeScans = Atomic<Int>(0)

    /// Rows at or above which one query's scan is split across `scanThreads` threads.
    public nonisolated(unsafe) static var parallelScanThreshold = 32_768
    /// Threads one large scan may use (the machine's cores, at most 4). Set 1 to disable splitting.
    public nonisolated(unsafe) static var scanThreads = min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// Splits the rows into contiguous parts scored on separate threads (each with its own
    /// `cblas_sgemv` blocks and heap), then merges the heaps. Same results as the serial scan.
    private func parallelSearch(_ q: [Float], k: Int, base: UnsafeMutablePointer<Float>) -> [ScoredID] {
        let parts = Self.scanThreads
        let n = count
        let d = dimension
        let block = Self.blockRows
        let per = (n + parts - 1) / parts
        let results = UnsafeMutableBufferPointer<[ScoredID]>.allocate(capacity: parts)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        /// The raw pointers the parts share; each part writes only its own `results` slot.
        struct Shared: @unchecked Sendable {
            let base: UnsafeMutablePointer<Float>
            let query: UnsafePointer<Float>
            let results: UnsafeMutableBufferPointer<[ScoredID]>
        }
        q.withUnsafeBufferPointer { qp in
            let shared = Shared(base: base, query: qp.baseAddress!, results: results)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let lo = part * per
                let hi = min(n, lo + per)
                guard lo < hi else { return }
                var top = TopK(k: k)
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: min(block, hi - lo))
                defer { scratch.deallocate() }
                var start = lo
                while start < hi {
                    let rows = min(block, hi - start)
                    cblas_sgemv(
                        CblasRowMajor,
                        CblasNoTrans,
                        Int32(rows),
                        Int32(d),
                        1,
                        shared.base + start * d,
                        Int32(d),
                        shared.query,
                        1,
                        0,
                        scratch,
                        1
                    )
                    self.collect(scratch, rows: rows, offset: start, into: &top, accept: nil)
                    start += rows
                }
                shared.results[part] = top.sorted()
            }
        }
        var merged = TopK(k: k)
        for part in results { for hit in part { merged.insert(hit) } }
        return merged.sorted()
    }

    /// Exact top-k for a batch of queries, reading the rows once for several queries: through
    /// the int8 rows for large matrices (like `search`), else one `cblas_sgemm` per block of rows.
    public func search(batch queries: [[Float]], k: Int) throws -> [[ScoredID]] {
        guard k >= 1 else { throw KernelError.invalidK(k) }
        guard !queries.isEmpty else { return [] }
        let prepared = try queries.map { try prepare($0) }
        if usesQuantizedScan {
            return quantizedSearch(prepared, k: k, accept: nil)
        }
        let b = queries.count
        let d = dimension
        var packed = [Float]()
        packed.reserveCapacity(b * d)
        for q in prepared { packed += q }
        var tops = (0..<b).map { _ in TopK(k: k) }
        guard count > 0, let base = storage else { return tops.map { $0.sorted() } }
        if readsRowsAhead { readAheadAllRows() }
        let n = count
        let block = max(1024, Self.blockRows / max(1, b / 4))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: b * min(block, n))
        defer { scratch.deallocate() }
        packed.withUnsafeBufferPointer { qp in
            var start = 0
            while start < n {
                let rows = min(block, n - start)
                // C[b × rows] = Q[b × d] · M[start..<start+rows]ᵀ
                cblas_sgemm(
                    CblasRowMajor,
                    CblasNoTrans,
                    CblasTrans,
                    Int32(b),
                    Int32(rows),
                    Int32(d),
                    1,
                    qp.baseAddress,
                    Int32(d),
                    base + start * d,
                    Int32(d),
                    0,
                    scratch,
                    Int32(rows)
                )
                for qi in 0..<b {
                    collect(scratch + qi * rows, rows: rows, offset: start, into: &tops[qi], accept: nil)
                }
                start += rows
            }
        }
        return tops.map { $0.sorted() }
    }

    /// The similarities of the rows with the given ids (ids without a row are skipped), in
    /// the order given: for scoring a known handful of rows without a scan.
    public func scores(_ query: [Float], ids: [Int64]) throws -> [ScoredID] {
        let q = try prepare(query)
        guard let base = storage else { return [] }
        return q.withUnsafeBufferPointer { qp in
            ids.compactMap { id in
                rowOfID[id].map { ScoredID(id: id, score: cblas_sdot(Int32(dimension), qp.baseAddress, 1, base + $0 * dimension, 1)) }
            }
        }
    }

    /// Scores every row against `query` (normalised here when the matrix normalises)
    /// and calls `body` with the id and score of each, in row order.
    public func forEachScore(_ query: [Float], _ body: (Int64, Float) -> Void) throws {
        let q = try prepare(query)
        guard count > 0, let base = storage else { return }
        scanBlocks(q, base: base) { scores, rows, start in
            for i in 0..<rows { body(rowIDs[start + i], scores[i]) }
        }
    }

    /// Scores the rows against the prepared query `q` in blocks of `blockRows` with one `sgemv` each
    /// (the block's scores stay in cache), calling `visit` with the scores, the block's row count and
    /// its first row.
    @inline(__always)
    private func scanBlocks(
        _ q: [Float],
        base: UnsafeMutablePointer<Float>,
        _ visit: (UnsafeMutablePointer<Float>, Int, Int) -> Void
    ) {
        let n = count
        let d = dimension
        let block = Self.blockRows
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: min(block, n))
        defer { scratch.deallocate() }
        q.withUnsafeBufferPointer { qp in
            var start = 0
            while start < n {
                let rows = min(block, n - start)
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(d), 1, base + start * d, Int32(d), qp.baseAddress, 1, 0, scratch, 1)
                visit(scratch, rows, start)
                start += rows
            }
        }
    }

    @inline(__always)
    func collect(
        _ scores: UnsafeMutablePointer<Float>,
        rows: Int,
        offset: Int,
        into top: inout TopK,
        accept: ((Int64) -> Bool)?
    ) {
        var threshold = top.threshold
        rowIDs.withUnsafeBufferPointer { ids in
            for i in 0..<rows {
                let s = scores[i]
                if s < threshold { continue }
                let id = ids[offset + i]
                if let accept, !accept(id) { continue }
                top.insert(ScoredID(id: id, score: s))
                threshold = top.threshold
            }
        }
    }

    // MARK: - Raw access (benchmarks, persistence)

    /// Calls `body` with the contiguous row-major data (count × dimension floats).
    public func withUnsafeRows<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage, count: count * dimension))
    }
}

extension VectorMatrix {
    /// Appends or overwrites a row from raw little-endian Float32 bytes that were
    /// already prepared (normalised) when written, e.g. rows loaded from disk.
    public func upsertPrepared(id: Int64, bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == dimension * MemoryLayout<Float>.stride else {
            throw KernelError.dimensionMismatch(expected: dimension, got: bytes.count / MemoryLayout<Float>.stride)
        }
        let v = [Float](unsafeUninitializedCapacity: dimension) { buf, n in
            UnsafeMutableRawBufferPointer(buf).copyMemory(from: bytes)
            n = dimension
        }
        try upsertPrepared(id: id, vector: v)
    }
}
