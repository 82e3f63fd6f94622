import ArgumentParser
import EngramAtRest
import EngramAuth
import EngramClientKit
import EngramConfig
import EngramDatabase
import EngramOperations
import EngramPostgres
import EngramRuntime
import Foundation

/// `engram keys status|rotate`: encryption at rest (`ENGRAM_ENCRYPTION_KEY`).
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show which key the stored values are sealed under, or reseal them under a new key.",
        discussion: """
            Memory payloads, version snapshots, webhook and TOTP secrets are sealed with AES-256-GCM under \\
            per-tenant keys derived from ENGRAM_ENCRYPTION_KEY. To rotate: restart the server with the new \\
            key in ENGRAM_ENCRYPTION_KEY and the old one in ENGRAM_ENCRYPTION_KEY_PREVIOUS, run \\
            `engram keys rotate` with the same two settings (the server keeps serving), then drop the \\
            previous key once `engram keys status` shows no value left under it. The same command seals the \\
            values stored before encryption was turned on. With --metadata postgres://…, the version snapshots, \\
            webhook and TOTP secrets in PostgreSQL are counted and resealed too, as the schema owner \\
            (--metadata-owner, env ENGRAM_METADATA_OWNER).
            """,
        subcommands: [Status.self, Rotate.self]
    )

    static func database(_ options: StoreOptions) throws -> EngramDatabase {
        guard let cipher = try EngramConfiguration().atRestCipher() else {
            throw Runtime.Failure(description: "ENGRAM_ENCRYPTION_KEY is not set")
        }
        let file = options.dataDirectory.appendingPathComponent(EngramDatabase.fileName)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw Runtime.Failure(description: "no Engram database at \(file.path)")
        }
        return try EngramDatabase(path: file.path, cipher: cipher)
    }

    /// The PostgreSQL part when the metadata lives there (`--metadata postgres://…`): it runs as the
    /// schema owner (`--metadata-owner`), the one role that sees every tenant's rows. Nil on SQLite.
    static func postgres(_ options: StoreOptions, purpose: String) throws -> PostgresKeyRotation? {
        let location = try options.metadataLocation()
        guard case .postgres(let app, _) = location else { return nil }
        let owner = try location.requireOwner(for: purpose)
        guard let cipher = try EngramConfiguration().atRestCipher() else {
            throw Runtime.Failure(description: "ENGRAM_ENCRYPTION_KEY is not set")
        }
        return PostgresKeyRotation(owner: owner, appRole: app.username, cipher: cipher)
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Count the stored values by the key they are sealed under.")
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            let postgres = try Keys.postgres(storeOptions, purpose: "engram keys status")
            let database = try Keys.database(storeOptions)
            guard let cipher = database.cipher else { return }
            let state = try database.encryptionState()
            print("key id \(cipher.current.id)" + (cipher.previous.map { " (previous \($0.id))" } ?? ""))
            if let state {
                print("file: key id \(state.keyID)" + (state.rotating ? ", rotating to \(state.targetKeyID ?? "?")" : ""))
            }
            for (column, counts) in try database.sealedCounts().sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                print("\(column.rawValue): current=\(counts.current) other=\(counts.other) plaintext=\(counts.plaintext)")
            }
            guard let postgres else { return }
            let status = try await postgres.status()
            if let state = status.state {
                print("postgres: key id \(state.keyID)" + (state.rotating ? ", rotating to \(state.targetKeyID ?? "?")" : ""))
            } else {
                print("postgres: no key recorded")
            }
            for column in PostgresKeyRotation.Column.allCases {
                let counts = status.counts[column] ?? PostgresKeyRotation.Counts()
                print("postgres \(column.rawValue): current=\(counts.current) other=\(counts.other) plaintext=\(counts.plaintext)")
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reseal every value not under ENGRAM_ENCRYPTION_KEY (resumable; safe while the server runs)."
        )
        @Option(help: "Rows per transaction.") var batch = 500
        @Option(help: "Stop after resealing this many values (run again to go on).") var stopAfter: Int?
        @OptionGroup var storeOptions: StoreOptions

        func validate() throws {
            guard (1...10_000).contains(batch) else { throw ValidationError("--batch must be 1 to 10000") }
            if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be at least 1") }
        }

        func run() async throws {
            let postgres = try Keys.postgres(storeOptions, purpose: "engram keys rotate")
            let database = try Keys.database(storeOptions)
            guard let sealer = try EngramConfiguration().totpBox(dev: false, jwtSecret: "") else { return }
            let progress = ProgressReporter("resealing", total: nil)
            let report = try database.rotateKeys(
                batch: batch,
                stopAfter: stopAfter,
                reopenTOTP: { try sealer.open($0, owner: $1) },
                sealTOTP: { try sealer.seal($0, owner: $1) },
                progress: { progress.update($0) }
            )
            var resealed = report.resealed.values.reduce(0, +)
            var failed = report.failed.values.reduce(0, +)
            var finished = report.finished
            // The PostgreSQL part goes on with what --stop-after leaves (the file first, as the server reads both).
            var postgresReport: PostgresKeyRotation.Report?
            if let postgres, stopAfter.map({ resealed < $0 }) ?? true {
                let before = resealed
                let part = try await postgres.rotate(
                    batch: batch,
                    stopAfter: stopAfter.map { $0 - before },
                    totp: sealer,
                    progress: { progress.update(before + $0) }
                )
                resealed += part.resealed.values.reduce(0, +)
                failed += part.failed.values.reduce(0, +)
                finished = finished && part.finished
                postgresReport = part
            } else if postgres != nil {
                finished = false
            }
            progress.finish(resealed)
            for column in EngramDatabase.SealedColumn.allCases where (report.resealed[column] ?? 0) + (report.failed[column] ?? 0) > 0 {
                print("\(column.rawValue): resealed=\(report.resealed[column] ?? 0) unreadable=\(report.failed[column] ?? 0)")
            }
            if let postgresReport {
                for column in PostgresKeyRotation.Column.allCases
                where (postgresReport.resealed[column] ?? 0) + (postgresReport.failed[column] ?? 0) > 0 {
                    let done = postgresReport.resealed[column] ?? 0
                    print("postgres \(column.rawValue): resealed=\(done) unreadable=\(postgresReport.failed[column] ?? 0)")
                }
            }
            if finished {
                print("done: every value is sealed under key id \(database.cipher?.current.id ?? "?")")
            } else if failed > 0 {
                throw Runtime.Failure(description: "some values did not open with the keys given; they were left as they are")
            } else {
                print("stopped after \(resealed) values; run `engram keys rotate` again to go on")
            }
        }
    }
}
