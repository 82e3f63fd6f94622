/// Compact JSON text of a `JSONValue`, written straight into bytes.
///
/// Why not `JSONEncoder`: every response body is a `JSONValue` tree, and encoding it through
/// `Codable` (a container per value, type erasure per level) showed up at ~5 % of a search
/// request's CPU in `perf`. The output is what `JSONEncoder` with `[.sortedKeys,
/// .withoutEscapingSlashes]` produces for the same tree — keys sorted, no whitespace, non-ASCII
/// as UTF-8, control characters escaped — except that non-finite doubles (which JSONEncoder
/// refuses) are written as `null`.
extension JSONValue {
    /// The compact UTF-8 JSON text, object keys in ascending order.
    public func jsonBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        JSONWriter.write(self, into: &out)
        return out
    }
}

enum JSONWriter {
    static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out += "null".utf8
        case let .bool(b): out += (b ? "true" : "false").utf8
        case let .int(i): out += String(i).utf8
        case let .double(d): writeDouble(d, into: &out)
        case let .string(s): writeString(s, into: &out)
        case let .array(a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(v, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(o):
            out.append(UInt8(ascii: "{"))
            for (i, key) in o.keys.sorted().enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(o[key]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Shortest round-trip digits (Swift's `description`), integral values without `.0`, as JSONEncoder does.
    static func writeDouble(_ d: Double, into out: inout [UInt8]) {
        guard d.isFinite else {
            out += "null".utf8
            return
        }
        var text = d.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        out += text.utf8
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += "\\\"".utf8
            case UInt8(ascii: "\\"): out += "\\\\".utf8
            case 0x0A: out += "\\n".utf8
            case 0x0D: out += "\\r".utf8
            case 0x09: out += "\\t".utf8
            case 0x08: out += "\\b".utf8
            case 0x0C: out += "\\f".utf8
            case 0..<0x20:
                out += "\\u00".utf8
                out.append(Hex.digits[Int(b >> 4)])
                out.append(Hex.digits[Int(b & 0x0F)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
