import ArgumentParser
import EngramBenchKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One running Engram server the benchmark drives: `http://HOST:PORT` (an IPv4 address or localhost).
struct BenchTarget: Sendable, CustomStringConvertible {
    let host: String
    let port: Int

    var description: String { "\(host):\(port)" }

    /// Parses a comma-separated list of `http://HOST:PORT` (a trailing slash is allowed; TLS is not).
    static func parse(_ list: String) throws -> [BenchTarget] {
        let targets = try list.split(separator: ",").map { item -> BenchTarget in
            var s = item.trimmingCharacters(in: .whitespaces)
            if s.hasPrefix("https://") { throw ValidationError("\(s): the benchmark speaks plain HTTP only (loopback)") }
            if s.hasPrefix("http://") { s.removeFirst("http://".count) }
            while s.hasSuffix("/") { s.removeLast() }
            guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (1...65535).contains(port) else {
                throw ValidationError("\(item): expected http://HOST:PORT")
            }
            return BenchTarget(host: String(s[..<colon]), port: port)
        }
        guard !targets.isEmpty else { throw ValidationError("no target in '\(list)'") }
        return targets
    }
}

/// `engram-bench mcp --targets …`: the MCP benchmark against running servers (replicas) instead of an
/// in-process one. Clients are spread round robin over the targets, each client a thread with its own
/// keep-alive connection to one target; requests are `search_memories` plus a fraction of `add_memory`.
extension BenchMCP {
    enum RequestKind: Sendable { case search, write }

    /// One measured configuration's figures (latencies in seconds).
    struct TargetFigures {
        var label: String
        var all: [Double]
        var searches: [Double]
        var writes: [Double]
        var rate: Double
        var errors: Int
    }

    /// The connection a client thread keeps, replaced when the server closes it.
    final class Connection: @unchecked Sendable {  // used by one thread at a time
        let target: BenchTarget
        var client: BenchHTTPClient?
        init(_ target: BenchTarget) throws {
            self.target = target
            client = try BenchHTTPClient(host: target.host, port: target.port)
        }

        func post(_ path: String, body: [UInt8], headers: [(String, String)]) throws -> (status: Int, body: [UInt8]) {
            if client == nil { client = try BenchHTTPClient(host: target.host, port: target.port) }
            do {
                return try client!.post(path, body: body, headers: headers)
            } catch {
                client = nil
                throw error
            }
        }
    }

    /// A run's samples (latency, success, kind) and its first failure (status and the start of the body).
    final class Outcome: @unchecked Sendable {
        let lock = NSLock()
        var samples: [(Double, Bool, RequestKind)] = []
        var firstFailure: String?
    }

    static func label(_ targets: [BenchTarget]) -> String { targets.count == 1 ? "1 replica" : "\(targets.count) replicas" }

