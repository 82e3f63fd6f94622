import EngramAtRest
import EngramMetadata
public import Foundation
import GRDB

/// `engram keys rotate` and `engram keys status`: every sealed column of the file, walked in batches.
extension EngramDatabase {
    /// How many values of each kind there are, by the key they are under.
    public struct SealedCounts: Sendable, Equatable {
        /// Values under the cipher's current key.
        public var current = 0
        /// Values under another key (the previous one during a rotation).
        public var other = 0
        /// Values stored before encryption was turned on.
        public var plaintext = 0

        public init(current: Int = 0, other: Int = 0, plaintext: Int = 0) {
            self.current = current
            self.other = other
            self.plaintext = plaintext
        }

        /// Counts one value sealed under `keyID` (nil: plaintext) while `currentKeyID` is the current key.
        public mutating func add(keyID: String?, currentKeyID: String) {
            if keyID == nil {
                plaintext += 1
            } else if keyID == currentKeyID {
                current += 1
            } else {
                other += 1
            }
        }
    }

    /// The sealed columns: the store's payloads, version snapshots, webhook and TOTP secrets.
    public enum SealedColumn: String, CaseIterable, Sendable {
        case payloads, versions
        case webhookSecrets = "webhook_secrets"
        case totpSecrets = "totp_secrets"

        var sql: (table: String, column: String, isText: Bool) {
            switch self {
            case .payloads: ("points", "payload", false)
            case .versions: ("memory_versions", "snapshot", false)
            case .webhookSecrets: ("orgs", "webhook_secret", true)
            case .totpSecrets: ("credentials", "totp_secret", false)
            }
        }
    }

    /// Counts the values of every sealed column by key.
    public func sealedCounts() throws -> [SealedColumn: SealedCounts] {
        guard let cipher else { throw EncryptionKeyProblem.missing(keyID: "none") }
        return try pool.read { db in
            var out: [SealedColumn: SealedCounts] = [:]
            for column in SealedColumn.allCases {
                let (table, name, isText) = column.sql
                var counts = SealedCounts()
                let cursor = try Row.fetchCursor(db, sql: "SELECT \(name) FROM \(table) WHERE \(name) IS NOT NULL")
                while let row = try cursor.next() {
                    let id: String? = isText ? AtRestCipher.keyID(ofText: row[0]) : AtRestCipher.keyID(of: row[0])
                    counts.add(keyID: id, currentKeyID: cipher.current.id)
                }
                out[column] = counts
            }
            return out
        }
    }

    /// What one rotation run did.
    public struct RotationReport: Sendable {
        /// Values resealed under the current key, per column.
        public var resealed: [SealedColumn: Int] = [:]
        /// Values that did not open (altered, moved, or under a key the cipher lacks), per column.
        public var failed: [SealedColumn: Int] = [:]
        /// Whether every value is now under the current key (the file then records that key alone).
        public var finished = false
    }

    /// Reseals every value that is not under the cipher's current key (plaintext values included), in
    /// transactions of `batch` rows, each value by compare-and-swap (a value changed meanwhile by the
    /// server is left to it). Stops after `stopAfter` resealed values (tests, and operators pacing a
    /// large file); running it again resumes where the values still carry the old key. When a pass
    /// finds nothing left and nothing unreadable, the file records the current key alone.
    ///
    /// `reopenTOTP` opens a TOTP secret (sealed by this cipher or by an earlier release's box) and
    /// `sealTOTP` seals it, for the owner given.
    public func rotateKeys(
        batch: Int = 500,
        stopAfter: Int? = nil,
        reopenTOTP: (Data, String) throws -> Data,
        sealTOTP: (Data, String) throws -> Data,
        progress: (Int) -> Void = { _ in }
    ) throws -> RotationReport {
        guard let cipher else { throw EncryptionKeyProblem.missing(keyID: "none") }
        try pool.write { db in
            try db.execute(
                sql: "UPDATE encryption_state SET rotating = 1, target_key_id = ?, since = ? WHERE id = 1",
                arguments: [cipher.current.id, Date().timeIntervalSince1970]
            )
        }
        var report = RotationReport()
        var total = 0
        for column in SealedColumn.allCases {
            var after: Int64 = 0
            while true {
                if let stopAfter, total >= stopAfter { return report }
                let room = stopAfter.map { min(batch, $0 - total) } ?? batch
                let (last, resealed, failed) = try pool.write { db -> (Int64?, Int, Int) in
                    try Self.resealBatch(db, column, cipher: cipher, after: after, limit: room, reopenTOTP: reopenTOTP, sealTOTP: sealTOTP)
                }
                report.resealed[column, default: 0] += resealed
                report.failed[column, default: 0] += failed
                total += resealed
                progress(total)
                guard let last else { break }
                after = last
            }
        }
        let counts = try sealedCounts()
        let left = counts.values.reduce(0) { $0 + $1.other + $1.plaintext }
        if left == 0 {
            try pool.write { db in
                try db.execute(
                    sql: "UPDATE encryption_state SET key_id = ?, target_key_id = NULL, rotating = 0, since = ? WHERE id = 1",
                    arguments: [cipher.current.id, Date().timeIntervalSince1970]
                )
            }
            report.finished = true
        }
        // Move the rewritten pages into the file and empty the WAL, which still holds the earlier
        // page images (best effort: a reader of the running server may hold the WAL a moment longer).
        _ = try? pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        return report
    }

