import ArgumentParser
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

/// Options shared by every command that touches the store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Data directory (env ENGRAM_DATA_DIR; default ./data).")
    var dataDir: String?

    @Option(
        name: .long,
        help: "Metadata store: sqlite (default: the data directory's file) or postgres://app-role@host/db (env ENGRAM_METADATA)."
    )
    var metadata: String?

    @Option(
        name: .long,
        help: "PostgreSQL URL of the schema owner role: migrations run with it at start-up, backups dump with it (env ENGRAM_METADATA_OWNER)."
    )
    var metadataOwner: String?

    var dataDirectory: URL {
        EngramConfiguration().dataDirectory(flag: dataDir)
    }

    /// Where users, members, the audit log and the memory versions live (`--metadata`, else `ENGRAM_METADATA`).
    func metadataLocation(_ configuration: EngramConfiguration = EngramConfiguration()) throws -> MetadataLocation {
        try configuration.metadataLocation(flag: metadata, ownerFlag: metadataOwner)
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
