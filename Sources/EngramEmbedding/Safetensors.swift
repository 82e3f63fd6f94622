public import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A typed failure while opening or reading a `.safetensors` file. Raised at start-up, so a corrupt,
/// truncated or mismatched model file is refused with a clear message instead of producing garbage.
public enum SafetensorsError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened, stat'ed or mapped.
    case cannotOpen(path: String, reason: String)
    /// The file is shorter than its header says (or shorter than the 8-byte length prefix).
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The 8-byte header length is zero or absurdly large.
    case invalidHeaderLength(path: String, length: UInt64)
    /// The header is not a JSON object of tensor entries.
    case invalidHeader(path: String, reason: String)
    /// One tensor entry is malformed (bad shape, offsets or size).
    case invalidTensor(name: String, reason: String)
    /// A tensor uses a dtype this reader does not know.
    case unsupportedDType(name: String, dtype: String)
    /// A required tensor is absent.
    case missingTensor(name: String)
    /// A tensor has a different dtype than the caller requires.
    case dtypeMismatch(name: String, expected: String, actual: String)
    /// A tensor has a different shape than the caller requires.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): return "safetensors: cannot open \(path): \(reason)"
        case let .truncated(path, expected, actual):
            return "safetensors: \(path) is truncated: needs \(expected) bytes, has \(actual)"
        case let .invalidHeaderLength(path, length):
            return "safetensors: \(path) has an invalid header length \(length) (corrupt file?)"
        case let .invalidHeader(path, reason): return "safetensors: \(path) has an invalid JSON header: \(reason)"
        case let .invalidTensor(name, reason): return "safetensors: tensor '\(name)' is invalid: \(reason)"
        case let .unsupportedDType(name, dtype): return "safetensors: tensor '\(name)' has unsupported dtype \(dtype)"
        case let .missingTensor(name): return "safetensors: tensor '\(name)' is missing"
        case let .dtypeMismatch(name, expected, actual):
            return "safetensors: tensor '\(name)' has dtype \(actual), expected \(expected)"
        case let .shapeMismatch(name, expected, actual):
            return "safetensors: tensor '\(name)' has shape \(actual), expected \(expected)"
        }
    }
}

