import Crypto
import EngramCore
import Foundation

/// Validation and normalisation of what clients send: content, tags, optional text fields and commit
/// ids, checked against `MemoryLimits`; the canonical form and hash of content (duplicates).
package enum MemoryInput {
    /// Whether `text` holds a control character (NUL, other C0 controls, DEL, C1 controls); `allowingLayout`
    /// lets tab, line feed and carriage return through (content may have lines; tags and ids may not).
    package static func hasControlCharacter(_ text: String, allowingLayout: Bool) -> Bool {
        text.unicodeScalars.contains { u in
            let v = u.value
            if allowingLayout, v == 0x09 || v == 0x0A || v == 0x0D { return false }
            return v < 0x20 || (0x7F...0x9F).contains(v)
        }
    }

    package static func validate(content: String) throws -> String {
        let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw MemoryError.invalid("content must not be empty") }
        guard !hasControlCharacter(trimmed, allowingLayout: true) else {
            throw MemoryError.invalid("content must not contain control characters (NUL and the like)")
        }
        guard trimmed.utf8.count <= MemoryLimits.maxContentBytes else {
            throw MemoryError.invalid("content is \(trimmed.utf8.count) bytes; the limit is \(MemoryLimits.maxContentBytes)")
        }
        return trimmed
    }

    package static func validate(tags: [String]) throws -> [String] {
        guard tags.count <= MemoryLimits.maxTags else { throw MemoryError.invalid("at most \(MemoryLimits.maxTags) tags") }
        var out: [String] = []
        for tag in tags {
            let t = tag.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !t.isEmpty, t.count <= MemoryLimits.maxTagLength else {
                throw MemoryError.invalid("tags must be 1 to \(MemoryLimits.maxTagLength) characters")
            }
            guard !hasControlCharacter(t, allowingLayout: false) else { throw MemoryError.invalid("tags must not contain control characters") }
            if !out.contains(t) { out.append(t) }
        }
        return out
    }

    package static func validate(optional value: String?, field: String, max: Int) throws -> String? {
        guard let value else { return nil }
        let v = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if v.isEmpty { return nil }
        guard v.count <= max else { throw MemoryError.invalid("\(field) is longer than \(max) characters") }
        guard !hasControlCharacter(v, allowingLayout: false) else { throw MemoryError.invalid("\(field) must not contain control characters") }
        return v
    }

    /// A commit id: 4 to 64 hex digits, lowercased (nil when absent).
    package static func validate(commit: String?) throws -> String? {
        guard let c = try validate(optional: commit, field: "commit", max: MemoryLimits.maxCommitLength) else { return nil }
        guard c.count >= 4, c.allSatisfy(\.isHexDigit) else { throw MemoryError.invalid("commit must be a Git commit id (4 to 64 hex digits)") }
        return c.lowercased()
    }

    /// The texts of anchors the secret filter reads (paths and symbols).
    package static func anchorTexts(_ anchors: [CodeAnchor]) -> [String?] {
        anchors.flatMap { [$0.path, $0.symbol] }
    }

    /// Canonical form for hashing: Unicode NFC, whitespace runs collapsed to one space.
    package static func normalisedForHash(_ content: String) -> String {
        content.precomposedStringWithCanonicalMapping
            .split(whereSeparator: { $0.isWhitespace })
            .joined(separator: " ")
    }

    package static func contentHash(_ content: String) -> String {
        Hex.lowercase(SHA256.hash(data: Data(normalisedForHash(content).utf8)))
    }
}
