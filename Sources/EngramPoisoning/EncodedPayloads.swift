import EngramHarmfulDirectives
import EngramPoisoningCore
import EngramScreening

/// Encoded payloads: text the reader cannot review because it is encoded, and that the memory
/// tells the assistant to decode and then run or follow (policy rule 1 → block).
///
/// Candidates are decoded where practical — base64 (standard and URL-safe, and UTF-16LE as
/// PowerShell's `-EncodedCommand` uses), base32, hex runs, `\xHH`/`\uHHHH`/octal escapes,
/// percent-encoding, char-code lists (`String.fromCharCode(…)`, `chr(…)`, `[char]…`), rot13 and
/// reversed text (only when the text names the transform) — and the decoded text is screened again.
///
/// - `encoded-command` (block): a decode step is wired to execution or obedience (`base64 -d | sh`,
///   `os.system(b64decode(…))`, `eval(atob(…))`, `powershell -enc`, "decode and follow") and the
///   payload is harmful or cannot be decoded. When the payload decodes to something harmless the
///   memory still asks to keep an opaque command → flag (policy: "opaque encoded command … is
///   suspicious").
/// - `encoded-payload` (flag): an encoded string with no such instruction whose decoded text
///   triggers a rule. Encoded data that the memory describes as data (fixtures, wire formats,
///   placeholders, "is just 'hello world'") decodes to nothing harmful and is left alone.
enum EncodedPayloads {
    static let execCues = needles([
        "| sh", "|sh", "| bash", "|bash", "| zsh", "| python", "| iex", "|iex", "| node", "| perl", "| pwsh",
        "invoke-expression", "iex(", "iex (", "eval(", "eval \"", "eval $", "exec(", "os.system", "subprocess",
        "system(", "sh -c", "bash -c", "$(", "-enc ", "-encodedcommand", "-e jab", "function(atob", "new function",
        "decode and follow", "decode and run", "decode and execute", "decode and apply", "decode and obey",
        "decode it before", "decode it and", "decode this and", "decode the following and", "decoded text",
        "decoded instructions", "decoded rules", "the decoded", "follow the decoded", "run the decoded",
        "execute the decoded", "authoritative", "encoded to save", "stored encoded", "are encoded", "is encoded",
        "decode before", "decode first", "and follow it", "and run it", "and execute it", "then run", "then follow",
        "then execute", "| source", "source <(", ". <(", "start-process", "runtime.exec", "child_process",
        "instructions below", "rules below", "policy string", "decode and do", "decode it, then",
    ])
    static let decodeCues = needles([
        "base64 -d", "base64 --decode", "base64 -D", "base64 -di", "b64decode", "atob(", "frombase64string",
        "from_base64", "base64.decode", "decode(", "-enc", "-encodedcommand", "xxd -r", "unhex", "bytes.fromhex",
        "codecs.decode", "decode ", "decoded", "decodes", "rot13", "rot-13", "unescape", "urldecode", "unquote",
        "[::-1]", "fromcharcode", "chr(", "[char]", "base32 -d", "base32 --decode", "b32decode", "printf '\\x",
        "printf \"\\x", "echo -e", "echo -ne", "binascii", "hex2bin", "pack(", "decodeuri",
    ])

    static func scan(_ t: ScreenText, _ bytes: [UInt8], _ out: inout Hits, depth: Int) {
        if depth >= 2 { return }
        var payloads: [(Range<Int>, [UInt8])] = []  // original byte span, decoded bytes
        base64Runs(bytes, &payloads)
        escapeRuns(bytes, &payloads)
        charCodes(t, bytes, &payloads)
        let b = t.b
        // Transforms named by the text: rot13 and reversal apply to the whole text.
        if t.any(rot13Cues, in: t.whole) {
            payloads.append((0..<bytes.count, bytes.map(TokenTransform.rot13)))
        }
        if t.any(revCues, in: t.whole) {
            payloads.append((0..<bytes.count, reversedScalars(bytes)))
        }
        let opaqueExec = t.any(base64DShCues, in: t.whole)
        var anyExecHit = false
        for (span, decoded) in payloads {
            let s = t.sentence(at: span.lowerBound + 1)
            let ctx = (max(0, s.lowerBound - 1))..<min(b.count, s.upperBound + 1)
            let exec = t.any(execCues, in: ctx) || t.any(execCues, in: t.whole) && t.any(decodeCues, in: t.whole)
            let hits = PoisonRules.analyse(decoded, depth: depth + 1)
            let lo = span.lowerBound + 1
            let hi = span.upperBound + 1
            if !hits.isEmpty {
                let v: PoisonVerdict = exec ? .block : .flag
                out.add(exec ? "encoded-command" : "encoded-payload", .concealment, v, lo, hi)
                for h in hits { out.add(h.id, h.category, exec ? .block : h.verdict, lo, hi) }
                if exec { anyExecHit = true }
            } else if exec && t.any(decodeCues, in: t.whole) && span.count < bytes.count {
                // An opaque command kept for execution whose payload is harmless: review it.
                out.add("encoded-command", .concealment, .flag, lo, hi)
                anyExecHit = true
            }
        }
        if opaqueExec && !anyExecHit {
            // Told to decode and run, but nothing decodable was found: cannot be reviewed.
            if let p = t.first(base64Cues, in: t.whole) {
                out.add("encoded-command", .concealment, .block, p.0, p.0 + p.1)
            }
        }
    }