/// Description of one tensor in a safetensors file.
public struct SafetensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: String
    public let shape: [Int]
    /// Byte range relative to the start of the data section.
    public let dataRange: Range<Int>
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A read-only, memory-mapped `.safetensors` file (format: 8-byte little-endian header length N,
/// N bytes of JSON header `{name: {dtype, shape, data_offsets:[begin,end]}, "__metadata__": {...}}`,
/// then the raw little-endian tensor data).
///
/// Everything is validated at open: header length, JSON structure, known dtypes, non-negative shapes,
/// offsets inside the file and `end - begin == product(shape) * sizeof(dtype)`. Tensor data is read
/// through pointers into the mapping, which lives as long as this object.
public final class SafetensorsFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only (PROT_READ) and never changes after init.
    public let path: String
    public let tensors: [String: SafetensorInfo]
    public let metadata: [String: String]
    private let base: UnsafeRawPointer
    private let mappedLength: Int
    private let dataStart: Int

    /// Bytes per element of the dtypes defined by the safetensors format.
    static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8,
    ]

    /// Maps and validates the file at `url`.
    public init(url: URL) throws {
        let path = url.path
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw SafetensorsError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        let size = Int(st.st_size)
        guard size >= 8 else { throw SafetensorsError.truncated(path: path, expectedBytes: 8, actualBytes: size) }
        guard let raw = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), raw != MAP_FAILED else {
            throw SafetensorsError.cannotOpen(path: path, reason: "mmap: " + String(cString: strerror(errno)))
        }
        let base = UnsafeRawPointer(raw)
        var ok = false
        defer { if !ok { munmap(raw, size) } }

        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << (8 * UInt64(i)) }
        guard headerLength > 1, headerLength < 100_000_000 else {
            throw SafetensorsError.invalidHeaderLength(path: path, length: headerLength)
        }
        let hlen = Int(headerLength)
        guard 8 + hlen <= size else {
            throw SafetensorsError.truncated(path: path, expectedBytes: 8 + hlen, actualBytes: size)
        }
        let headerData = Data(bytes: base + 8, count: hlen)
        let (tensors, metadata) = try Self.parseHeader(headerData, path: path)
        let dataSize = size - 8 - hlen
        let needed = tensors.values.map(\.dataRange.upperBound).max() ?? 0
        guard needed <= dataSize else {
            throw SafetensorsError.truncated(path: path, expectedBytes: 8 + hlen + needed, actualBytes: size)
        }
        self.base = base
        self.mappedLength = size
        self.dataStart = 8 + hlen
        self.tensors = tensors
        self.metadata = metadata
        ok = true
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
    }

    static func parseHeader(_ data: Data, path: String) throws -> ([String: SafetensorInfo], [String: String]) {
        // The header may be padded with trailing spaces; JSONSerialization accepts that.
        guard data.first == UInt8(ascii: "{") else {
            throw SafetensorsError.invalidHeader(path: path, reason: "does not start with '{'")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw SafetensorsError.invalidHeader(path: path, reason: "not valid JSON")
        }
        guard let dict = object as? [String: Any] else {
            throw SafetensorsError.invalidHeader(path: path, reason: "top level is not an object")
        }
        var tensors: [String: SafetensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in dict {
            if name == "__metadata__" {
                if let m = value as? [String: Any] {
                    for (k, v) in m { metadata[k] = v as? String ?? "\(v)" }
                }
                continue
            }
            guard let entry = value as? [String: Any] else {
                throw SafetensorsError.invalidTensor(name: name, reason: "entry is not an object")
            }
            guard let dtype = entry["dtype"] as? String else {
                throw SafetensorsError.invalidTensor(name: name, reason: "missing dtype")
            }
            guard let elementSize = dtypeSizes[dtype] else {
                throw SafetensorsError.unsupportedDType(name: name, dtype: dtype)
            }
            guard let shapeAny = entry["shape"] as? [Any], let shape = intArray(shapeAny), shape.allSatisfy({ $0 >= 0 })
            else { throw SafetensorsError.invalidTensor(name: name, reason: "shape is not a list of non-negative integers") }
            guard let offAny = entry["data_offsets"] as? [Any], let offsets = intArray(offAny), offsets.count == 2,
                offsets[0] >= 0, offsets[1] >= offsets[0]
            else { throw SafetensorsError.invalidTensor(name: name, reason: "data_offsets is not [begin, end] with 0 <= begin <= end") }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, p < Int.max / 16 else {
                    throw SafetensorsError.invalidTensor(name: name, reason: "shape \(shape) is too large")
                }
                count = p
            }
            guard offsets[1] - offsets[0] == count * elementSize else {
                throw SafetensorsError.invalidTensor(
                    name: name,
                    reason: "data_offsets span \(offsets[1] - offsets[0]) bytes but shape \(shape) of \(dtype) needs \(count * elementSize)"
                )
            }
            tensors[name] = SafetensorInfo(name: name, dtype: dtype, shape: shape, dataRange: offsets[0]..<offsets[1])
        }
        return (tensors, metadata)
    }

    private static func intArray(_ values: [Any]) -> [Int]? {
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            if let n = v as? NSNumber {
                let d = n.doubleValue
                guard d.rounded() == d, d >= -9.0e15, d <= 9.0e15 else { return nil }
                out.append(n.intValue)
            } else if let i = v as? Int {
                out.append(i)
            } else {
                return nil
            }
        }
        return out
    }

    /// The entry for `name`, checked against an expected dtype and (optionally) shape.
    public func info(_ name: String, dtype: String = "F32", shape: [Int]? = nil) throws -> SafetensorInfo {
        guard let t = tensors[name] else { throw SafetensorsError.missingTensor(name: name) }
        guard t.dtype == dtype else { throw SafetensorsError.dtypeMismatch(name: name, expected: dtype, actual: t.dtype) }
        if let shape, shape != t.shape { throw SafetensorsError.shapeMismatch(name: name, expected: shape, actual: t.shape) }
        return t
    }

    /// Raw pointer to the first byte of the tensor's data inside the mapping.
    public func rawPointer(_ info: SafetensorInfo) -> UnsafeRawPointer {
        base + dataStart + info.dataRange.lowerBound
    }

    /// A Float32 tensor's elements (little-endian host assumed, as on x86-64 and arm64), copied into `destination`.
    public func copyFloats(_ name: String, shape: [Int], into destination: UnsafeMutablePointer<Float>) throws {
        let t = try info(name, dtype: "F32", shape: shape)
        UnsafeMutableRawPointer(destination).copyMemory(from: rawPointer(t), byteCount: t.elementCount * 4)
    }

    /// A Float32 tensor viewed in place when its data is 4-byte aligned in the mapping, else `nil`.
    public func mappedFloats(_ name: String, shape: [Int]) throws -> UnsafePointer<Float>? {
        let t = try info(name, dtype: "F32", shape: shape)
        let p = rawPointer(t)
        guard Int(bitPattern: p) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return p.assumingMemoryBound(to: Float.self)
    }
}
