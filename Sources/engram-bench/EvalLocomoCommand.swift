import ArgumentParser
import EngramAuth
import EngramCore
import EngramEmbedding
import EngramKernels
import EngramMemory
import EngramMemoryModel
import EngramSearch
import EngramSecrets
import EngramStore
import EngramStoreModel
import Foundation
import Logging

/// The external hook of `eval_locomo.py --method external`: every memory goes through
/// `MemoryService.add` (secret filter, exact and near-duplicate handling, embedding,
/// durable write) as its conversation's user, every query through `MemoryService.search`.
///
/// Reads `{"id","user","text",…}` memories and `{"id","user","text","k"}` queries (JSONL),
/// writes `{"id": <query id>, "ranked": [<memory id>, …]}` (JSONL, best first).
struct EvalLocomo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "locomo",
        abstract: "Feed a LoCoMo memories/queries dump through MemoryService and write the rankings."
    )

    @Option(help: "Memories JSONL ({\"id\",\"user\",\"text\"}).")
    var memories: String
    @Option(help: "Queries JSONL ({\"id\",\"user\",\"text\",\"k\"}).")
    var queries: String
    @Option(help: "Where to write the rankings (JSONL {\"id\",\"ranked\"}).")
    var out: String
    @Option(help: "Store directory (default: a fresh temporary directory, removed afterwards).")
    var dataDir: String?
    @Option(help: "Also write vector-only rankings here (exact cosine over the same store: the MiniLM baseline).")
    var vectorOut: String?
    @Option(help: "Concurrent users while adding and searching.")
    var jobs: Int = 2
    @Option(help: "Write run statistics (timings, add outcomes, secret-filter rule ids) as JSON here.")
    var statsOut: String?
    @Option(help: "Fusion weighting of the main run: adaptive, adaptive:BASE,SEMANTIC_GAIN,LEXICAL_GAIN,LOWER,UPPER or fixed:W.")
    var weighting: String = "adaptive"
    @Option(help: "Also run every query with another weighting and write its rankings: SPEC=PATH (repeatable).")
    var variant: [String] = []
    @Option(help: "Write every query's fusion candidates (vector and BM25 lists with both scores) as JSONL here.")
    var candidatesOut: String?

    /// `adaptive`, `adaptive:b,sg,lg,lo,hi` or `fixed:w`.
    static func parseWeighting(_ spec: String) throws -> RankFusion.Weighting {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        let numbers = parts.count > 1 ? parts[1].split(separator: ",").compactMap { Double($0) } : []
        switch parts[0] {
        case "fixed" where numbers.count == 1:
            return .fixed(numbers[0])
        case "adaptive" where parts.count == 1:
            return .default
        case "adaptive" where numbers.count == 5:
            return .adaptive(
                RankFusion.Adaptive(
                    base: numbers[0],
                    semanticGain: numbers[1],
                    lexicalGain: numbers[2],
                    lower: numbers[3],
                    upper: numbers[4]
                )
            )
        default:
            throw ValidationError("weighting '\(spec)': expected adaptive, adaptive:b,sg,lg,lo,hi or fixed:w")
        }
    }

    struct EvalMemory: Decodable {
        var id: String
        var user: String
        var text: String
    }
    struct EvalQuery: Decodable {
        var id: String
        var user: String
        var text: String
        var k: Int?
    }
    struct Ranking: Encodable {
        var id: String
        var ranked: [String]
    }

    /// What happened to one memory on `add`.
    enum AddOutcome: Sendable {
        case stored(UUID, AddStatus)
        case secret([String])
        case failed(String)
    }

    func run() async throws {
        BLASRuntime.configureSingleThreaded()  // as `engram serve`: one BLAS thread per call
        var logger = Logger(label: "engram.eval")
        logger.logLevel = .warning
        let mems = try Self.readJSONL(memories, as: EvalMemory.self)
        let qs = try Self.readJSONL(queries, as: EvalQuery.self)
        Self.say("eval locomo: \(mems.count) memories, \(qs.count) queries")

        let directory: URL
        let temporary = dataDir == nil
        if let dataDir {
            directory = URL(fileURLWithPath: dataDir)
        } else {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("engram-eval-\(UUID().uuidString)")
        }
        defer { if temporary { try? FileManager.default.removeItem(at: directory) } }

        let modelDir = ProcessInfo.processInfo.environment["ENGRAM_MODEL_DIR"] ?? "models/all-MiniLM-L6-v2"
        var embedder: (any Embedder)?
        do {
            embedder = try MiniLMEmbedder(modelDirectory: URL(fileURLWithPath: modelDir))
        } catch {
            Self.say(
                """
                ********************************************************************
                WARNING: no embedding model (\(error)).
                Falling back to BM25-only search: these figures are NOT hybrid search.
                Set ENGRAM_MODEL_DIR or run `make model`.
                ********************************************************************
                """
            )
        }
        if vectorOut != nil && embedder == nil { throw ValidationError("--vector-out needs the embedding model") }

        let store = try EmbeddedStore(directory: directory, logger: logger)
        let service = try await MemoryService(store: store, embedder: embedder, logger: logger)

        // Adds: one user's memories in input order (duplicates depend on order), users concurrently.
        var byUser: [String: [Int]] = [:]
        var userOrder: [String] = []
        for (i, m) in mems.enumerated() {
            if byUser[m.user] == nil { userOrder.append(m.user) }
            byUser[m.user, default: []].append(i)
        }
        let userMemories = byUser
        let addStart = Date()
        var outcomes = [AddOutcome?](repeating: nil, count: mems.count)
        let progress = Progress(total: mems.count, label: "add")
        try await forEachConcurrently(userOrder, jobs: jobs) { user -> [(Int, AddOutcome)] in
            let principal = Principal(userId: user, orgId: nil, role: .member)
            var done: [(Int, AddOutcome)] = []
            for i in userMemories[user] ?? [] {
                let outcome: AddOutcome
                do {
                    let r = try await service.add(principal, NewMemory(content: mems[i].text, scope: .personal, kind: .fact))
                    outcome = .stored(r.memory.id, r.status)
                } catch let MemoryError.secretDetected(findings) {
                    outcome = .secret(Array(Set(findings.map(\.ruleID))).sorted())
                } catch let e as MemoryError {
                    outcome = .failed(e.code)
                }
                done.append((i, outcome))
                await progress.tick()
            }
            return done
        } collect: { results in
            for (i, o) in results { outcomes[i] = o }
        }
        let addSeconds = Date().timeIntervalSince(addStart)

        // eval id → memory, memory → every eval id that landed on it (duplicates, near-duplicate updates).
        var evalIDs: [UUID: [String]] = [:]
        var status: [String: Int] = [:]
        var secretRules: [String: Int] = [:]
        var secretCount = 0
        for (i, o) in outcomes.enumerated() {
            switch o {
            case let .stored(id, s)?:
                evalIDs[id, default: []].append(mems[i].id)
                status[s.rawValue, default: 0] += 1
            case let .secret(rules)?:
                secretCount += 1
                for r in rules { secretRules[r, default: 0] += 1 }
            case let .failed(code)?:
                status["failed:" + code, default: 0] += 1
            case nil:
                status["missing", default: 0] += 1
            }
        }
        Self.say(
            String(
                format: "added %d memories in %.1f s (%.0f adds/s): ",
                mems.count,
                addSeconds,
                Double(mems.count) / max(addSeconds, 1e-9)
            )
                + status.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        )
        Self.say(
            "secret filter rejected \(secretCount) memories"
                + (secretRules.isEmpty
                    ? ""
                    : " (rules: "
                        + secretRules.sorted { $0.key < $1.key }
                        .map { "\($0.key) ×\($0.value)" }.joined(separator: ", ") + ")")
        )

        // Searches.
        var queriesByUser: [String: [Int]] = [:]
        var queryUsers: [String] = []
        for (i, q) in qs.enumerated() {
            if queriesByUser[q.user] == nil { queryUsers.append(q.user) }
            queriesByUser[q.user, default: []].append(i)
        }
        let userQueries = queriesByUser
        let mainWeighting = try Self.parseWeighting(weighting)
        let variants = try variant.map { spec -> (RankFusion.Weighting, String) in
            guard let eq = spec.firstIndex(of: "=") else { throw ValidationError("variant '\(spec)': expected SPEC=PATH") }
            return (try Self.parseWeighting(String(spec[..<eq])), String(spec[spec.index(after: eq)...]))
        }
        let searchStart = Date()
        let hybrid = try await runQueries(qs, users: queryUsers, byUser: userQueries, label: "search") { principal, q, k in
            try await service.search(principal, MemorySearchQuery(query: q, limit: k, weighting: mainWeighting)).map(\.memory.id)
        }
        let searchSeconds = Date().timeIntervalSince(searchStart)
        try Self.write(qs, hybrid, evalIDs: evalIDs, to: out)
        if let candidatesOut {
            try await writeCandidates(service, qs, evalIDs: evalIDs, to: candidatesOut)
        }
        for (w, path) in variants {
            let ranked = try await runQueries(qs, users: queryUsers, byUser: userQueries, label: "search \(w)") { principal, q, k in
                try await service.search(principal, MemorySearchQuery(query: q, limit: k, weighting: w)).map(\.memory.id)
            }
            try Self.write(qs, ranked, evalIDs: evalIDs, to: path)
        }
        if let vectorOut {
            let vector = try await runQueries(qs, users: queryUsers, byUser: userQueries, label: "vector-only search") { principal, q, k in
                try await Self.vectorSearch(service, user: principal.userId, query: q, limit: k)
            }
            try Self.write(qs, vector, evalIDs: evalIDs, to: vectorOut)
        }
        if let statsOut {
            let stats = Stats(
                memories: mems.count,
                queries: qs.count,
                embedder: service.embeddingModel,
                jobs: jobs,
                addSeconds: addSeconds,
                searchSeconds: searchSeconds,
                addStatus: status,
                secretRejected: secretCount,
                secretRules: secretRules
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(stats).write(to: URL(fileURLWithPath: statsOut), options: .atomic)
        }
    }

    /// One query's fusion inputs: `[memory, eval ids, cosine, bm25 or nil]` for every candidate.
    struct CandidateLine: Encodable {
        var id: String
        var floor: Double
        var candidates: [[JSONScalar]]
    }

    enum JSONScalar: Encodable {
        case string(String)
        case number(Double)
        case strings([String])
        case null
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case let .string(s): try c.encode(s)
            case let .number(d): try c.encode(d)
            case let .strings(a): try c.encode(a)
            case .null: try c.encodeNil()
            }
        }
    }

    /// Every query's candidates with both scores (the similarity of lexical-only hits fetched),
    /// so fusion functions can be compared offline on exactly what `search` fuses.
    func writeCandidates(_ service: MemoryService, _ qs: [EvalQuery], evalIDs: [UUID: [String]], to path: String) async throws {
        let encoder = JSONEncoder()
        var data = Data()
        for q in qs {
            let principal = Principal(userId: q.user, orgId: nil, role: .member)
            let c = try await service.searchCandidates(principal, MemorySearchQuery(query: q.text, limit: Self.depth(q)))
            var sims: [UUID: Double] = [:]
            for hit in c.semantic { sims[hit.id] = hit.similarity }
            let missing = c.lexical.map(\.id).filter { sims[$0] == nil }
            if let v = c.queryVector {
                for (id, s) in try await service.similarities(of: missing, to: v, tenants: c.tenants) { sims[id] = s }
            }
            var bm25: [UUID: Double] = [:]
            for hit in c.lexical { bm25[hit.id] = hit.score }
            let ids = Array(Set(sims.keys).union(bm25.keys)).sorted()
            let rows: [[JSONScalar]] = ids.map { id in
                [
                    .string(id.uuidString), .strings(evalIDs[id] ?? []), sims[id].map(JSONScalar.number) ?? .null,
                    bm25[id].map(JSONScalar.number) ?? .null,
                ]
            }
            data.append(try encoder.encode(CandidateLine(id: q.id, floor: c.semanticFloor, candidates: rows)))
            data.append(0x0A)
        }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        Self.say("wrote \(path)")
    }

    struct Stats: Encodable {
        var memories: Int, queries: Int
        var embedder: String
        var jobs: Int
        var addSeconds: Double, searchSeconds: Double
        var addStatus: [String: Int]
        var secretRejected: Int
        var secretRules: [String: Int]
    }

    /// Runs every query as its user (users concurrently), returning the memory ids per query.
    func runQueries(
        _ qs: [EvalQuery],
        users: [String],
        byUser: [String: [Int]],
        label: String,
        _ search: @escaping @Sendable (Principal, String, Int) async throws -> [UUID]
    ) async throws -> [[UUID]] {
        let start = Date()
        var results = [[UUID]](repeating: [], count: qs.count)
        let progress = Progress(total: qs.count, label: label)
        try await forEachConcurrently(users, jobs: jobs) { user -> [(Int, [UUID])] in
            let principal = Principal(userId: user, orgId: nil, role: .member)
            var done: [(Int, [UUID])] = []
            for i in byUser[user] ?? [] {
                done.append((i, try await search(principal, qs[i].text, Self.depth(qs[i]))))
                await progress.tick()
            }
            return done
        } collect: { batch in
            for (i, ids) in batch { results[i] = ids }
        }
        let seconds = Date().timeIntervalSince(start)
        Self.say(
            String(
                format: "%@: %d queries in %.1f s (%.0f searches/s, %.2f ms each incl. query embedding, %d jobs)",
                label,
                qs.count,
                seconds,
                Double(qs.count) / max(seconds, 1e-9),
                1000 * seconds / Double(max(qs.count, 1)),
                jobs
            )
        )
        return results
    }

    /// The query's k, within 1…MemoryLimits.maxSearchLimit.
    static func depth(_ q: EvalQuery) -> Int { min(max(q.k ?? 10, 1), MemoryLimits.maxSearchLimit) }

    /// Writes rankings as eval ids: a memory that several eval ids landed on (exact or near
    /// duplicates) stands for all of them, in input order; each list is cut at the query's k.
    static func write(_ qs: [EvalQuery], _ results: [[UUID]], evalIDs: [UUID: [String]], to path: String) throws {
        let encoder = JSONEncoder()
        var data = Data()
        for (i, q) in qs.enumerated() {
            var seen = Set<String>()
            var ranked: [String] = []
            for id in results[i] {
                for e in evalIDs[id] ?? [] where seen.insert(e).inserted { ranked.append(e) }
            }
            data.append(try encoder.encode(Ranking(id: q.id, ranked: Array(ranked.prefix(depth(q))))))
            data.append(0x0A)
        }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        say("wrote \(path)")
    }

    /// Exact cosine top-`limit` over the user's personal shard (no BM25, no fusion).
    static func vectorSearch(_ service: MemoryService, user: String, query: String, limit: Int) async throws -> [UUID] {
        guard let embedder = service.embedder, let v = try await embedder.embed([query]).first else { return [] }
        let tenant = Memory.tenant(scope: .personal, userId: user, orgId: nil)
        let filter = Filter(must: [.field(FieldCondition(key: "tenant", match: .value(.string(tenant))))])
        let hits = try await service.store.search(service.collection, SearchRequest(vector: v, filter: filter, limit: limit, withPayload: false))
        return hits.compactMap { if case let .uuid(id) = $0.id { return id } else { return nil } }
    }

    /// Runs `body` for every item with at most `jobs` running at once; `collect` sees each result on the caller.
    func forEachConcurrently<R: Sendable>(
        _ items: [String],
        jobs: Int,
        _ body: @escaping @Sendable (String) async throws -> R,
        collect: (R) -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: R.self) { group in
            var next = 0
            for _ in 0..<max(1, min(jobs, items.count)) {
                let item = items[next]
                next += 1
                group.addTask { try await body(item) }
            }
            while let r = try await group.next() {
                collect(r)
                if next < items.count {
                    let item = items[next]
                    next += 1
                    group.addTask { try await body(item) }
                }
            }
        }
    }

    static func readJSONL<T: Decodable>(_ path: String, as: T.Type) throws -> [T] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let decoder = JSONDecoder()
        var out: [T] = []
        for (n, line) in data.split(separator: 0x0A).enumerated() {
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { continue }
            do {
                out.append(try decoder.decode(T.self, from: Data(line)))
            } catch {
                throw ValidationError("\(path): line \(n + 1) is not a valid record (\(error))")
            }
        }
        return out
    }

    static func say(_ s: String) {
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }

    /// Progress lines on stderr every 10 % (rate so far).
    actor Progress {
        let total: Int
        let label: String
        let start = Date()
        var done = 0
        var nextReport: Int

        init(total: Int, label: String) {
            self.total = total
            self.label = label
            nextReport = max(1, total / 10)
        }

        func tick() {
            done += 1
            guard done >= nextReport || done == total else { return }
            nextReport = done + max(1, total / 10)
            let s = Date().timeIntervalSince(start)
            EvalLocomo.say(String(format: "  %@ %d/%d (%.0f/s)", label, done, total, Double(done) / max(s, 1e-9)))
        }
    }
}
