package import ArgumentParser
package import EngramConfig
package import Foundation

/// Options shared by every command that touches the store.
package struct StoreOptions: ParsableArguments {
    package init() {}

    @Option(name: .long, help: "Data directory (env ENGRAM_DATA_DIR; default ./data).")
    package var dataDir: String?

    @Option(
        name: .long,
        help: "Metadata store: sqlite (default: the data directory's file) or postgres://app-role@host/db (env ENGRAM_METADATA)."
    )
    package var metadata: String?

    @Option(
        name: .long,
        help: "PostgreSQL URL of the schema owner role: migrations run with it at start-up, backups dump with it (env ENGRAM_METADATA_OWNER)."
    )
    package var metadataOwner: String?

    package var dataDirectory: URL {
        EngramConfiguration().dataDirectory(flag: dataDir)
    }

    /// Where users, members, the audit log and the memory versions live (`--metadata`, else `ENGRAM_METADATA`).
    package func metadataLocation(_ configuration: EngramConfiguration = EngramConfiguration()) throws -> MetadataLocation {
        try configuration.metadataLocation(flag: metadata, ownerFlag: metadataOwner)
    }
}
