public import EngramAtRest
import Foundation
import GRDB

/// Which master key the file's sealed values are under, kept in the file itself (`encryption_state`,
/// one row): opening a file whose values are sealed without the key, or with a key that is neither
/// that one nor the one being rotated to, is an error at start-up instead of unreadable memories later.
///
/// `key_id` is the key every value was sealed under when the last rotation finished (or encryption was
/// turned on); `rotating` is 1 while `engram keys rotate` moves values to `target_key_id`. Memory
/// versions are immutable, except that their snapshot may be resealed while `rotating` is 1.
extension EngramDatabase {
    static func registerEncryptionMigrations(_ m: inout DatabaseMigrator) {
        m.registerMigration("encryption-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE encryption_state (
                        id INTEGER PRIMARY KEY CHECK (id = 1), key_id TEXT NOT NULL, target_key_id TEXT,
                        rotating INTEGER NOT NULL DEFAULT 0, since REAL NOT NULL);
                    DROP TRIGGER memory_versions_no_update;
                    CREATE TRIGGER memory_versions_no_update BEFORE UPDATE ON memory_versions
                        WHEN NOT (NEW.memory_id IS OLD.memory_id AND NEW.version IS OLD.version AND NEW.at IS OLD.at
                            AND NEW.actor IS OLD.actor AND NEW.channel IS OLD.channel AND NEW.client IS OLD.client
                            AND NEW.request_id IS OLD.request_id AND NEW.reason IS OLD.reason AND NEW.org_id IS OLD.org_id
                            AND NEW.state IS OLD.state AND NEW.content_hash IS OLD.content_hash AND NEW.token_id IS OLD.token_id
                            AND coalesce((SELECT rotating FROM encryption_state WHERE id = 1), 0) = 1)
                        BEGIN SELECT RAISE(ABORT, 'memory versions are immutable'); END;
                    """
            )
        }
    }

    /// The recorded encryption state.
    public struct EncryptionState: Sendable, Equatable {
        /// The key every sealed value was under when encryption was turned on or the last rotation finished.
        public var keyID: String
        /// The key a running rotation moves values to.
        public var targetKeyID: String?
        public var rotating: Bool

        public init(keyID: String, targetKeyID: String?, rotating: Bool) {
            self.keyID = keyID
            self.targetKeyID = targetKeyID
            self.rotating = rotating
        }
    }

    /// The recorded encryption state (nil: nothing was ever sealed in this file).
    public func encryptionState() throws -> EncryptionState? {
        try pool.read { db in try Self.encryptionState(db) }
    }

    static func encryptionState(_ db: Database) throws -> EncryptionState? {
        guard let row = try Row.fetchOne(db, sql: "SELECT key_id, target_key_id, rotating FROM encryption_state WHERE id = 1") else {
            return nil
        }
        return EncryptionState(keyID: row[0], targetKeyID: row[1], rotating: (row[2] as Int64) != 0)
    }

    /// What opening a store whose recorded state is `state` with `cipher` must do first.
    public enum EncryptionStep: Sendable, Equatable {
        /// Nothing: the keys fit.
        case none
        /// Record `keyID` as the key sealed values are under (nothing was recorded before).
        case record(keyID: String)
        /// Record that a rotation to `targetKeyID` started (the new key came with the recorded one as previous).
        case startRotation(targetKeyID: String)
    }

    /// Checks `cipher` against the recorded state `state` of a store (the SQLite file, or PostgreSQL's
    /// `engram.encryption_state`), the same way for both engines.
    ///
    /// - No cipher and a recorded key: the store holds sealed values → `EncryptionKeyProblem.missing`.
    /// - A cipher whose current and previous keys are neither the recorded key nor a running
    ///   rotation's target → `EncryptionKeyProblem.mismatch` naming the ids.
    /// - A cipher and nothing recorded: `.record` the current key (earlier plaintext values stay
    ///   readable until `engram keys rotate` seals them).
    /// - A new key with the recorded one as the previous key: `.startRotation` (new values are sealed under
    ///   the new key from now on, so the store records that it holds both).
    public static func encryptionStep(state: EncryptionState?, cipher: AtRestCipher?) throws -> EncryptionStep {
        guard let cipher else {
            if let state { throw EncryptionKeyProblem.missing(keyID: state.keyID) }
            return .none
        }
        guard let state else { return .record(keyID: cipher.current.id) }
        let previous = cipher.previous?.id
        if state.rotating, let target = state.targetKeyID {
            // Values may carry either key until the rotation finishes: both must be held.
            let held: Set = [cipher.current.id, previous ?? cipher.current.id]
            guard held == [state.keyID, target] else {
                throw EncryptionKeyProblem.mismatch(recorded: state.keyID, target: target, held: cipher.current.id)
            }
            return .none
        }
        guard cipher.current.id != state.keyID else { return .none }
        guard previous == state.keyID else {
            throw EncryptionKeyProblem.mismatch(recorded: state.keyID, target: nil, held: cipher.current.id)
        }
        return .startRotation(targetKeyID: cipher.current.id)
    }

    /// Checks `cipher` against the file at open (`encryptionStep`), and records what it says.
    static func checkEncryption(_ db: Database, cipher: AtRestCipher?) throws {
        switch try encryptionStep(state: try encryptionState(db), cipher: cipher) {
        case .none:
            break
        case .record(let keyID):
            try db.execute(
                sql: "INSERT INTO encryption_state (id, key_id, rotating, since) VALUES (1, ?, 0, ?)",
                arguments: [keyID, Date().timeIntervalSince1970]
            )
        case .startRotation(let target):
            try db.execute(
                sql: "UPDATE encryption_state SET rotating = 1, target_key_id = ?, since = ? WHERE id = 1",
                arguments: [target, Date().timeIntervalSince1970]
            )
        }
    }
}

/// The key given at start-up does not fit the file (messages name key ids, never keys).
public enum EncryptionKeyProblem: Error, CustomStringConvertible, Equatable {
    case missing(keyID: String)
    case mismatch(recorded: String, target: String?, held: String)

    public var description: String {
        switch self {
        case .missing(let id):
            return "the data is encrypted (key id \(id)) but ENGRAM_ENCRYPTION_KEY is not set"
        case .mismatch(let recorded, let target, let held):
            let rotation = target.map { ", rotating to key id \($0)" } ?? ""
            return "ENGRAM_ENCRYPTION_KEY (key id \(held)) does not fit the data, sealed under key id \(recorded)\(rotation);"
                + " set the key it was sealed with (during a rotation, the new key and ENGRAM_ENCRYPTION_KEY_PREVIOUS)"
        }
    }
}
