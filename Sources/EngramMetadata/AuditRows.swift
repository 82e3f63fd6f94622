/// One row of `audit_log`: ids, hashes, actions and roles, never memory content.
public struct AuditRow: Sendable, Hashable {
    /// Assigned by the database (ignored when appending).
    public var id: Int64
    /// Seconds since 1970.
    public var at: Double
    public var orgId: String?
    public var actor: String
    public var action: String
    /// Lowercased UUID text.
    public var memoryId: String?
    public var beforeHash: String?
    public var afterHash: String?
    public var detail: String?

    public init(
        id: Int64 = 0,
        at: Double,
        orgId: String?,
        actor: String,
        action: String,
        memoryId: String?,
        beforeHash: String?,
        afterHash: String?,
        detail: String?
    ) {
        self.id = id
        self.at = at
        self.orgId = orgId
        self.actor = actor
        self.action = action
        self.memoryId = memoryId
        self.beforeHash = beforeHash
        self.afterHash = afterHash
        self.detail = detail
    }
}