    // MARK: base64 / base32 / hex runs

    /// The value of a hex digit (checked with `isHexDigit` first).
    @inline(__always) static func hexDigit(_ c: UInt8) -> Int { Int(EncodedRuns.hexValue(c)) }

    static func base64Runs(_ bytes: [UInt8], _ out: inout [(Range<Int>, [UInt8])]) {
        var i = 0
        let n = bytes.count
        while i < n {
            if !EncodedRuns.runChars.contains(bytes[i]) {
                i += 1
                continue
            }
            var e = i
            var upper = 0
            var lower = 0
            var digit = 0
            while e < n && (EncodedRuns.runChars.contains(bytes[e]) || bytes[e] == 0x3D) {
                let c = bytes[e]
                if c >= 0x41 && c <= 0x5A { upper += 1 } else if c >= 0x61 && c <= 0x7A { lower += 1 } else if c >= 0x30 && c <= 0x39 { digit += 1 }
                e += 1
            }
            let len = e - i
            if len >= 16 {
                let run = Array(bytes[i..<e])
                if upper > 0 && lower > 0 {
                    if let d = EngramScreening.decodeBase64(run), let p = printable(d) { out.append((i..<e, p)) }
                } else if lower == 0 && upper > 0 {
                    if let d = decodeBase32(run), let p = printable(d) { out.append((i..<e, p)) }
                }
                if upper + lower == 0 || (isHexRun(run) && len % 2 == 0) {
                    if let d = EncodedRuns.decodeHex(run[...]), let p = printable(d) { out.append((i..<e, p)) }
                }
            }
            i = e + 1
        }
    }

