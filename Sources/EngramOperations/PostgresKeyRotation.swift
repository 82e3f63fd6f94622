package import EngramAtRest
package import EngramAuth
import EngramConfig
package import EngramDatabase
import EngramMetadata
package import EngramPostgres
import EngramPostgresSchema
import EngramRuntime
import Foundation

/// `engram keys status|rotate` on the PostgreSQL metadata store: the sealed columns of schema `engram`
/// (version snapshots, webhook secrets, TOTP secrets), counted by key and resealed under the current
/// key, the way `EngramDatabase.rotateKeys` does it on the SQLite file (the memory payloads stay there).
///
/// Everything runs as the schema owner (`--metadata-owner`): the `owner_rows` policies show it every
/// tenant's rows, which the application role never sees at once. Rotation
/// 1. checks the key against `engram.encryption_state` as `engram serve` does at start-up (a key that
///    does not fit is refused; a first key or a rotation's start is recorded);
/// 2. sets `rotating` with the current key as the target (the memory-versions trigger lets `snapshot`
///    change only then);
/// 3. walks each column in primary-key order (keyset pagination), one SERIALIZABLE transaction per
///    batch, and rewrites each value not under the current key with
///    `UPDATE … WHERE <primary key> AND <column> = <value read>`: a value a running server changed in
///    between is left to it. Values that do not open (altered, moved, under a key not held) are counted
///    and left as they are;
/// 4. when nothing is left under another key or in plaintext, records the current key alone
///    (`key_id` = current, `rotating` false, no target), in the same transaction as the last count.
///
/// Running it again resumes: values already under the current key are skipped by the query itself.
/// Transaction bodies only read and write the database (the engine may run them again on a
/// serialization failure); counts come back as their results.
package struct PostgresKeyRotation: Sendable {
    /// A sealed column of schema `engram`.
    package enum Column: String, CaseIterable, Sendable {
        case versions
        case webhookSecrets = "webhook_secrets"
        case totpSecrets = "totp_secrets"

        /// The table (in schema `engram`).
        package var table: String {
            switch self {
            case .versions: "memory_versions"
            case .webhookSecrets: "orgs"
            case .totpSecrets: "credentials"
            }
        }

        /// The sealed column.
        package var name: String {
            switch self {
            case .versions: "snapshot"
            case .webhookSecrets: "webhook_secret"
            case .totpSecrets: "totp_secret"
            }
        }

        /// Whether the column is text (`e1:` and the base64 envelope) rather than `bytea`.
        package var isText: Bool { self == .webhookSecrets }

        /// The primary key, in order (the pagination's cursor).
        package var keys: [String] {
            switch self {
            case .versions: ["memory_id", "version"]
            case .webhookSecrets: ["id"]
            case .totpSecrets: ["user_id"]
            }
        }

        /// Other columns the value's tenant and identity need, read after the key.
        package var extras: [String] { self == .versions ? ["org_id"] : [] }
    }

    /// How many values of one column there are, by the key they are under (`EngramDatabase.SealedCounts`).
    package typealias Counts = EngramDatabase.SealedCounts

    /// What a rotation run did on PostgreSQL.
    package struct Report: Sendable {
        /// Values resealed under the current key, per column.
        package var resealed: [Column: Int] = [:]
        /// Values that did not open, per column (left as they are).
        package var failed: [Column: Int] = [:]
        /// Whether every value is now under the current key (`engram.encryption_state` then records it alone).
        package var finished = false
    }

    /// What `status` reads.
    package struct Status: Sendable {
        /// `engram.encryption_state` (nil: no key recorded yet).
        package var state: EngramDatabase.EncryptionState?
        package var counts: [Column: Counts]
    }

    /// The schema owner's URL.
    package let owner: PostgresConnectionURL
    /// The application role's name (the migrator's record is checked against it).
    package let appRole: String
    package let cipher: AtRestCipher

    package init(owner: PostgresConnectionURL, appRole: String, cipher: AtRestCipher) {
        self.owner = owner
        self.appRole = appRole
        self.cipher = cipher
    }

    /// The shortest sealed value: header and tag (`AtRestCipher.isSealed`).
    package static let sealedMinimum = 4 + 8 + 12 + 16

    /// The first 12 bytes of every value sealed under the current key: magic and key id.
    package var currentHeader: [UInt8] {
        var bytes = [UInt8](AtRestCipher.magic)
        var hex = Substring(cipher.current.id)
        while hex.count >= 2 {
            bytes.append(UInt8(hex.prefix(2), radix: 16) ?? 0)
            hex = hex.dropFirst(2)
        }
        return bytes
    }

    // MARK: - Status

    /// The recorded state and every column's counts by key, in one read-only transaction. A key that
    /// does not fit the recorded state is refused (`EncryptionKeyProblem`) as at start-up; nothing is written.
    package func status() async throws -> Status {
        let cipher = cipher
        let header = currentHeader
        return try await Self.failingClearly {
            try await PostgresEngine.withEngine(owner, maximumConnections: 1) { engine in
                try await checkSchema(engine)
                let status = try await engine.withGlobal(readOnly: true) { tx in
                    Status(state: try Self.state(tx), counts: try Self.counts(tx, cipher: cipher, header: header))
                }
                _ = try EngramDatabase.encryptionStep(state: status.state, cipher: cipher)
                return status
            }
        }
    }

    // MARK: - Rotation

    /// Reseals every value not under the current key (steps above), in transactions of at most `batch`
    /// rows, stopping once `stopAfter` values were resealed (nil: no limit). `totp` opens a TOTP secret
    /// (sealed by the cipher or an earlier release's box) and seals it anew; `progress` gets the running
    /// count of resealed values.
    package func rotate(
        batch: Int,
        stopAfter: Int?,
        totp: any SecretSealing,
        progress: (Int) -> Void
    ) async throws -> Report {
        let cipher = cipher
        let header = currentHeader
        return try await Self.failingClearly {
            try await PostgresEngine.withEngine(owner, maximumConnections: 1) { engine in
                try await checkSchema(engine)
                try await PostgresEncryptionState.check(engine, cipher: cipher)
                let now = Date().timeIntervalSince1970
                try await engine.withGlobal(readOnly: false) { tx in
                    try tx.plainExecute(
                        "UPDATE engram.encryption_state SET rotating = true, target_key_id = $1, since = $2 WHERE id = 1",
                        [.text(cipher.current.id), .double(now)]
                    )
                }
                var report = Report()
                var total = 0
                for column in Column.allCases {
                    var cursor: [PostgresPlainValue]?
                    while true {
                        if let stopAfter, total >= stopAfter { return report }
                        let room = stopAfter.map { min(batch, $0 - total) } ?? batch
                        let after = cursor
                        let step = try await engine.withGlobal(readOnly: false) { tx in
                            try Self.resealBatch(tx, column, after: after, room: room, cipher: cipher, header: header, totp: totp)
                        }
                        report.resealed[column, default: 0] += step.resealed
                        report.failed[column, default: 0] += step.failed
                        total += step.resealed
                        progress(total)
                        guard !step.exhausted, let next = step.cursor else { break }
                        cursor = next
                    }
                }
                let finishedAt = Date().timeIntervalSince1970
                report.finished = try await engine.withGlobal(readOnly: false) { tx in
                    let left = try Self.counts(tx, cipher: cipher, header: header).values.reduce(0) { $0 + $1.other + $1.plaintext }
                    guard left == 0 else { return false }
                    try tx.plainExecute(
                        "UPDATE engram.encryption_state SET key_id = $1, target_key_id = NULL, rotating = false, since = $2 WHERE id = 1",
                        [.text(cipher.current.id), .double(finishedAt)]
                    )
                    return true
                }
                return report
            }
        }
    }

    /// One batch's outcome.
    private struct Batch: Sendable {
        /// The primary key of the last row looked at (where the next batch starts).
        var cursor: [PostgresPlainValue]?
        /// No row is left after `cursor`.
        var exhausted = false
        var resealed = 0
        var failed = 0
    }

    /// Up to `room` rows of `column` after `cursor` (binary columns: only those not under the current
    /// key), each resealed by compare-and-swap; stops early once `room` values were resealed.
    private static func resealBatch(
        _ tx: PostgresTransaction,
        _ column: Column,
        after cursor: [PostgresPlainValue]?,
        room: Int,
        cipher: AtRestCipher,
        header: [UInt8],
        totp: any SecretSealing
    ) throws -> Batch {
        let name = column.name
        var binds: [PostgresPlainValue] = []
        var conditions = ["\(name) IS NOT NULL"]
        if !column.isText {
            binds.append(.bytes(header))
            conditions.append("NOT (length(\(name)) >= \(sealedMinimum) AND substring(\(name) from 1 for 12) = $\(binds.count))")
        }
        if let cursor {
            let placeholders = cursor.indices.map { "$\(binds.count + $0 + 1)" }
            binds += cursor
            conditions.append("(\(column.keys.joined(separator: ", "))) > (\(placeholders.joined(separator: ", ")))")
        }
        binds.append(.integer(Int64(room)))
        let keys = column.keys.joined(separator: ", ")
        let rows = try tx.plainRows(
            """
            SELECT \((column.keys + column.extras + [name]).joined(separator: ", ")) FROM engram.\(column.table)
            WHERE \(conditions.joined(separator: " AND ")) ORDER BY \(keys) LIMIT $\(binds.count)
            """,
            binds
        )
        let match = column.keys.enumerated().map { "\($0.element) = $\($0.offset + 2)" }.joined(separator: " AND ")
        let update = "UPDATE engram.\(column.table) SET \(name) = $1 WHERE \(match) AND \(name) = $\(column.keys.count + 2)"
        var batch = Batch()
        var looked = 0
        for row in rows {
            looked += 1
            let key = Array(row.prefix(column.keys.count))
            batch.cursor = key
            guard let stored = row.last else { continue }
            do {
                guard let sealed = try reseal(column, row, cipher: cipher, totp: totp) else { continue }
                batch.resealed += try tx.plainExecute(update, [sealed] + key + [stored])
            } catch is AtRestCipherError {
                batch.failed += 1
            } catch is SealedValueUnreadable {
                batch.failed += 1
            }
            if batch.resealed >= room { break }
        }
        batch.exhausted = rows.count < room && looked == rows.count
        return batch
    }

    /// The value of `row` (key, extras, value) sealed anew under the current key; nil when it already is.
    private static func reseal(
        _ column: Column,
        _ row: [PostgresPlainValue],
        cipher: AtRestCipher,
        totp: any SecretSealing
    ) throws -> PostgresPlainValue? {
        switch column {
        case .versions:
            let memoryId = try text(row[0])
            let version = try integer(row[1])
            let orgId = row[2] == .null ? nil : try text(row[2])
            let stored = try bytes(row[3])
            if cipher.isCurrent(stored) { return nil }
            let tenant = SealedIdentity.versionTenant(orgId)
            let identity = SealedIdentity.versionIdentity(memoryId, Int(version))
            return .bytes([UInt8](try cipher.seal(try cipher.open(stored, tenant: tenant, identity: identity), tenant: tenant, identity: identity)))
        case .webhookSecrets:
            let orgId = try text(row[0])
            let stored = try text(row[1])
            if cipher.isCurrent(text: stored) { return nil }
            let tenant = SealedIdentity.webhookTenant(orgId)
            let identity = SealedIdentity.webhookIdentity(orgId)
            return .text(try cipher.sealText(try cipher.openText(stored, tenant: tenant, identity: identity), tenant: tenant, identity: identity))
        case .totpSecrets:
            let userId = try text(row[0])
            let stored = try bytes(row[1])
            if cipher.isCurrent(stored) { return nil }
            return .bytes([UInt8](try totp.seal(try totp.open(stored, owner: userId), owner: userId)))
        }
    }

    // MARK: - Reading

    /// `engram.encryption_state`.
    private static func state(_ tx: PostgresTransaction) throws -> EngramDatabase.EncryptionState? {
        guard let row = try tx.plainRows("SELECT key_id, target_key_id, rotating FROM engram.encryption_state WHERE id = 1").first else {
            return nil
        }
        guard case .boolean(let rotating) = row[2] else { throw unexpected("encryption_state.rotating") }
        return EngramDatabase.EncryptionState(keyID: try text(row[0]), targetKeyID: row[1] == .null ? nil : try text(row[1]), rotating: rotating)
    }

    /// Every column's values by key: binary columns counted by the server from each value's header
    /// (the same test as `AtRestCipher.keyID(of:)`), text columns read and judged here.
    private static func counts(_ tx: PostgresTransaction, cipher: AtRestCipher, header: [UInt8]) throws -> [Column: Counts] {
        var out: [Column: Counts] = [:]
        for column in Column.allCases {
            let name = column.name
            var counts = Counts()
            if column.isText {
                for row in try tx.plainRows("SELECT \(name) FROM engram.\(column.table) WHERE \(name) IS NOT NULL") {
                    counts.add(keyID: AtRestCipher.keyID(ofText: try text(row[0])), currentKeyID: cipher.current.id)
                }
            } else {
                let sealed = "length(\(name)) >= \(sealedMinimum) AND substring(\(name) from 1 for 4) = $2"
                let row = try tx.plainRows(
                    """
                    SELECT count(*) FILTER (WHERE \(sealed) AND substring(\(name) from 1 for 12) = $1),
                      count(*) FILTER (WHERE \(sealed) AND substring(\(name) from 1 for 12) <> $1),
                      count(*) FILTER (WHERE NOT (\(sealed)))
                    FROM engram.\(column.table) WHERE \(name) IS NOT NULL
                    """,
                    [.bytes(header), .bytes([UInt8](AtRestCipher.magic))]
                )
                guard let row = row.first, row.count == 3 else { throw unexpected("the counts of \(column.table)") }
                counts.current = Int(try integer(row[0]))
                counts.other = Int(try integer(row[1]))
                counts.plaintext = Int(try integer(row[2]))
            }
            out[column] = counts
        }
        return out
    }

    /// Refuses a schema behind the build (the owner's `engram serve` migrates it).
    private func checkSchema(_ engine: PostgresEngine) async throws {
        let pending = try await PostgresMigrator(appRole: appRole).pending(engine)
        guard pending.isEmpty else {
            throw Runtime.Failure(
                description: "the PostgreSQL schema lacks \(pending.count) migration(s) (\(pending.first ?? "")…): "
                    + "start `engram serve` once with --metadata-owner (ENGRAM_METADATA_OWNER) so that it migrates"
            )
        }
    }

    /// Runs `body`, passing the command's own failures through and naming PostgreSQL in the others.
    private static func failingClearly<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as any CommandFailure {
            throw failure
        } catch {
            throw Runtime.Failure(description: "PostgreSQL metadata store: \(error)")
        }
    }

    private static func text(_ value: PostgresPlainValue) throws -> String {
        guard case .text(let s) = value else { throw unexpected("a text cell") }
        return s
    }

    private static func integer(_ value: PostgresPlainValue) throws -> Int64 {
        guard case .integer(let i) = value else { throw unexpected("an integer cell") }
        return i
    }

    private static func bytes(_ value: PostgresPlainValue) throws -> Data {
        guard case .bytes(let b) = value else { throw unexpected("a bytea cell") }
        return Data(b)
    }

    private static func unexpected(_ what: String) -> Runtime.Failure {
        Runtime.Failure(description: "PostgreSQL metadata store: unexpected type for \(what)")
    }
}
