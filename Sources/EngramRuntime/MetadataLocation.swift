package import EngramConfig
package import EngramPostgres
import Foundation

/// Where the metadata (users, members, credentials, the audit log, memory versions, usage, …) lives.
///
/// The memories themselves (content, vectors) stay in the `--store` (the embedded store in the data
/// directory, or a remote Qdrant) whichever metadata store is chosen.
package enum MetadataLocation: Sendable, Equatable {
    /// The tables in the data directory's SQLite file (the embedded default).
    case sqlite
    /// A PostgreSQL database: `app` is the application role's URL (row-level security binds it), `owner`
    /// the schema owner's (migrations at start-up, backups), when given.
    case postgres(app: PostgresConnectionURL, owner: PostgresConnectionURL?)

    /// Nil on SQLite; on PostgreSQL the owner URL, or an error saying `purpose` needs it.
    package func postgresOwnerIfNeeded(for purpose: String) throws -> PostgresConnectionURL? {
        guard case .postgres = self else { return nil }
        return try requireOwner(for: purpose)
    }

    /// The owner URL, or an error saying which setting to give.
    package func requireOwner(for purpose: String) throws -> PostgresConnectionURL {
        guard case .postgres(_, let owner) = self else { throw EngramConfiguration.Invalid("\(purpose) needs --metadata postgres://…") }
        guard let owner else {
            throw EngramConfiguration.Invalid("\(purpose) needs the schema owner's URL: --metadata-owner postgres://… (env ENGRAM_METADATA_OWNER)")
        }
        return owner
    }
}

extension EngramConfiguration {
    /// The metadata store: `--metadata`, else `ENGRAM_METADATA`, else `sqlite`. A PostgreSQL URL may come with
    /// the owner role's URL (`--metadata-owner`, else `ENGRAM_METADATA_OWNER`) on the same server and database.
    /// Errors never quote a password.
    package func metadataLocation(flag: String?, ownerFlag: String?) throws -> MetadataLocation {
        let spec = (flag ?? self[.metadata] ?? "sqlite").trimmingCharacters(in: .whitespaces)
        let ownerSpec = ownerFlag ?? self[.metadataOwner]
        if spec == "sqlite" {
            if ownerSpec != nil { throw Invalid("--metadata-owner (ENGRAM_METADATA_OWNER) applies to --metadata postgres://… only") }
            return .sqlite
        }
        guard spec.hasPrefix("postgres://") || spec.hasPrefix("postgresql://") else {
            throw Invalid("--metadata (ENGRAM_METADATA) takes sqlite or postgres://user:password@host:port/database")
        }
        let app: PostgresConnectionURL
        do { app = try PostgresConnectionURL(spec) } catch { throw Invalid("--metadata (ENGRAM_METADATA): \(error)") }
        var owner: PostgresConnectionURL?
        if let ownerSpec {
            do { owner = try PostgresConnectionURL(ownerSpec) } catch { throw Invalid("--metadata-owner (ENGRAM_METADATA_OWNER): \(error)") }
            guard let owner, owner.host == app.host, owner.port == app.port, owner.database == app.database else {
                throw Invalid("--metadata-owner must name the same server and database as --metadata")
            }
            guard owner.username != app.username else {
                throw Invalid(
                    "--metadata and --metadata-owner name the same role \(app.username): the application connects as a role that owns nothing"
                )
            }
        }
        return .postgres(app: app, owner: owner)
    }
}
