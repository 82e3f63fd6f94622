package import EngramCore
public import Foundation

/// A place in a repository that a memory cites: a file, optionally pinned to its content (`sha`),
/// a line range and a symbol. When a push changes the file, the memory is flagged `anchor_changed`.
public struct CodeAnchor: Sendable, Hashable, Codable {
    /// Repository-relative path, normalised (`CodeAnchor.normalisedPath`).
    public var path: String
    /// Git blob SHA-1 (40 hex) or SHA-256 of the file (64 hex), lowercase.
    public var sha: String?
    /// Lines the memory is about.
    public var lines: LineRange?
    /// A symbol in the file (function, type, key).
    public var symbol: String?

    public init(path: String, sha: String? = nil, lines: LineRange? = nil, symbol: String? = nil) {
        self.path = path
        self.sha = sha
        self.lines = lines
        self.symbol = symbol
    }

    /// An inclusive, 1-based line range; written `12` or `12-40`.
    public struct LineRange: Sendable, Hashable, Codable, CustomStringConvertible {
        public var start: Int
        public var end: Int

        public init(start: Int, end: Int) {
            self.start = start
            self.end = end
        }

        public var description: String { start == end ? "\(start)" : "\(start)-\(end)" }

        /// Parses `12` or `12-40` (1 ≤ start ≤ end ≤ 10,000,000); nil otherwise.
        public static func parse(_ text: String) -> LineRange? {
            let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let a = Int(parts[0].trimmingCharacters(in: .whitespaces)) else { return nil }
            let b = parts.count == 2 ? Int(parts[1].trimmingCharacters(in: .whitespaces)) : a
            guard let b, a >= 1, b >= a, b <= 10_000_000 else { return nil }
            return LineRange(start: a, end: b)
        }
    }

    /// At most this many anchors per memory.
    public static let maxAnchors = 20
    public static let maxPathLength = 512
    public static let maxSymbolLength = 256

    /// The canonical form of a repository-relative path: `/` separators, no `.` segments, no empty
    /// segments, no leading `./` or trailing `/`. Rejects (with the reason) absolute paths, drive
    /// letters, home-relative paths, any `..` segment, control characters and over-long paths.
    public static func normalisedPath(_ raw: String) throws(MemoryError) -> String {
        let text = raw.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else { throw .invalid("anchor path must not be empty") }
        guard !MemoryInput.hasControlCharacter(text, allowingLayout: false) else {
            throw .invalid("anchor path must not contain control characters")
        }
        let slashed = text.replacingOccurrences(of: "\\", with: "/")
        guard !slashed.hasPrefix("/"), !slashed.hasPrefix("~") else {
            throw .invalid("anchor path must be relative to the repository root, not absolute")
        }
        if let colon = slashed.firstIndex(of: ":"), slashed[..<colon].count == 1, slashed.first!.isLetter {
            throw .invalid("anchor path must be relative to the repository root, not absolute")
        }
        var segments: [Substring] = []
        for segment in slashed.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." { throw .invalid("anchor path must not contain `..`") }
            segments.append(segment)
        }
        guard !segments.isEmpty else { throw .invalid("anchor path must name a file or directory") }
        let path = segments.joined(separator: "/")
        guard path.utf8.count <= maxPathLength else { throw .invalid("anchor path is longer than \(maxPathLength) bytes") }
        return path
    }

    /// Validates and normalises a caller's anchors: paths normalised, `sha` 40 or 64 hex digits
    /// (lowercased), the symbol free of control characters; duplicates (same path, lines and symbol)
    /// collapse; at most `maxAnchors`.
    public static func validate(_ anchors: [CodeAnchor]) throws(MemoryError) -> [CodeAnchor] {
        guard anchors.count <= maxAnchors else { throw .invalid("at most \(maxAnchors) anchors") }
        var out: [CodeAnchor] = []
        for a in anchors {
            var v = CodeAnchor(path: try normalisedPath(a.path), lines: a.lines)
            if let sha = a.sha?.trimmingCharacters(in: .whitespaces), !sha.isEmpty {
                let lower = sha.lowercased()
                guard lower.count == 40 || lower.count == 64, lower.allSatisfy(\.isHexDigit) else {
                    throw .invalid("anchor sha must be a Git blob SHA-1 (40 hex digits) or a SHA-256 (64 hex digits)")
                }
                v.sha = lower
            }
            if let lines = a.lines, lines.start < 1 || lines.end < lines.start {
                throw .invalid("anchor lines must be `N` or `N-M` with 1 ≤ N ≤ M")
            }
            if let symbol = a.symbol?.trimmingCharacters(in: .whitespaces), !symbol.isEmpty {
                guard symbol.count <= maxSymbolLength else { throw .invalid("anchor symbol is longer than \(maxSymbolLength) characters") }
                guard !MemoryInput.hasControlCharacter(symbol, allowingLayout: false) else {
                    throw .invalid("anchor symbol must not contain control characters")
                }
                v.symbol = symbol
            }
            if !out.contains(where: { $0.path == v.path && $0.lines == v.lines && $0.symbol == v.symbol }) { out.append(v) }
        }
        return out
    }

    /// The payload form: `{path, sha?, lines?, symbol?}`.
    package var jsonValue: JSONValue {
        var o: [String: JSONValue] = ["path": .string(path)]
        if let sha { o["sha"] = .string(sha) }
        if let lines { o["lines"] = .string(lines.description) }
        if let symbol { o["symbol"] = .string(symbol) }
        return .object(o)
    }

    /// Reads the payload form (nil for anything else).
    package init?(json: JSONValue) {
        guard let path = json["path"]?.stringValue else { return nil }
        self.init(
            path: path,
            sha: json["sha"]?.stringValue,
            lines: json["lines"]?.stringValue.flatMap(LineRange.parse),
            symbol: json["symbol"]?.stringValue
        )
    }
}

/// The mark left on a memory when a push changed code it cites.
public struct AnchorChange: Sendable, Hashable, Codable {
    /// The commit that changed the code (as the push named it).
    public var commit: String
    /// The cited paths it changed.
    public var paths: [String]
    public var at: Date

    public init(commit: String, paths: [String], at: Date) {
        self.commit = commit
        self.paths = paths
        self.at = at
    }

    package var jsonValue: JSONValue {
        .object([
            "commit": .string(commit), "paths": .array(paths.map { .string($0) }),
            "at": .string(RFC3339.format(at.timeIntervalSince1970)),
        ])
    }

    package init?(json: JSONValue) {
        guard let commit = json["commit"]?.stringValue, case let .array(items)? = json["paths"],
            let at = json["at"]?.stringValue.flatMap(RFC3339.parse)
        else { return nil }
        self.init(commit: commit, paths: items.compactMap(\.stringValue), at: Date(timeIntervalSince1970: at))
    }
}