    func runAgainstTargets() async throws {
        guard let targetList = targets, let tokenFile else { throw ValidationError("--targets needs --token-file") }
        let measured = try BenchTarget.parse(targetList)
        let baseline = try baselineTargets.map(BenchTarget.parse)
        let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw ValidationError("the token file \(tokenFile) is empty") }
        let headers = [
            ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
            ("Authorization", "Bearer \(token)"),
        ]
        let path = "/mcp/\(user)"
        // Texts differ from run to run, so a second run's writes are new memories, not duplicates.
        let salt = UInt64(Date().timeIntervalSince1970 * 1000) ^ UInt64(getpid())
        if preload > 0 {
            try await preloadMemories(measured, path: path, headers: headers, salt: salt)
            if preloadOnly { return }
        }
        var runs: [TargetFigures] = []
        if let baseline { runs.append(try await measureTargets(baseline, path: path, headers: headers, salt: salt &+ 1)) }
        runs.append(try await measureTargets(measured, path: path, headers: headers, salt: salt &+ 2))
        func ms(_ f: (TargetFigures) -> [Double], _ p: Double) -> [(engine: String, value: Double)] {
            runs.map { ($0.label, Stats.percentile(f($0), p) * 1000) }
        }
        BenchComparison.print("mcp all requests p50", ms(\.all, 50), unit: "ms")
        BenchComparison.print("mcp all requests p99", ms(\.all, 99), unit: "ms")
        BenchComparison.print("mcp search_memories p50", ms(\.searches, 50), unit: "ms")
        BenchComparison.print("mcp search_memories p99", ms(\.searches, 99), unit: "ms")
        if writeFraction > 0 {
            BenchComparison.print("mcp add_memory p50", ms(\.writes, 50), unit: "ms")
            BenchComparison.print("mcp add_memory p99", ms(\.writes, 99), unit: "ms")
        }
        BenchComparison.print("mcp throughput", runs.map { ($0.label, $0.rate) }, unit: "req/s", higherIsBetter: true)
        try LatencySamples.write(
            samplesOut,
            bench: "mcp against running servers, \(clients) clients, write fraction \(writeFraction)",
            series: runs.map { ("\($0.label): all requests", $0.all) }
        )
    }

    /// An `add_memory` request body with a text no other request of the run repeats.
    static func writeBody(id: Int, generator: inout MemoryTextGenerator, corpus: inout SyntheticCorpus) -> [UInt8] {
        let text = "\(generator.next()) Reference words: \(corpus.sentence(words: 14))."
        let body: [String: Any] = [
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": ["name": "add_memory", "arguments": ["content": text, "kind": "fact", "tags": ["bench"]]],
        ]
        return Array(try! JSONSerialization.data(withJSONObject: body))
    }

    static func searchBody(id: Int, query: String) -> [UInt8] {
        let body: [String: Any] = [
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": ["name": "search_memories", "arguments": ["query": query, "limit": 10]],
        ]
        return Array(try! JSONSerialization.data(withJSONObject: body))
    }

    /// Whether a response is a successful tool result (HTTP 200, no JSON-RPC error, not `isError`).
    static func succeeded(_ status: Int, _ body: [UInt8]) -> Bool {
        status == 200 && !body.isEmpty && !BenchHTTPClient.contains(body, Array("\"isError\":true".utf8))
            && !BenchHTTPClient.contains(body, Array("\"error\":".utf8))
    }

    /// Runs `work[c]` on client thread `c` (connected to `targets[c % targets.count]`), back to back or with
    /// think time, and returns every request's latency, success and kind with the wall time.
    func drive(
        _ targets: [BenchTarget],
        work: [[(RequestKind, [UInt8])]],
        path: String,
        headers: [(String, String)]
    ) async throws -> (outcome: Outcome, wall: Double) {
        let connections = try work.indices.map { try Connection(targets[$0 % targets.count]) }
        let outcome = Outcome()
        let group = DispatchGroup()
        let thinkMs = self.thinkMs
        let start = now()
        for (c, requests) in work.enumerated() {
            group.enter()
            let connection = connections[c]
            let thread = Thread {
                var out: [(Double, Bool, RequestKind)] = []
                out.reserveCapacity(requests.count)
                var failure: String?
                var rng = XorShift(seed: UInt64(c + 1))
                for (kind, body) in requests {
                    if thinkMs > 0 {
                        let u = max(1e-9, Double(rng.next() % 1_000_000) / 1_000_000)
                        usleep(UInt32(-log(u) * thinkMs * 1000))
                    }
                    let a = now()
                    var ok = false
                    do {
                        let (status, data) = try connection.post(path, body: body, headers: headers)
                        ok = Self.succeeded(status, data)
                        if !ok, failure == nil {
                            failure = "HTTP \(status) from \(connection.target): " + String(decoding: data.prefix(300), as: UTF8.self)
                        }
                    } catch {
                        if failure == nil { failure = "\(connection.target): \(error)" }
                    }
                    out.append((now() - a, ok, kind))
                }
                outcome.lock.lock()
                outcome.samples += out
                if outcome.firstFailure == nil { outcome.firstFailure = failure }
                outcome.lock.unlock()
                group.leave()
            }
            thread.start()
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in group.notify(queue: .global()) { done.resume() } }
        return (outcome, now() - start)
    }

    /// Adds `preload` memories through `add_memory`, spread over the targets like the measured requests.
    func preloadMemories(_ targets: [BenchTarget], path: String, headers: [(String, String)], salt: UInt64) async throws {
        var generator = MemoryTextGenerator(seed: salt)
        var corpus = SyntheticCorpus(seed: salt ^ 0x5EED)
        var work = [[(RequestKind, [UInt8])]](repeating: [], count: max(1, clients))
        for i in 0..<preload {
            work[i % work.count].append((.write, Self.writeBody(id: i, generator: &generator, corpus: &corpus)))
        }
        let (outcome, wall) = try await drive(targets, work: work, path: path, headers: headers)
        let errors = outcome.samples.filter { !$0.1 }.count
        print(
            String(
                format: "preload: %d add_memory calls succeeded on %d target(s) in %.1f s (%.0f writes/s), errors %d",
                preload - errors,
                targets.count,
                wall,
                Double(preload) / wall,
                errors
            )
        )
        if let failure = outcome.firstFailure { print("first failure: \(failure)") }
    }

    /// One measured run against `targets`: a warm-up, then `clients` x `requests` mixed requests.
    func measureTargets(_ targets: [BenchTarget], path: String, headers: [(String, String)], salt: UInt64) async throws -> TargetFigures {
        let label = Self.label(targets)
        var questions = MemoryTextGenerator(seed: 123)
        var generator = MemoryTextGenerator(seed: salt)
        var corpus = SyntheticCorpus(seed: salt ^ 0x5EED)
        var mix = XorShift(seed: 77)
        var id = 0
        var work: [[(RequestKind, [UInt8])]] = []
        for _ in 0..<clients {
            var requestsOfClient: [(RequestKind, [UInt8])] = []
            for _ in 0..<requests {
                id += 1
                if Double(mix.next() % 1_000_000) / 1_000_000 < writeFraction {
                    requestsOfClient.append((.write, Self.writeBody(id: id, generator: &generator, corpus: &corpus)))
                } else {
                    requestsOfClient.append((.search, Self.searchBody(id: id, query: questions.question())))
                }
            }
            work.append(requestsOfClient)
        }
        // Warm-up: a few searches on every target.
        let warm = targets.map { _ in (0..<5).map { i in (RequestKind.search, Self.searchBody(id: i, query: questions.question())) } }
        _ = try await drive(targets, work: warm, path: path, headers: headers)
        let spread = Dictionary(grouping: (0..<clients).map { targets[$0 % targets.count].description }, by: { $0 })
            .map { "\($0.key) (\($0.value.count))" }.sorted().joined(separator: ", ")
        print("== \(label): \(clients) clients over \(spread)")
        let (outcome, wall) = try await drive(targets, work: work, path: path, headers: headers)
        let samples = outcome.samples
        let figures = TargetFigures(
            label: label,
            all: samples.map(\.0),
            searches: samples.filter { $0.2 == .search }.map(\.0),
            writes: samples.filter { $0.2 == .write }.map(\.0),
            rate: Double(samples.count) / wall,
            errors: samples.filter { !$0.1 }.count
        )
        func line(_ name: String, _ xs: [Double]) -> String {
            guard !xs.isEmpty else { return "\(name): none" }
            return String(
                format: "%@ (%d): p50 %.2f ms, p99 %.2f ms",
                name,
                xs.count,
                Stats.percentile(xs, 50) * 1000,
                Stats.percentile(xs, 99) * 1000
            )
        }
        print(
            String(
                format: "%@, %d clients x %d requests, write fraction %.2f, think %.0f ms: %.0f req/s over %.1f s, errors %d",
                label,
                clients,
                requests,
                writeFraction,
                thinkMs,
                figures.rate,
                wall,
                figures.errors
            )
        )
        print("  " + line("all requests", figures.all))
        print("  " + line("search_memories", figures.searches))
        print("  " + line("add_memory", figures.writes))
        if let failure = outcome.firstFailure { print("  first failure: \(failure)") }
        return figures
    }
}
