import ArgumentParser
import EngramSecrets
import Foundation

/// `engram scan`: reads text on stdin; exit 0 when clean, 1 when it holds a secret
/// (rule ids and spans are printed, never the secret).
struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check text on stdin for secrets (exit 1 if any).")

    func run() throws {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        let (code, output) = SecretScanCLI.run(input: String(decoding: data, as: UTF8.self))
        if !output.isEmpty { print(output, terminator: output.hasSuffix("\n") ? "" : "\n") }
        throw ExitCode(code)
    }
}
