import PostgresNIO

/// Which master key the sealed values in the database are under (`engram.encryption_state`, one row, a
/// global table): the PostgreSQL side of the start-up key check the SQLite file does in
/// `EngramDatabase.checkEncryption`. The decision itself (`EngramDatabase.encryptionStep`) is the same for
/// both engines; this type reads the row and applies the decision in one SERIALIZABLE transaction, so two
/// replicas starting at once cannot record different keys.
public enum PostgresEncryptionState {
    /// The recorded row.
    public struct Recorded: Sendable, Equatable {
        public var keyID: String
        public var targetKeyID: String?
        public var rotating: Bool
    }

    /// What to record after the check.
    public enum Change: Sendable, Equatable {
        /// The first key: values from now on are sealed under it.
        case record(keyID: String)
        /// A rotation to `targetKeyID` started.
        case startRotation(targetKeyID: String)
    }

    /// Reads the recorded state, lets `decide` judge it (throwing refuses the start), and records the
    /// change it returns. Runs as any role with SELECT, INSERT and UPDATE on the table (the application role).
    @discardableResult
    public static func check(
        _ engine: PostgresEngine,
        now: Double,
        decide: @escaping @Sendable (Recorded?) throws -> Change?
    ) async throws -> Recorded? {
        try await engine.withGlobal(readOnly: false) { tx in
            let rows = try tx.rows(
                "SELECT key_id, target_key_id, rotating FROM engram.encryption_state WHERE id = 1",
                as: (String, String?, Bool).self
            )
            let recorded = rows.first.map { Recorded(keyID: $0.0, targetKeyID: $0.1, rotating: $0.2) }
            switch try decide(recorded) {
            case nil:
                return recorded
            case .record(let keyID)?:
                try tx.execute(
                    "INSERT INTO engram.encryption_state (id, key_id, rotating, since) VALUES (1, \(keyID), false, \(now))"
                )
                return Recorded(keyID: keyID, targetKeyID: nil, rotating: false)
            case .startRotation(let target)?:
                try tx.execute(
                    "UPDATE engram.encryption_state SET rotating = true, target_key_id = \(target), since = \(now) WHERE id = 1"
                )
                return Recorded(keyID: recorded?.keyID ?? target, targetKeyID: target, rotating: true)
            }
        }
    }
}
