import Foundation

/// Raw latencies of a benchmark for `eval/plots.py latency` (`--samples-out`): the histograms beside the
/// printed percentiles. `{"bench": …, "unit": "ms", "series": {name: [milliseconds…]}}`.
enum LatencySamples {
    /// Writes `series` (seconds, converted to milliseconds) to `path`, if one was asked for.
    static func write(_ path: String?, bench: String, series: [(String, [Double])]) throws {
        guard let path else { return }
        var object: [String: Any] = ["bench": bench, "unit": "ms"]
        var named: [String: [Double]] = [:]
        for (name, seconds) in series { named[name] = seconds.map { ($0 * 1e6).rounded() / 1e3 } }
        object["series"] = named
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: url, options: .atomic)
        print("latency samples written to \(path)")
    }
}
