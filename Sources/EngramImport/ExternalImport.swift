package import ArgumentParser
package import EngramClientKit
import EngramMemory
import EngramMemoryModel
import Foundation

/// The formats `engram import --from` reads.
package enum ImportFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
    case claudeMd = "claude-md"
    case mem0
    case mcpMemoryService = "mcp-memory-service"

    /// The memories in `path`.
    package func read(_ path: String, repo: String?) throws -> ImportParseResult {
        switch self {
        case .claudeMd: return try ClaudeMarkdownFiles.read(path, repo: repo)
        case .mem0: return try Mem0Import.parse(ImportArchive.contents(of: path))
        case .mcpMemoryService: return try MCPMemoryServiceImport.parse(ImportArchive.contents(of: path))
        }
    }
}

/// `engram import --from claude-md|mem0|mcp-memory-service FILE|DIR [--dry-run]`: another tool's
/// memory, split into memories and sent one by one through a running server's add path (so its secret
/// filter, poisoning screen and dedup decide), with the developer's own token (`--url`/`--token`,
/// `ENGRAM_URL`/`ENGRAM_TOKEN`, `~/.config/engram/config.json`). `--dry-run` sends nothing: it prints
/// the memories and what the local secret scanner and poisoning screen would refuse (rule names only).
package struct ExternalImportOptions: ParsableArguments {
    package init() {}

    @Option(
        name: .customLong("from"),
        help: ArgumentHelp(
            "Import another tool's memory through the running server: claude-md FILE|DIR, mem0 FILE, mcp-memory-service FILE.",
            valueName: "format"
        )
    )
    package var from: ImportFormat?
    @Argument(help: ArgumentHelp("With --from: the file (for claude-md also a directory) to import.", valueName: "FILE|DIR"))
    package var source: String?
    @Flag(name: .customLong("dry-run"), help: "With --from: print what would be stored (and what would be refused); send nothing.")
    package var dryRun = false
    @Option(help: "With --from: personal (default) or org (org memories start as drafts).")
    package var scope: String?
    @Option(name: .customLong("task-id"), help: "With --from: the task id of the imported memories (finish_task with it publishes org drafts).")
    package var taskId: String?
    @Option(help: "With --from: the repository the memories are about (claude-md default: each file's Git remote).")
    package var repo: String?
    @Option(name: .customLong("tag"), help: "With --from: a tag for every imported memory (repeatable).")
    package var tags: [String] = []
    @OptionGroup package var client: ClientOptions

    /// Checks the options against `engram import --in` (`input`): exactly one of the two.
    package func check(input: String?) throws {
        guard from != nil else {
            if source != nil || dryRun || scope != nil || taskId != nil || repo != nil || !tags.isEmpty {
                throw ValidationError("FILE|DIR, --dry-run, --scope, --task-id, --repo and --tag go with --from")
            }
            if input == nil { throw ValidationError("give --in FILE (an `engram export` file) or --from FORMAT FILE|DIR") }
            return
        }
        if input != nil { throw ValidationError("--in reads an `engram export` file; --from reads another tool's: give one") }
        if source == nil { throw ValidationError("--from \(from!.rawValue) needs the FILE\(from == .claudeMd ? "|DIR" : "") to import") }
        if let scope, scope != "personal", scope != "org" { throw ValidationError("--scope must be personal or org") }
        if let repo, ImportRepository.normalised(repo).count > MemoryLimits.maxRepoLength {
            throw ValidationError("--repo is longer than \(MemoryLimits.maxRepoLength) characters")
        }
    }

    package func run() async throws {
        guard let from, let source else { return }
        let scope = self.scope ?? "personal"
        let repo = self.repo.map(ImportRepository.normalised)
        var parsed = try from.read(source, repo: repo)
        for i in parsed.candidates.indices {
            var c = parsed.candidates[i]
            if let repo { c.provenance.repo = repo }
            c.tags = ImportText.tags(Array(c.tags.prefix(1)) + tags + c.tags.dropFirst())
            c.scope = c.scope ?? scope
            parsed.candidates[i] = c
        }
        if from == .claudeMd, parsed.files == 0 {
            FileHandle.standardError.write(Data("no CLAUDE.md, CLAUDE.local.md, MEMORY.md or .claude/**/*.md under \(source)\n".utf8))
        }
        if dryRun {
            ImportReport.dryRun(parsed, format: from, taskId: taskId, json: client.json)
            return
        }
        if parsed.candidates.isEmpty {
            ImportReport.summary(ImportReport.Tally(), parsed: parsed, format: from, scope: scope, taskId: taskId, json: client.json)
            return
        }
        let (base, token) = try client.resolved()
        let uploader = ImportUploader(base: base, token: token, userAgent: "engram-import/\(from.rawValue)")
        var tally = ImportReport.Tally()
        let progress = ImportProgress(total: parsed.candidates.count)
        do {
            for (n, candidate) in parsed.candidates.enumerated() {
                let outcome = try await uploader.add(ImportUploader.body(candidate, scope: scope, taskId: taskId))
                tally.record(outcome, for: candidate)
                progress.update(n + 1)
            }
        } catch {
            progress.finish()
            if tally.sent > 0 { FileHandle.standardError.write(Data("stopped after \(tally.sent) of \(parsed.candidates.count)\n".utf8)) }
            throw error
        }
        progress.finish()
        ImportReport.summary(tally, parsed: parsed, format: from, scope: scope, taskId: taskId, json: client.json)
        if !tally.failures.isEmpty { throw ExitCode(1) }
    }
}
