/// The tenants a transaction may touch, written into the transaction-local settings that the
/// row-level security policies read:
///
/// - `app.current_tenant`: the tenant keys joined by commas (`org:acme,user:alice`); the policies admit a row
///   when its `tenant` is one of them (`engram.current_tenants()`).
/// - `app.current_user`: the acting user's id (the policies on `members` and `invitations` also show a user
///   their own rows in every org; `engram.current_user_id()`).
///
/// Tenant keys are those of `Memory.tenant`: `org:<id>` or `user:<id>`. The ids are the directory's (letters,
/// digits, `.`, `_`, `-`, `@`); a key with a comma, whitespace or a control character is refused here, since
/// a comma would split one key into two in the setting. The metadata seam's `TenantScope` maps onto this
/// type one to one (`init(principal)` gives `user(id, org:)`; operator commands use `org(_:)`).
public struct PostgresTenantScope: Sendable, Hashable, CustomStringConvertible {
    /// `org:<id>` and `user:<id>` keys, without duplicates, in the order given.
    public let tenants: [String]
    /// The acting user (nil for operator commands acting on an org).
    public let userId: String?

    /// A scope of exactly `tenants`, acting as `userId`.
    public init(tenants: [String], userId: String?) throws {
        var unique: [String] = []
        for key in tenants where !unique.contains(key) {
            guard Self.isValid(key: key) else {
                throw PostgresEngineError.misuse("tenant key \(key.debugDescription) is not org:<id> or user:<id>")
            }
            unique.append(key)
        }
        if let userId, !Self.isValid(id: userId) {
            throw PostgresEngineError.misuse("user id \(userId.debugDescription) is not a directory identifier")
        }
        self.tenants = unique
        self.userId = userId
    }

    /// No tenant and no user: what `PostgresEngine.withGlobal` sets (tenant tables show nothing).
    public static let global = PostgresTenantScope(unchecked: [], userId: nil)

    private init(unchecked tenants: [String], userId: String?) {
        self.tenants = tenants
        self.userId = userId
    }

    /// A user acting for themselves and, when given, in one org: `user:<id>` and `org:<org>`.
    public static func user(_ id: String, org: String? = nil) throws -> PostgresTenantScope {
        try PostgresTenantScope(tenants: ["user:\(id)"] + (org.map { ["org:\($0)"] } ?? []), userId: id)
    }

    /// An org alone, with no acting user (operator commands).
    public static func org(_ id: String) throws -> PostgresTenantScope {
        try PostgresTenantScope(tenants: ["org:\(id)"], userId: nil)
    }

    /// The value of `app.current_tenant`.
    var tenantSetting: String { tenants.joined(separator: ",") }
    /// The value of `app.current_user` (empty: none, which `engram.current_user_id()` reads as NULL).
    var userSetting: String { userId ?? "" }

    public var description: String { "[\(tenantSetting)] as \(userId ?? "nobody")" }

    static func isValid(key: String) -> Bool {
        for prefix in ["org:", "user:"] where key.hasPrefix(prefix) {
            return isValid(id: String(key.dropFirst(prefix.count)))
        }
        return false
    }

    /// 1–64 characters, none a comma, whitespace or control character (the directory allows fewer).
    static func isValid(id: String) -> Bool {
        (1...64).contains(id.count)
            && id.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && $0 != "," && !($0.properties.isWhitespace) }
    }
}
