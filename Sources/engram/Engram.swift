import ArgumentParser
import Foundation
import Logging

/// The `engram` command: runs the service and its maintenance tools (benchmarks live in `engram-bench`).
@main
struct Engram: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engram",
        abstract: "Engram: a self-hosted memory service for AI coding assistants.",
        subcommands: [Serve.self, Token.self, User.self, Org.self, Recall.self, Memories.self, Backup.self, Verify.self, Restore.self, Export.self, Import.self, Migrate.self, Scan.self]
    )
}

/// Options shared by every command that touches the store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (env ENGRAM_DATA_DIR; default ./data).")
    var dataDir: String?

    var dataDirectory: URL {
        URL(fileURLWithPath: dataDir ?? ProcessInfo.processInfo.environment["ENGRAM_DATA_DIR"] ?? "./data")
    }
}

enum Logs {
    /// Logs go to standard error; the level comes from `ENGRAM_LOG_LEVEL` (default info).
    static func bootstrap() {
        let level = ProcessInfo.processInfo.environment["ENGRAM_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
