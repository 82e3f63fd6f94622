/// The tenants one metadata transaction may touch, and who acts in it.
///
/// Tenant keys are those of `Memory.tenant`: `org:<id>` and `user:<id>`. Every domain call states the
/// scope it acts in (from the principal, or the org and user an operator command works on). SQLite
/// carries the scope without enforcing it; PostgreSQL writes it into `app.current_tenant` and
/// `app.current_user`, which the row-level security policies read.
public struct TenantScope: Sendable, Hashable, CustomStringConvertible {
    /// `org:<id>` and `user:<id>` keys, without duplicates, in the order given.
    public let tenants: [String]
    /// The acting user (nil for operator commands acting on an org).
    public let userId: String?

    /// A scope of exactly `tenants` (duplicates dropped), acting as `userId`.
    public init(tenants: [String], userId: String?) {
        var unique: [String] = []
        for key in tenants where !unique.contains(key) { unique.append(key) }
        self.tenants = unique
        self.userId = userId
    }

    /// A user acting for themselves and, when given, in one org: `user:<id>` and `org:<org>`.
    public static func user(_ id: String, org: String? = nil) -> TenantScope {
        TenantScope(tenants: ["user:\(id)"] + (org.map { ["org:\($0)"] } ?? []), userId: id)
    }

    /// An org, acted on by `actor` when one is known (operator commands have none).
    public static func org(_ id: String, actor: String? = nil) -> TenantScope {
        TenantScope(tenants: ["org:\(id)"] + (actor.map { ["user:\($0)"] } ?? []), userId: actor)
    }

    /// An org and/or a user (either may be absent), acting as that user.
    public init(org: String?, user: String?) {
        self.init(tenants: (org.map { ["org:\($0)"] } ?? []) + (user.map { ["user:\($0)"] } ?? []), userId: user)
    }

    /// The org of a tenant-owned row when it has one, else the user's own tenant.
    public static func tenant(org: String?, user: String) -> TenantScope {
        org.map { .org($0, actor: user) } ?? .user(user)
    }

    /// The org ids among the keys.
    public var orgIds: [String] { tenants.compactMap { $0.hasPrefix("org:") ? String($0.dropFirst(4)) : nil } }

    public var description: String { "[\(tenants.joined(separator: ","))] as \(userId ?? "nobody")" }
}

/// Whether a transaction only reads (PostgreSQL opens it `READ ONLY`; SQLite uses a reader).
public enum MetadataAccess: Sendable, Hashable {
    case read
    case write
}

/// Which engine holds the metadata.
public enum MetadataEngine: String, Sendable, Hashable {
    case sqlite
    case postgres
}
