/// Why `engram migrate` between the metadata engines stopped, as one line (ids, table and column names,
/// never a value, a secret or a password).
struct MetadataMigrationFailure: CommandFailure {
    let description: String

    init(_ description: String) { self.description = description }
}
