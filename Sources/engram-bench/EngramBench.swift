import ArgumentParser
import Foundation
import Logging

/// `engram-bench`: benchmarks, evaluations and test helpers, kept out of the shipped `engram` binary.
/// Every benchmark prints ratios against a baseline measured in the same run (absolute times drift
/// between machines); use a release build.
@main
struct EngramBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engram-bench",
        abstract: "Engram's benchmarks (use a release build), evaluations and test helpers.",
        subcommands: [
            BenchKernels.self, BenchStore.self, BenchEmbed.self, BenchScan.self, BenchSearch.self, BenchMCP.self, Eval.self,
            Debug.self,
        ]
    )
}

/// Reads a JSON Lines file (uncompressed: pass `<(zcat file.gz)` for a compressed one).
enum JSONLines {
    static func read(_ path: String) throws -> [Data] {
        try Data(contentsOf: URL(fileURLWithPath: path)).split(separator: 0x0A).filter { !$0.isEmpty }.map { Data($0) }
    }
}