    /// One batch of `column` after rowid `after`: returns the last rowid read (nil: the column is done),
    /// and how many values were resealed and how many did not open. Rows already under the current key
    /// are skipped without counting against `limit`.
    private static func resealBatch(
        _ db: Database,
        _ column: SealedColumn,
        cipher: AtRestCipher,
        after: Int64,
        limit: Int,
        reopenTOTP: (Data, String) throws -> Data,
        sealTOTP: (Data, String) throws -> Data
    ) throws -> (Int64?, Int, Int) {
        let (table, name, _) = column.sql
        let identity: String
        switch column {
        case .payloads: identity = "pid, tenant"
        case .versions: identity = "memory_id, version, org_id"
        case .webhookSecrets: identity = "id"
        case .totpSecrets: identity = "user_id"
        }
        let rows = try Row.fetchAll(
            db,
            sql: "SELECT rowid, \(name), \(identity) FROM \(table) WHERE rowid > ? AND \(name) IS NOT NULL ORDER BY rowid LIMIT 2000",
            arguments: [after]
        )
        guard !rows.isEmpty else { return (nil, 0, 0) }
        var resealed = 0
        var failed = 0
        var last = after
        for row in rows {
            last = row[0]
            let update = "UPDATE \(table) SET \(name) = ? WHERE rowid = ? AND \(name) = ?"
            do {
                switch column {
                case .webhookSecrets:
                    let stored: String = row[1]
                    if cipher.isCurrent(text: stored) { continue }
                    let org: String = row[2]
                    let plain = try cipher.openText(stored, tenant: "org:" + org, identity: LifecycleRecords.webhookIdentity(org))
                    let sealed = try cipher.sealText(plain, tenant: "org:" + org, identity: LifecycleRecords.webhookIdentity(org))
                    try db.execute(sql: update, arguments: [sealed, last, stored])
                default:
                    let stored: Data = row[1]
                    if cipher.isCurrent(stored) { continue }
                    let sealed: Data
                    switch column {
                    case .payloads:
                        let tenant = SealedRecord.pointTenant(row[3])
                        let id = SealedRecord.point(row[2])
                        sealed = try cipher.seal(try cipher.open(stored, tenant: tenant, identity: id), tenant: tenant, identity: id)
                    case .versions:
                        let tenant = LifecycleRecords.versionTenant(row[4])
                        let id = LifecycleRecords.versionIdentity(row[2], row[3])
                        sealed = try cipher.seal(try cipher.open(stored, tenant: tenant, identity: id), tenant: tenant, identity: id)
                    default:
                        let owner: String = row[2]
                        sealed = try sealTOTP(try reopenTOTP(stored, owner), owner)
                    }
                    try db.execute(sql: update, arguments: [sealed, last, stored])
                }
                resealed += db.changesCount
            } catch is AtRestCipherError {
                failed += 1
            } catch is SealedValueUnreadable {
                failed += 1
            }
            if resealed >= limit { break }
        }
        return (last, resealed, failed)
    }
}