    static func isHexRun(_ r: [UInt8]) -> Bool {
        r.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46) }
    }

    static func decodeBase32(_ run: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var acc = 0
        var bits = 0
        for c in run {
            if c == 0x3D { break }
            var v = -1
            if c >= 0x41 && c <= 0x5A { v = Int(c) - 0x41 } else if c >= 0x32 && c <= 0x37 { v = Int(c) - 0x32 + 26 }
            if v < 0 { return nil }
            acc = (acc << 5) | v
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> bits) & 0xFF))
            }
            acc &= 0xFFFF
        }
        return out
    }

    /// The decoded bytes if they read as text (UTF-16LE is narrowed), else nil.
    static func printable(_ d: [UInt8]) -> [UInt8]? {
        var d = d
        if d.count >= 8 {
            var zeros = 0
            var k = 1
            while k < d.count {
                if d[k] == 0 { zeros += 1 }
                k += 2
            }
            if zeros * 2 >= d.count / 2 - 1 { d = d.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) }
        }
        if d.count < 6 { return nil }
        var ok = 0
        var letters = 0
        var spaces = 0
        for c in d {
            if (c >= 0x20 && c <= 0x7E) || c == 0x0A || c == 0x09 || c == 0x0D { ok += 1 }
            if (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) { letters += 1 }
            if c == 0x20 || c == 0x2F || c == 0x7C || c == 0x2E { spaces += 1 }
        }
        if ok * 100 < d.count * 95 || letters * 2 < d.count / 2 || spaces == 0 { return nil }
        return d
    }

    // MARK: escapes and char codes

    /// `\xHH`, `\uHHHH`, `\NNN` (octal) and `%HH` runs with at least four escapes.
    static func escapeRuns(_ bytes: [UInt8], _ out: inout [(Range<Int>, [UInt8])]) {
        let n = bytes.count
        var i = 0
        while i < n {
            let c = bytes[i]
            if c != 0x5C && c != 0x25 {
                i += 1
                continue
            }
            var e = i
            var dec: [UInt8] = []
            var escapes = 0
            while e < n {
                if bytes[e] == 0x5C && e + 3 < n && (bytes[e + 1] == 0x78 || bytes[e + 1] == 0x58) && isHexDigit(bytes[e + 2])
                    && isHexDigit(bytes[e + 3])
                {
                    dec.append(UInt8(hexDigit(bytes[e + 2]) * 16 + hexDigit(bytes[e + 3])))
                    e += 4
                    escapes += 1
                } else if bytes[e] == 0x5C && e + 5 < n && bytes[e + 1] == 0x75 && (2...5).allSatisfy({ isHexDigit(bytes[e + $0]) }) {
                    let v = (2...5).reduce(0) { $0 * 16 + hexDigit(bytes[e + $1]) }
                    if v < 0x80 { dec.append(UInt8(v)) } else { dec.append(0x3F) }
                    e += 6
                    escapes += 1
                } else if bytes[e] == 0x5C && e + 3 < n && (1...3).allSatisfy({ bytes[e + $0] >= 0x30 && bytes[e + $0] <= 0x37 }) {
                    let v = (1...3).reduce(0) { $0 * 8 + Int(bytes[e + $1] - 0x30) }
                    dec.append(UInt8(v & 0xFF))
                    e += 4
                    escapes += 1
                } else if bytes[e] == 0x25 && e + 2 < n && isHexDigit(bytes[e + 1]) && isHexDigit(bytes[e + 2]) {
                    dec.append(UInt8(hexDigit(bytes[e + 1]) * 16 + hexDigit(bytes[e + 2])))
                    e += 3
                    escapes += 1
                } else if escapes > 0 && e < n && bytes[e] != 0x5C && bytes[e] != 0x25 && bytes[e] != 0x27 && bytes[e] != 0x22 && bytes[e] != 0x60
                    && bytes[e] != 0x20
                {
                    dec.append(bytes[e])
                    e += 1  // literal characters between escapes (percent-encoding)
                } else {
                    break
                }
            }
            if escapes >= 4, let p = printable(dec) { out.append((i..<e, p)) }
            i = max(e, i + 1)
        }
    }

    /// `String.fromCharCode(99, 117, …)`, `chr(99)+chr(117)…`, `[char]99+[char]117…`.
    static func charCodes(_ t: ScreenText, _ bytes: [UInt8], _ out: inout [(Range<Int>, [UInt8])]) {
        for cue in fromcharcodeCues {
            guard let p = t.find(cue) else { continue }
            var dec: [UInt8] = []
            var i = p + cue.count
            var cur = -1
            var last = i
            var gaps = 0
            while i < t.b.count && gaps < 12 {
                let c = t.b[i]
                if c >= 0x30 && c <= 0x39 {
                    cur = (cur < 0 ? 0 : cur) * 10 + Int(c - 0x30)
                    gaps = 0
                } else {
                    if cur >= 0 {
                        if cur < 256 { dec.append(UInt8(cur)) }
                        cur = -1
                        last = i
                    }
                    gaps += 1
                }
                i += 1
            }
            if dec.count >= 4, let pr = printable(dec) { out.append(((p - 1)..<max(p, last - 1), pr)) }
        }
    }

    static func reversedScalars(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.count
        while i > 0 {
            var j = i - 1
            while j > 0 && bytes[j] & 0xC0 == 0x80 { j -= 1 }
            out.append(contentsOf: bytes[j..<i])
            i = j
        }
        return out
    }
}

// Needle tables used inside the rules above, built once.
private let rot13Cues = needles(["rot13", "rot-13", "rot 13", "caesar"])
private let revCues = needles(["rev |", "| rev", "|rev", "reverse", "reversed", "backwards", "[::-1]", "strrev", "string.reverse"])
private let base64DShCues = needles([
    "base64 -d | sh", "base64 -d | bash", "base64 --decode | sh", "base64 --decode | bash", "base64 -d|sh", "base64 -d|bash", "-encodedcommand",
    " -enc ", "xxd -r -p | sh", "xxd -r -p | bash",
])
private let base64Cues = needles(["base64", "-encodedcommand", " -enc ", "xxd -r"])
private let fromcharcodeCues = needles(["fromcharcode(", "chr(", "[char]", "bytes([", "new byte[]", "array.from(["])
