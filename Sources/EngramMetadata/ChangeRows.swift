/// One entry of the change feed: something that replicas sharing the metadata store must re-read.
///
/// Every recorded memory version is a change (`kind == .memory`, the key a lowercased memory id, with the
/// version's number, state and content hash, so a replica that already holds that version skips the
/// re-read); on PostgreSQL an organisation's settings changing is one too (`kind == .organisation`).
/// `seq` grows with every change but may have gaps (a transaction that rolled back, or one not committed
/// yet when a later one was read); `ChangeCursor` in the domain handles both.
public struct ChangeRow: Sendable, Hashable {
    /// What changed.
    public enum Kind: String, Sendable, Hashable {
        case memory
        case organisation = "org"
    }

    /// Position in the feed.
    public var seq: Int64
    public var kind: Kind
    /// A lowercased memory id, or an organisation id.
    public var key: String
    /// The memory version recorded (memory changes only).
    public var version: Int?
    /// The state of that version (`deleted` for a deletion).
    public var state: String?
    /// The content hash of that version.
    public var contentHash: String?
    /// When it was recorded (seconds since 1970, the database's clock; 0 where the engine has no clock).
    public var at: Double

    public init(seq: Int64, kind: Kind, key: String, version: Int?, state: String?, contentHash: String?, at: Double) {
        self.seq = seq
        self.kind = kind
        self.key = key
        self.version = version
        self.state = state
        self.contentHash = contentHash
        self.at = at
    }
}
