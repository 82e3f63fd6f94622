import EngramClientKit
package import Foundation

/// Opens what an export tool wrote: a zip (OpenMemory's backup: `memories.json`, else
/// `memories.jsonl.gz`, found by file name anywhere in the archive, as OpenMemory's own import does),
/// a gzip file, or plain bytes. Zip members are read with the system `unzip`, gzip with `gzip`
/// (as `engram export`/`import` do).
package enum ImportArchive {
    package static func contents(of path: String) throws -> Data {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ImportFailure(description: "\(path): cannot be read (\(error.localizedDescription))")
        }
        if data.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return try zipMember(path) }
        if data.starts(with: [0x1F, 0x8B]) { return try run(["gzip", "-dc"], input: data, what: "gzip") }
        return data
    }

    /// `memories.json` (or `memories.jsonl.gz`, decompressed) from the zip at `path`.
    package static func zipMember(_ path: String) throws -> Data {
        let listing = String(decoding: try run(["unzip", "-Z1", path], what: "unzip"), as: UTF8.self)
        let names = listing.split(separator: "\n").map(String.init).filter { !$0.hasSuffix("/") }
        func member(_ name: String) -> String? { names.first { ($0 as NSString).lastPathComponent == name } }
        if let json = member("memories.json") { return try run(["unzip", "-p", path, json], what: "unzip") }
        if let lines = member("memories.jsonl.gz") {
            return try run(["gzip", "-dc"], input: try run(["unzip", "-p", path, lines], what: "unzip"), what: "gzip")
        }
        throw ImportFailure(description: "\(path): the zip holds neither memories.json nor memories.jsonl.gz (not an OpenMemory export)")
    }

    /// Runs a tool through `/usr/bin/env` with `input` on its standard input; its standard output.
    package static func run(_ arguments: [String], input: Data? = nil, what: String) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        p.standardOutput = output
        p.standardError = errors
        let stdin = Pipe()
        p.standardInput = input == nil ? FileHandle.nullDevice : stdin
        do { try p.run() } catch { throw ImportFailure(description: "cannot run \(what): \(error.localizedDescription)") }
        if let input {
            let writer = Thread {
                stdin.fileHandleForWriting.write(input)
                try? stdin.fileHandleForWriting.close()
            }
            writer.start()
        }
        let drain = Thread { _ = errors.fileHandleForReading.readDataToEndOfFile() }
        drain.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus == 127 { throw ImportFailure(description: "reading this file needs `\(what)` (apt-get install \(what))") }
        guard p.terminationStatus == 0 else { throw ImportFailure(description: "\(what) failed (exit \(p.terminationStatus))") }
        return data
    }
}
