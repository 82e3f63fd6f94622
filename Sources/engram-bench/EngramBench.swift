import ArgumentParser
import EngramKernels
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
            BenchKernels.self, BenchStore.self, BenchEmbed.self, BenchScan.self, BenchSearch.self, BenchMCP.self, BenchAtRest.self,
            Eval.self,
            Debug.self,
        ]
    )

    /// Runs the command after capping the kernels' SIMD paths from `ENGRAM_INT8_ISA` / `ENGRAM_SGEMM_ISA`
    /// (0 portable, 1 AVX2, 2 AVX-512), as `engram` does, so every path can be measured on one machine.
    static func main() async {
        let environment = ProcessInfo.processInfo.environment
        KernelDispatch.cap(
            int8Scan: environment["ENGRAM_INT8_ISA"].flatMap(Int.init),
            projections: environment["ENGRAM_SGEMM_ISA"].flatMap(Int.init)
        )
        await main(nil)
    }
}

/// Reads a JSON Lines file (uncompressed: pass `<(zcat file.gz)` for a compressed one).
enum JSONLines {
    static func read(_ path: String) throws -> [Data] {
        try Data(contentsOf: URL(fileURLWithPath: path)).split(separator: 0x0A).filter { !$0.isEmpty }.map { Data($0) }
    }
}
