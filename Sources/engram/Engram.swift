import ArgumentParser
import EngramClientKit
import EngramConfig
import EngramHTTP
import EngramServer
import Foundation
import Logging

/// The `engram` command: runs the service and its maintenance tools (benchmarks live in `engram-bench`).
@main
struct Engram: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engram",
        abstract: "Engram: a self-hosted memory service for AI coding assistants.",
        version: EngramVersion.current,
        subcommands: [
            Serve.self, Token.self, User.self, Org.self, Recall.self, Memories.self, Backup.self, Verify.self, Restore.self, Export.self, Import.self,
            Migrate.self, Scan.self, Screen.self, Rescan.self, Keys.self, Config.self, Doctor.self,
        ]
    )

    /// Runs the command with a private umask (new files 0600, directories 0700: the database, its
    /// WAL, backups and exports hold every memory), and reports a `CommandFailure` as one line.
    static func main() async {
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as any CommandFailure {
            FileHandle.standardError.write(Data("engram: \(failure.description)\n".utf8))
            Self.exit(withError: ExitCode(1))
        } catch {
            Self.exit(withError: error)
        }
    }
}

enum Logs {
    /// Logs go to standard error; the level comes from `ENGRAM_LOG_LEVEL` (default info).
    static func bootstrap(_ configuration: EngramConfiguration = EngramConfiguration()) throws {
        let level = try configuration.logLevel()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
