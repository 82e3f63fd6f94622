import EngramClientKit
import EngramMemory
import EngramMemoryModel
import Foundation

/// One memory an import would send to the server's add path (`POST /v1/memories`), before the server's
/// secret filter, poisoning screen and dedup decide what happens to it.
package struct ImportCandidate: Sendable, Equatable {
    /// The memory text (at most `MemoryLimits.maxContentBytes` UTF-8 bytes, no control characters but layout).
    package var text: String
    package var tags: [String]
    /// `pattern`, `preference`, `decision`, `fact` or `gotcha`; nil leaves the server's default.
    package var kind: String?
    /// `personal` or `org`; nil takes the command's `--scope`.
    package var scope: String?
    package var provenance: ImportProvenance

    package init(text: String, tags: [String], kind: String? = nil, scope: String? = nil, provenance: ImportProvenance) {
        self.text = text
        self.tags = ImportText.tags(tags)
        self.kind = kind
        self.scope = scope
        self.provenance = provenance
    }
}

/// Where an imported memory came from. `repo` and `path` (with `lines`) travel to the server as the
/// memory's `repo` and code anchor; `location` is what the command shows its user for this memory.
package struct ImportProvenance: Sendable, Equatable {
    /// The format: `claude-md`, `mem0`, `mcp-memory-service`.
    package var source: String
    /// `CLAUDE.md:12-14`, `mem0 3f2a91c0`, `mcp-memory-service 9b1e04aa`: never the memory's text.
    package var location: String
    /// The repository, normalised like the server's repository matching (`github.com/acme/api`).
    package var repo: String?
    /// The file, relative to its repository root (or to the imported directory outside a repository).
    package var path: String?
    package var lines: ClosedRange<Int>?
    /// The memory's id in the source system.
    package var sourceID: String?

    package init(
        source: String,
        location: String,
        repo: String? = nil,
        path: String? = nil,
        lines: ClosedRange<Int>? = nil,
        sourceID: String? = nil
    ) {
        self.source = source
        self.location = location
        self.repo = repo
        self.path = path
        self.lines = lines
        self.sourceID = sourceID
    }
}

/// What a parser made of its input: the memories, and the entries it left out with the reason.
package struct ImportParseResult: Sendable, Equatable {
    package var candidates: [ImportCandidate] = []
    package var skipped: [ImportSkip] = []
    /// Files read (claude-md) or 1.
    package var files = 1

    /// The cleaned text of an exported record, or nil with the record listed as skipped (no text, or
    /// nothing left after cleaning).
    package mutating func body(of raw: String?, at location: String, missing: String) -> String? {
        guard let raw else {
            skipped.append(ImportSkip(location: location, reason: missing))
            return nil
        }
        let body = ImportText.clean(raw)
        guard !body.isEmpty else {
            skipped.append(ImportSkip(location: location, reason: "empty"))
            return nil
        }
        return body
    }
}

package struct ImportSkip: Sendable, Equatable {
    package var location: String
    package var reason: String
}

/// Text rules every import shares: the server's limits, applied before sending.
package enum ImportText {
    /// Removes control characters other than tab and line breaks (the server refuses them) and trims.
    package static func clean(_ text: String) -> String {
        let kept = text.unicodeScalars.filter { u in
            let v = u.value
            if v == 0x09 || v == 0x0A { return true }
            return !(v < 0x20 || (0x7F...0x9F).contains(v))
        }
        return String(String.UnicodeScalarView(kept)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Tags as the server accepts them: trimmed, without control characters, at most
    /// `MemoryLimits.maxTagLength` characters, no repeats, at most `MemoryLimits.maxTags` (the first ones win).
    package static func tags(_ raw: [String]) -> [String] {
        var out: [String] = []
        for tag in raw {
            var t = String(String.UnicodeScalarView(tag.unicodeScalars.filter { $0.value >= 0x20 && !(0x7F...0x9F).contains($0.value) }))
            t = t.trimmingCharacters(in: .whitespacesAndNewlines)
            // Counted in Unicode scalars, which is never fewer than the characters the server counts.
            if t.unicodeScalars.count > MemoryLimits.maxTagLength {
                t = String(String.UnicodeScalarView(t.unicodeScalars.prefix(MemoryLimits.maxTagLength))).trimmingCharacters(in: .whitespaces)
            }
            guard !t.isEmpty, !out.contains(t) else { continue }
            out.append(t)
            if out.count == MemoryLimits.maxTags { break }
        }
        return out
    }

    /// `prefix + body` as one or more memories of at most `maxBytes` UTF-8 bytes each: a body that does
    /// not fit is cut at line breaks (a line longer than the room left, at spaces), every piece keeping
    /// the prefix (the heading path that makes it stand alone).
    package static func fit(prefix: String, body: String, maxBytes: Int = MemoryLimits.maxContentBytes) -> [String] {
        if prefix.utf8.count + body.utf8.count <= maxBytes { return [prefix + body] }
        let lead = prefix.utf8.count * 2 < maxBytes ? prefix : ""
        let room = maxBytes - lead.utf8.count
        var pieces: [String] = []
        var current = ""
        func close() {
            let t = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !t.isEmpty { pieces.append(lead + t) }
            current = ""
        }
        for line in body.components(separatedBy: "\n") {
            let needed = (current.isEmpty ? 0 : 1) + line.utf8.count
            if current.utf8.count + needed <= room {
                current += current.isEmpty ? line : "\n" + line
                continue
            }
            close()
            if line.utf8.count <= room {
                current = line
                continue
            }
            for part in split(line, room: room) {
                current = part
                close()
            }
        }
        close()
        return pieces
    }

    /// A line longer than `room` bytes, in pieces of at most `room` bytes, cut at the last space when there is one.
    private static func split(_ line: String, room: Int) -> [String] {
        var pieces: [String] = []
        var rest = Substring(line)
        while rest.utf8.count > room {
            var end = rest.startIndex
            var bytes = 0
            for i in rest.indices {
                let n = rest[i].utf8.count
                if bytes + n > room { break }
                bytes += n
                end = rest.index(after: i)
            }
            if end == rest.startIndex { end = rest.index(after: rest.startIndex) }
            var cut = end
            if let space = rest[..<end].lastIndex(of: " "), rest.distance(from: rest.startIndex, to: space) > 0 { cut = space }
            pieces.append(String(rest[..<cut]))
            rest = rest[cut...].drop { $0 == " " }
        }
        if !rest.isEmpty { pieces.append(String(rest)) }
        return pieces
    }
}
