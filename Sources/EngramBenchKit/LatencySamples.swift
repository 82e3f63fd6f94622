import Foundation

/// Raw latencies of a benchmark for `eval/plots.py latency` (`--samples-out`): the histograms beside the
/// printed percentiles. `{"bench": …, "unit": "ms", "series": {name: [milliseconds…]}}`.
package enum LatencySamples {
    /// Writes `series` (seconds, converted to milliseconds) to `path`, if one was asked for.
    package static func write(_ path: String?, bench: String, series: [(String, [Double])]) throws {
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

/// The process's resident memory (Linux `/proc/self/status` VmRSS), in bytes; nil elsewhere.
package enum ResidentMemory {
    /// A `/proc/self/status` figure in bytes: `VmRSS` (all resident memory), `RssAnon` (the process's
    /// own) or `RssFile` (mapped file pages, shared with the page cache).
    package static func bytes(_ field: String = "VmRSS") -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first
            return kilobytes.map { $0 * 1024 }
        }
        return nil
    }

    /// "RSS 123.4 MB", or "RSS unknown".
    package static var text: String { bytes().map { String(format: "RSS %.1f MB", Double($0) / 1e6) } ?? "RSS unknown" }
}
