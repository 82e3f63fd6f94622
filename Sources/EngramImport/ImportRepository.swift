import EngramClientKit
import EngramLifecycle
import EngramMemory
import EngramMemoryModel
package import Foundation

/// The Git repository a file belongs to: its root (`git rev-parse --show-toplevel`) and its `origin`
/// remote (`remote.origin.url`, what `git remote get-url origin` answers before `insteadOf` rewrites),
/// normalised the way the server matches repositories.
package struct ImportRepository: Sendable, Equatable {
    /// The working tree's root (symlinks resolved).
    package var root: URL
    /// `host/owner/name`, or nil when the repository has no `origin`.
    package var remote: String?

    /// The repository holding `directory`, or nil outside one (or without `git`).
    package static func containing(_ directory: URL) -> ImportRepository? {
        guard let top = git(["-C", directory.path, "rev-parse", "--show-toplevel"]), !top.isEmpty else { return nil }
        let root = URL(fileURLWithPath: top).resolvingSymlinksInPath()
        // The URL as configured: `git remote get-url` applies `url.<base>.insteadOf` rewrites (local
        // mirrors, SSH-for-HTTPS), which name a machine's setup, not the repository.
        let configured = git(["-C", root.path, "config", "--get", "remote.origin.url"]) ?? git(["-C", root.path, "remote", "get-url", "origin"])
        let remote = configured.map(normalised).flatMap { $0.isEmpty || $0.count > MemoryLimits.maxRepoLength ? nil : $0 }
        return ImportRepository(root: root, remote: remote)
    }

    /// The server's normalisation (`RepositoryRef.normalised`), which matches a memory's `repo` against
    /// pushes; credentials in an HTTPS remote never reach the server.
    package static func normalised(_ text: String) -> String { RepositoryRef.normalised(text) }

    /// `file` relative to `base` (both with symlinks resolved), or nil when it is not inside it.
    package static func relativePath(of file: URL, to base: URL) -> String? {
        let f = file.resolvingSymlinksInPath().standardizedFileURL.pathComponents
        let b = base.resolvingSymlinksInPath().standardizedFileURL.pathComponents
        guard f.count > b.count, Array(f.prefix(b.count)) == b else { return nil }
        return f.dropFirst(b.count).joined(separator: "/")
    }

    /// Runs `git ARGS` and returns its trimmed standard output, or nil when it fails.
    private static func git(_ arguments: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git"] + arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
