import EngramConfig

/// Why `engram migrate` between the metadata engines stopped, as one line (ids, table and column names,
/// never a value, a secret or a password).
package struct MetadataMigrationFailure: CommandFailure {
    package let description: String

    package init(_ description: String) { self.description = description }
}
