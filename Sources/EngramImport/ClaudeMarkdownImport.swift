import EngramClientKit
import EngramMemory
import EngramMemoryModel
package import Foundation

/// Splits Claude Code memory files (`CLAUDE.md`, `CLAUDE.local.md`, `.claude/**/*.md`, the auto-memory
/// `MEMORY.md`) into self-contained memories: one top-level bullet with its nested sub-bullets and
/// continuation lines, or one paragraph, each under its heading path (`Build and test: Run …`).
///
/// - A code fence is never read as Markdown (a `# comment` in it is no heading) and is never a memory
///   of its own: it stays with the bullet or paragraph it belongs to (indented under the bullet, right
///   after it, or after a line ending in `:`); a fence that belongs to nothing is left out.
/// - A short paragraph ending in `:` right before a list (`Formatting rules:`) introduces each of its
///   bullets instead of being a memory itself.
/// - Left out: YAML front matter, HTML comments, `@path` import lines, empty bullets, thematic breaks.
/// - A document title that only names the file (`# CLAUDE.md`, `# Memory`) is not part of the prefix.
/// - A memory longer than the server's limit (`MemoryLimits.maxContentBytes`) is cut at line breaks,
///   every piece keeping the heading prefix.
package enum ClaudeMarkdownImport {
    package static let source = "claude-md"

    /// The memories of one file. `path` is the file relative to its repository root (it becomes the
    /// memory's code anchor with the line range), `repo` the normalised repository.
    package static func candidates(_ data: Data, path: String, repo: String?, maxBytes: Int = MemoryLimits.maxContentBytes) -> [ImportCandidate] {
        let fileName = (path as NSString).lastPathComponent
        // The anchor the server will accept (relative, no `..`, no control characters), else none.
        let anchor = try? CodeAnchor.normalisedPath(path)
        var out: [ImportCandidate] = []
        for item in items(in: String(decoding: data, as: UTF8.self), fileName: fileName) {
            let prefix = item.context.isEmpty ? "" : item.context.joined(separator: " > ") + ": "
            for text in ImportText.fit(prefix: prefix, body: item.body, maxBytes: maxBytes) {
                let lines =
                    item.lines.lowerBound == item.lines.upperBound ? "\(item.lines.lowerBound)" : "\(item.lines.lowerBound)-\(item.lines.upperBound)"
                out.append(
                    ImportCandidate(
                        text: ImportText.clean(text),
                        tags: [source],
                        provenance: ImportProvenance(
                            source: source,
                            location: "\(path):\(lines)",
                            repo: repo,
                            path: anchor,
                            lines: anchor == nil ? nil : item.lines
                        )
                    )
                )
            }
        }
        return out.filter { !$0.text.isEmpty }
    }

    /// One memory-sized piece of a file: its heading path, its text and the lines it spans (1-based).
    package struct Item: Equatable {
        package var context: [String]
        package var body: String
        package var lines: ClosedRange<Int>
    }

    /// The items of a file, in order.
    package static func items(in text: String, fileName: String = "CLAUDE.md") -> [Item] {
        var builder = Builder(fileName: fileName)
        for element in lex(text) { builder.take(element) }
        builder.finish()
        return builder.items
    }

    // MARK: - Lines

    /// A line of the file after front matter, comments and import lines are gone; fences come whole.
    package enum Element: Equatable {
        case line(Int, String)
        case blank(Int)
        /// The fence's lines (opening and closing included), their line numbers and the opening's indent.
        case fence(ClosedRange<Int>, [String], indent: Int)
    }

    package static func lex(_ text: String) -> [Element] {
        var raw = text.components(separatedBy: "\n").map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        if let first = raw.first, first.hasPrefix("\u{FEFF}") { raw[0] = String(first.dropFirst()) }
        var i = 0
        if raw.first?.trimmingCharacters(in: .whitespaces) == "---",
            let end = raw.indices.dropFirst().first(where: { ["---", "..."].contains(raw[$0].trimmingCharacters(in: .whitespaces)) })
        {
            i = end + 1
        }
        var out: [Element] = []
        var inComment = false
        while i < raw.count {
            let number = i + 1
            var line = raw[i]
            i += 1
            if !inComment, let fence = Fence(opening: line) {
                var body = [line]
                var end = number
                while i < raw.count {
                    let l = raw[i]
                    i += 1
                    body.append(l)
                    end = i
                    if fence.closes(l) { break }
                }
                out.append(.fence(number...end, body, indent: fence.indent))
                continue
            }
            var hadComment = false
            if inComment {
                guard let close = line.range(of: "-->") else { continue }
                line = String(line[close.upperBound...])
                inComment = false
                hadComment = true
            }
            while let open = line.range(of: "<!--") {
                hadComment = true
                if let close = line.range(of: "-->", range: open.upperBound..<line.endIndex) {
                    line.removeSubrange(open.lowerBound..<close.upperBound)
                } else {
                    line = String(line[..<open.lowerBound])
                    inComment = true
                }
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty {
                if !hadComment { out.append(.blank(number)) }
                continue
            }
            if isImportLine(trimmed) { continue }
            out.append(.line(number, line))
        }
        return out
    }

    /// `@path/to/file` on a line of its own (optionally as a bullet), or `@import …`: Claude Code's imports.
    package static func isImportLine(_ trimmed: String) -> Bool {
        var t = Substring(trimmed)
        if let marker = ListMarker(t) { t = t.dropFirst(marker.width).drop { $0 == " " || $0 == "\t" } }
        guard t.hasPrefix("@"), t.count > 1 else { return false }
        return t.hasPrefix("@import ") || !t.contains { $0 == " " || $0 == "\t" }
    }

    /// An opening code fence: three or more backticks or tildes.
    package struct Fence {
        package var character: Character
        package var count: Int
        package var indent: Int

        package init?(opening line: String) {
            let indent = ClaudeMarkdownImport.indent(of: line)
            let rest = line.drop { $0 == " " || $0 == "\t" }
            guard let c = rest.first, c == "`" || c == "~" else { return nil }
            let run = rest.prefix { $0 == c }.count
            guard run >= 3 else { return nil }
            if c == "`", rest.dropFirst(run).contains("`") { return nil }
            self.character = c
            self.count = run
            self.indent = indent
        }

        package func closes(_ line: String) -> Bool {
            let t = line.trimmingCharacters(in: .whitespaces)
            return t.count >= count && t.allSatisfy { $0 == character }
        }
    }

    /// A list marker at the start of `text`: `-`, `*`, `+`, `1.` or `1)`, followed by a space or the end.
    package struct ListMarker {
        package var width: Int

        package init?(_ text: Substring) {
            guard let first = text.first else { return nil }
            var width: Int
            if first == "-" || first == "*" || first == "+" {
                width = 1
            } else {
                let digits = text.prefix { $0.isASCII && $0.isNumber }.count
                guard (1...9).contains(digits), text.dropFirst(digits).first == "." || text.dropFirst(digits).first == ")" else { return nil }
                width = digits + 1
            }
            let after = text.dropFirst(width).first
            guard after == nil || after == " " || after == "\t" else { return nil }
            self.width = width
        }
    }

    /// Leading columns (a tab counts 4).
    package static func indent(of line: some StringProtocol) -> Int {
        var n = 0
        for c in line {
            if c == " " {
                n += 1
            } else if c == "\t" {
                n += 4
            } else {
                break
            }
        }
        return n
    }

    /// `line` without up to `columns` leading columns of whitespace.
    package static func dedent(_ line: String, by columns: Int) -> String {
        var removed = 0
        var index = line.startIndex
        while index < line.endIndex, removed < columns {
            let c = line[index]
            guard c == " " || c == "\t" else { break }
            removed += c == "\t" ? 4 : 1
            index = line.index(after: index)
        }
        return String(line[index...])
    }

    /// `# Title` (ATX), up to three spaces of indent: the level and the title.
    package static func heading(_ line: String) -> (Int, String)? {
        guard indent(of: line) <= 3 else { return nil }
        let t = line.trimmingCharacters(in: .whitespaces)
        let level = t.prefix { $0 == "#" }.count
        guard (1...6).contains(level) else { return nil }
        let rest = t.dropFirst(level)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
        var title = rest.trimmingCharacters(in: .whitespaces)
        while title.hasSuffix("#") { title.removeLast() }
        return (level, cleanTitle(title))
    }

    package static func cleanTitle(_ title: String) -> String {
        var t = title.trimmingCharacters(in: .whitespaces)
        while t.hasSuffix(":") { t.removeLast() }
        return t.trimmingCharacters(in: .whitespaces)
    }

    /// `---`, `***`, `___` (spaces allowed between).
    package static func isThematicBreak(_ line: String) -> Bool {
        guard indent(of: line) <= 3 else { return false }
        let t = line.filter { $0 != " " && $0 != "\t" }
        guard let c = t.first, c == "-" || c == "*" || c == "_", t.count >= 3 else { return false }
        return t.allSatisfy { $0 == c }
    }

    /// A setext underline (`===` or `---`, three or more) and the heading level it makes.
    package static func setextLevel(_ line: String) -> Int? {
        guard indent(of: line) <= 3 else { return nil }
        let t = line.trimmingCharacters(in: .whitespaces)
        guard t.count >= 3 else { return nil }
        if t.allSatisfy({ $0 == "=" }) { return 1 }
        if t.allSatisfy({ $0 == "-" }) { return 2 }
        return nil
    }

    /// A level-1 title that only names the file or says "memory" adds nothing to a memory.
    package static func isGenericTitle(_ title: String, fileName: String) -> Bool {
        let key = title.lowercased().filter { $0.isLetter || $0.isNumber }
        let file = fileName.lowercased().filter { $0.isLetter || $0.isNumber }
        let stem = ((fileName as NSString).deletingPathExtension).lowercased().filter { $0.isLetter || $0.isNumber }
        let generic: Set<String> = [
            "claudemd", "claudelocalmd", "memorymd", "claude", "memory", "memories", "memoryindex", "projectmemory",
            "claudecodememory", "projectinstructions", "instructions", "notes",
        ]
        return key.isEmpty || key == file || key == stem || generic.contains(key)
    }

    // MARK: - Blocks

    /// Groups lines into bullets and paragraphs under the current heading path.
    package struct Builder {
        package let fileName: String
        package var items: [Item] = []
        private var headings: [(level: Int, title: String)] = []
        private var current: Block?
        /// A paragraph ending in `:` held back until it is clear whether a list (it introduces it) or a
        /// fence (it is that fence's text) follows.
        private var pendingIntro: Block?
        /// The introduction of the list being read.
        private var intro: String?
        private var inList = false

        package init(fileName: String) { self.fileName = fileName }

        package struct Block {
            package var isBullet: Bool
            package var markerIndent = 0
            package var contentIndent = 0
            package var lines: [String]
            package var first: Int
            package var last: Int
            package var context: [String]
            package var intro: String?
            package var blankPending = false
            package var hasFence = false

            package var lastLineEndsWithColon: Bool { lines.last?.trimmingCharacters(in: .whitespaces).hasSuffix(":") ?? false }

            package mutating func append(_ line: String, at number: Int) {
                if blankPending, !lines.isEmpty { lines.append("") }
                blankPending = false
                lines.append(line)
                last = number
            }
        }

        private var context: [String] {
            headings.filter { !($0.level == 1 && ClaudeMarkdownImport.isGenericTitle($0.title, fileName: fileName)) }.map(\.title)
                .filter { !$0.isEmpty }
        }

        package mutating func take(_ element: Element) {
            switch element {
            case .blank:
                if var b = current {
                    if b.isBullet {
                        b.blankPending = true
                        current = b
                    } else {
                        flush()
                    }
                }
            case let .fence(range, lines, indent):
                takeFence(range, lines, indent: indent)
            case let .line(number, line):
                takeLine(number, line)
            }
        }

        package mutating func finish() {
            flush()
            resolveIntro(asListIntro: false)
        }

        private mutating func takeLine(_ number: Int, _ line: String) {
            // A setext underline turns the one-line paragraph above it into a heading.
            if let b = current, !b.isBullet, b.lines.count == 1, !b.hasFence, let level = ClaudeMarkdownImport.setextLevel(line) {
                current = nil
                setHeading(level, ClaudeMarkdownImport.cleanTitle(b.lines[0]))
                return
            }
            if ClaudeMarkdownImport.isThematicBreak(line) {
                endList()
                return
            }
            if let (level, title) = ClaudeMarkdownImport.heading(line) {
                setHeading(level, title)
                return
            }
            let indent = ClaudeMarkdownImport.indent(of: line)
            let stripped = line.drop { $0 == " " || $0 == "\t" }
            if let marker = ListMarker(stripped) {
                if let b = current, b.isBullet, indent > b.markerIndent {
                    current?.append(ClaudeMarkdownImport.dedent(line, by: b.contentIndent), at: number)
                    return
                }
                flush()
                if !inList { intro = nil }
                resolveIntro(asListIntro: true)
                let afterMarker = stripped.dropFirst(marker.width)
                let spaces = ClaudeMarkdownImport.indent(of: afterMarker)
                let text = afterMarker.drop { $0 == " " || $0 == "\t" }
                current = Block(
                    isBullet: true,
                    markerIndent: indent,
                    contentIndent: indent + marker.width + max(1, min(spaces, 4)),
                    lines: [String(text)],
                    first: number,
                    last: number,
                    context: context,
                    intro: intro
                )
                inList = true
                return
            }
            if let b = current {
                if b.isBullet {
                    if !b.blankPending || indent > b.markerIndent {
                        current?.append(ClaudeMarkdownImport.dedent(line, by: b.contentIndent), at: number)
                        return
                    }
                    endList()
                } else {
                    current?.append(String(stripped), at: number)
                    return
                }
            }
            resolveIntro(asListIntro: false)
            inList = false
            intro = nil
            current = Block(isBullet: false, lines: [String(stripped)], first: number, last: number, context: context)
        }

        private mutating func takeFence(_ range: ClosedRange<Int>, _ lines: [String], indent: Int) {
            if let b = current {
                if b.isBullet {
                    if indent > b.markerIndent || !b.blankPending || b.lastLineEndsWithColon {
                        for (k, l) in lines.enumerated() {
                            current?.append(ClaudeMarkdownImport.dedent(l, by: b.contentIndent), at: range.lowerBound + k)
                        }
                        current?.hasFence = true
                        return
                    }
                    endList()
                } else {
                    for (k, l) in lines.enumerated() { current?.append(ClaudeMarkdownImport.dedent(l, by: indent), at: range.lowerBound + k) }
                    current?.hasFence = true
                    flush()
                    return
                }
            }
            if var lead = pendingIntro {
                pendingIntro = nil
                lead.blankPending = true
                lead.hasFence = true
                for (k, l) in lines.enumerated() { lead.append(ClaudeMarkdownImport.dedent(l, by: indent), at: range.lowerBound + k) }
                emit(lead)
                return
            }
            // A code block that belongs to no text is not a memory.
            inList = false
            intro = nil
        }

        private mutating func setHeading(_ level: Int, _ title: String) {
            endList()
            headings.removeAll { $0.level >= level }
            headings.append((level, title))
        }

        /// Ends the open block and the list it belongs to.
        private mutating func endList() {
            flush()
            resolveIntro(asListIntro: false)
            inList = false
            intro = nil
        }

        private mutating func flush() {
            guard let b = current else { return }
            current = nil
            if !b.isBullet, !b.hasFence, b.lastLineEndsWithColon, b.lines.joined(separator: " ").count <= 200 {
                resolveIntro(asListIntro: false)
                pendingIntro = b
                return
            }
            emit(b)
        }

        private mutating func resolveIntro(asListIntro: Bool) {
            guard let p = pendingIntro else { return }
            pendingIntro = nil
            if asListIntro {
                intro = p.lines.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
                inList = true
            } else {
                emit(p)
            }
        }

        private mutating func emit(_ b: Block) {
            var lines: [String] = []
            for line in b.lines {
                let l = line.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
                if l.isEmpty, lines.last?.isEmpty ?? true { continue }
                lines.append(l)
            }
            while lines.last?.isEmpty == true { lines.removeLast() }
            var body = lines.joined(separator: "\n")
            // Empty bullets (`-`, `- [ ]`) and lines of punctuation say nothing.
            guard body.contains(where: { $0.isLetter || $0.isNumber }) else { return }
            if let intro = b.intro { body = intro + " " + body }
            items.append(Item(context: b.context, body: body, lines: b.first...b.last))
        }
    }
}
