/// A memory version recorded before its vector-store write: the outbox of one write.
///
/// A memory write records its version (with its outbox row, in one transaction) first, then writes the
/// vector store, then settles the row. A row that stays (the writer crashed, or the store refused) is
/// finished by a reconciler from the memory's latest recorded version, so what the ledger announces
/// reaches the store, and the change feed never announces a version that will not.
public struct OutboxRow: Sendable, Hashable {
    /// A lowercased memory id.
    public var memoryId: String
    /// The version whose store write is pending.
    public var version: Int
    /// The memory's tenant (`org:…` or `user:…`).
    public var tenant: String
    /// When it was written (seconds since 1970; PostgreSQL uses its own clock).
    public var at: Double

    public init(memoryId: String, version: Int, tenant: String, at: Double) {
        self.memoryId = memoryId
        self.version = version
        self.tenant = tenant
        self.at = at
    }
}

/// A settled store write: every outbox row of the memory up to this version is done.
public struct OutboxKey: Sendable, Hashable {
    public var memoryId: String
    public var version: Int

    public init(memoryId: String, version: Int) {
        self.memoryId = memoryId
        self.version = version
    }
}

/// How many store writes are pending, and since when.
public struct OutboxDepth: Sendable, Hashable {
    /// Outbox rows not settled.
    public var pending: Int
    /// When the oldest of them was written (nil when none is pending).
    public var oldestAt: Double?

    public init(pending: Int, oldestAt: Double?) {
        self.pending = pending
        self.oldestAt = oldestAt
    }
}
