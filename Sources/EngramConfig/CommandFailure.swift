/// A failure the `engram` command reports as one line, `engram: <description>`, with exit status 1
/// (no usage text, no error type): a refused connection, a server error, a missing model.
package protocol CommandFailure: Error, CustomStringConvertible {}
