import EngramClientKit
import EngramConfig
package import Foundation

/// Finds Claude Code memory files and reads them with their provenance: `CLAUDE.md`, `CLAUDE.local.md`,
/// `MEMORY.md` anywhere, and every `.md` file under a `.claude` directory (`.claude/CLAUDE.md`,
/// `.claude/rules/*.md`, the auto memory under `~/.claude/projects/*/memory/`). `.git` and
/// `node_modules` are not entered, nor are symbolic links to directories, nor the parts of a `.claude`
/// directory that hold prompts and tooling rather than memory (`commands`, `agents`, `skills`,
/// `plugins`, `output-styles`, `hooks`, `todos`).
package enum ClaudeMarkdownFiles {
    package static let memoryFileNames: Set<String> = ["claude.md", "claude.local.md", "memory.md"]
    package static let skippedDirectories: Set<String> = [".git", "node_modules"]
    /// Inside `.claude`: slash commands, subagents and skills are instructions for the assistant, plugins
    /// are other people's files: none of them is memory.
    package static let skippedInsideClaude: Set<String> = ["commands", "agents", "skills", "plugins", "output-styles", "hooks", "todos"]

    /// The memories of `path` (a file, read whatever its name, or a directory walked for memory files).
    /// `repo` replaces the repository found from each file's Git remote.
    package static func read(_ path: String, repo override: String?) throws -> ImportParseResult {
        let url = URL(fileURLWithPath: path).resolvingSymlinksInPath()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ImportFailure(description: "\(path): no such file or directory")
        }
        let files = isDirectory.boolValue ? try memoryFiles(under: url) : [url]
        let base = isDirectory.boolValue ? url : url.deletingLastPathComponent()
        var result = ImportParseResult(files: files.count)
        var repositories: [String: ImportRepository?] = [:]
        for file in files {
            let directory = file.deletingLastPathComponent()
            let repository: ImportRepository?
            if let known = repositories[directory.path] {
                repository = known
            } else {
                repository = ImportRepository.containing(directory)
                repositories[directory.path] = repository
            }
            let relative =
                repository.flatMap { ImportRepository.relativePath(of: file, to: $0.root) } ?? ImportRepository.relativePath(of: file, to: base)
                ?? file.lastPathComponent
            let data: Data
            do { data = try Data(contentsOf: file) } catch {
                result.skipped.append(ImportSkip(location: relative, reason: "unreadable"))
                continue
            }
            let repo = override ?? repository?.remote
            result.candidates += ClaudeMarkdownImport.candidates(data, path: relative, repo: repo)
        }
        return result
    }

    /// Memory files under `root`, sorted by path.
    package static func memoryFiles(under root: URL) throws -> [URL] {
        let keys: [URLResourceKey] = [.isDirectoryKey, .isSymbolicLinkKey, .isRegularFileKey]
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys) else {
            throw ImportFailure(description: "\(root.path): cannot be read")
        }
        let rootInsideClaude = root.pathComponents.contains(".claude")
        var found: [URL] = []
        for case let url as URL in walker {
            let values = try? url.resourceValues(forKeys: Set(keys))
            let name = url.lastPathComponent
            let relative = ImportRepository.relativePath(of: url, to: root) ?? name
            let underClaude = rootInsideClaude || relative.split(separator: "/").dropLast().contains(".claude")
            if values?.isDirectory == true {
                if skippedDirectories.contains(name) || values?.isSymbolicLink == true || (underClaude && skippedInsideClaude.contains(name)) {
                    walker.skipDescendants()
                }
                continue
            }
            guard values?.isRegularFile == true else { continue }
            if memoryFileNames.contains(name.lowercased()) || (underClaude && name.lowercased().hasSuffix(".md")) {
                found.append(url)
            }
        }
        return found.sorted { $0.path < $1.path }
    }
}

/// An import that cannot start: a missing file, an unreadable export. One line, exit 1.
package struct ImportFailure: Error, CommandFailure {
    package let description: String
}
