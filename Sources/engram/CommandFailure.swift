import EngramDatabase

/// A failure the `engram` command reports as one line, `engram: <description>`, with exit status 1
/// (no usage text, no error type): a refused connection, a server error, a missing model.
protocol CommandFailure: Error, CustomStringConvertible {}

extension Runtime.Failure: CommandFailure {}
extension EngramClient.Failure: CommandFailure {}
extension EncryptionKeyProblem: CommandFailure {}
