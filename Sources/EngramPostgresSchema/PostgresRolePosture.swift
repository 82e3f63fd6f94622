public import EngramPostgres
import PostgresNIO

/// What the application role could do around row-level security, read from the catalogs at start-up.
///
/// Row-level security binds a role only when it is neither a superuser nor BYPASSRLS, does not own the
/// table (owners skip non-forced policies, and can switch FORCE off), and cannot become the owner. So the
/// application refuses to start when its role:
/// - is a superuser, or has BYPASSRLS;
/// - owns the schema `engram` or any table, function or type in it;
/// - is a member of the schema owner's role (it could `SET ROLE` to it, and the owner's policies admit
///   everything);
/// - may CREATE in the schema (it could add an unprotected table or a function the others call).
public struct PostgresRolePosture: Sendable, Equatable {
    /// The role the engine logs in as.
    public var role: String
    public var superuser: Bool
    public var bypassesRowSecurity: Bool
    /// Whether the schema `engram` exists (not yet: the migrations have not run).
    public var schemaExists: Bool
    /// `schema engram`, `table engram.x`, `function engram.f`, … owned by the role.
    public var ownedObjects: [String]
    /// Member of the role that owns the schema (or that role itself).
    public var actsAsSchemaOwner: Bool
    /// Holds CREATE on the schema.
    public var mayCreateInSchema: Bool

    public init(
        role: String,
        superuser: Bool,
        bypassesRowSecurity: Bool,
        schemaExists: Bool,
        ownedObjects: [String],
        actsAsSchemaOwner: Bool,
        mayCreateInSchema: Bool
    ) {
        self.role = role
        self.superuser = superuser
        self.bypassesRowSecurity = bypassesRowSecurity
        self.schemaExists = schemaExists
        self.ownedObjects = ownedObjects
        self.actsAsSchemaOwner = actsAsSchemaOwner
        self.mayCreateInSchema = mayCreateInSchema
    }

    /// Why this role may not serve the application; empty when it may.
    public var problems: [String] {
        var problems: [String] = []
        if superuser { problems.append("role \(role) is a superuser") }
        if bypassesRowSecurity { problems.append("role \(role) has BYPASSRLS") }
        if !schemaExists { problems.append("schema engram does not exist: run the migrations as the owner role first") }
        if !ownedObjects.isEmpty {
            problems.append(
                "role \(role) owns \(ownedObjects.joined(separator: ", ")): the owner runs migrations, the application connects as another role"
            )
        }
        if actsAsSchemaOwner && ownedObjects.isEmpty {
            problems.append("role \(role) is a member of the role that owns schema engram")
        }
        if mayCreateInSchema { problems.append("role \(role) may CREATE in schema engram") }
        return problems
    }

    /// Reads the posture of the role `engine` logs in as.
    public static func read(_ engine: PostgresEngine) async throws -> PostgresRolePosture {
        try await engine.withGlobal { tx in
            let rows = try tx.rows(
                """
                SELECT r.rolname::text, r.rolsuper, r.rolbypassrls, n.oid IS NOT NULL,
                       coalesce(pg_has_role(r.oid, n.nspowner, 'MEMBER'), false),
                       coalesce(has_schema_privilege(r.oid, n.oid, 'CREATE'), false)
                FROM pg_roles r LEFT JOIN pg_namespace n ON n.nspname = 'engram'
                WHERE r.rolname = current_user
                """,
                as: (String, Bool, Bool, Bool, Bool, Bool).self
            )
            guard let (role, superuser, bypass, exists, member, create) = rows.first else {
                throw PostgresEngineError.posture(["the current role is missing from pg_roles"])
            }
            let owned = try tx.column(
                """
                SELECT o.what FROM (
                  SELECT 'schema ' || n.nspname AS what FROM pg_namespace n
                    WHERE n.nspname = 'engram' AND n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                  UNION ALL
                  SELECT 'relation engram.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'engram' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                  UNION ALL
                  SELECT 'function engram.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                    WHERE n.nspname = 'engram' AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                  UNION ALL
                  SELECT 'type engram.' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                    WHERE n.nspname = 'engram' AND t.typowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                      AND t.typrelid = 0 AND t.typcategory <> 'A'
                ) o ORDER BY o.what
                """,
                as: String.self
            )
            return PostgresRolePosture(
                role: role,
                superuser: superuser,
                bypassesRowSecurity: bypass,
                schemaExists: exists,
                ownedObjects: owned,
                actsAsSchemaOwner: member,
                mayCreateInSchema: create
            )
        }
    }

    /// Throws `PostgresEngineError.posture` with every problem unless the role `engine` logs in as may
    /// serve the application.
    @discardableResult
    public static func check(_ engine: PostgresEngine) async throws -> PostgresRolePosture {
        let posture = try await read(engine)
        let problems = posture.problems
        guard problems.isEmpty else { throw PostgresEngineError.posture(problems) }
        return posture
    }
}
