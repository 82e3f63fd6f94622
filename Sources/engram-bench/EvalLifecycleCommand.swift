import ArgumentParser
import EngramAuth
import EngramCore
import EngramDatabase
import EngramEmbedding
import EngramKernels
import EngramLifecycle
import EngramMemory
import EngramMemoryModel
import EngramStore
import EngramStoreModel
import Foundation
import Logging

/// `engram-bench eval lifecycle`: the lifecycle benchmark of eval/lifecycle (see its README).
///
/// Loads the set into a fresh embedded store as one organisation's published memories, dated the way
/// such facts age (an older statement months old, its replacement weeks old), applies the verdicts
/// (`confirm`: the older fact confirmed helpful, the newer one reported outdated by a teammate) and the
/// pushes (`anchor`), then asks every query twice, with the freshness prior and without it. It reports
/// how often the current fact ranks above the other statement of the pair, and how often a memory whose
/// cited code changed is labelled so (and an unchanged one is not).
struct EvalLifecycle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lifecycle", abstract: "Freshness, supersession and code-change labels.")

    @Option(help: "The set (JSONL, eval/lifecycle/set.jsonl).") var set = "eval/lifecycle/set.jsonl"
    @Option(help: "Write one result line per query (for eval/lifecycle/score.py).") var out: String?
    @Option(help: "Results per query.") var limit = 10
    @Option(help: "Also measure these prior weights (comma-separated), e.g. 0.02,0.08.") var weights: String?

    struct Fact: Decodable {
        var content: String
        var tags: [String]?
        var repo: String?
        var anchors: [Anchor]?
    }

    struct Anchor: Decodable {
        var path: String
        var symbol: String?
        var lines: String?
    }

    struct Push: Decodable {
        var repo: String
        var after: String
        var added: [String]?
        var modified: [String]?
        var removed: [String]?
    }

    struct Item: Decodable {
        var family: String
        var id: String
        var content: String?
        var repo: String?
        var tags: [String]?
        var older: Fact?
        var newer: Fact?
        var memory: Fact?
        var push: Push?
        var changed: Bool?
        var queries: [String]?
        var note: String?
    }

    /// A deterministic number in 0..<1 from a text (ages spread without a random generator).
    static func unit(_ text: String) -> Double {
        var h: UInt64 = 1_469_598_103_934_665_603
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 1_099_511_628_211 }
        return Double(h % 10_000) / 10_000
    }

    func run() async throws {
        BLASRuntime.configureSingleThreaded()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("engram-eval-lifecycle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var logger = Logger(label: "engram.eval")
        logger.logLevel = .warning
        let store = try EmbeddedStore(directory: directory, logger: logger)
        let modelDir = ProcessInfo.processInfo.environment["ENGRAM_MODEL_DIR"] ?? "models/all-MiniLM-L6-v2"
        let embedder = CoalescingEmbedder(try MiniLMEmbedder(modelDirectory: URL(fileURLWithPath: modelDir)))
        let service = try await MemoryService(store: store, embedder: embedder, metadata: store.database, minRelevance: 0, logger: logger)
        let org = "eval"
        let author = Principal(userId: "author", orgId: org, role: .member)
        let reader = Principal(userId: "reader", orgId: org, role: .member)
        let items = try EvalLocomo.readJSONL(set, as: Item.self)
        let now = Date()
        func day(_ d: Double) -> Date { now.addingTimeInterval(-d * 86_400) }
        func memory(_ f: Fact, age: Double) throws -> Memory {
            let anchors = try CodeAnchor.validate(
                (f.anchors ?? []).map { CodeAnchor(path: $0.path, lines: $0.lines.flatMap(CodeAnchor.LineRange.parse), symbol: $0.symbol) }
            )
            return Memory(
                userId: author.userId,
                orgId: org,
                scope: .org,
                state: .published,
                content: f.content,
                tags: f.tags ?? [],
                repo: f.repo,
                createdAt: day(age),
                updatedAt: day(age),
                anchors: anchors
            )
        }
        // Pairs: (item, older id, newer id); anchored memories: (item, id).
        var pairs: [(Item, UUID, UUID)] = []
        var anchored: [(Item, UUID)] = []
        var imports: [MemoryService.ImportItem] = []
        for item in items {
            switch item.family {
            case "supersede", "confirm":
                guard let o = item.older, let n = item.newer else { continue }
                // The older statement is 3 to 13 months old, its replacement 2 days to 2 months.
                let older = try memory(o, age: 90 + 300 * Self.unit(item.id + "o"))
                let newer = try memory(n, age: 2 + 58 * Self.unit(item.id + "n"))
                imports += [.init(memory: older), .init(memory: newer)]
                pairs.append((item, older.id, newer.id))
            case "anchor":
                guard let f = item.memory else { continue }
                let m = try memory(f, age: 10 + 200 * Self.unit(item.id))
                imports.append(.init(memory: m))
                anchored.append((item, m.id))
            default:
                guard let content = item.content else { continue }
                imports.append(.init(memory: try memory(Fact(content: content, tags: item.tags, repo: item.repo), age: 300 * Self.unit(item.id))))
            }
        }
        EvalLocomo.say("importing \(imports.count) memories")
        try await service.importMemories(imports)
        // Verdicts: the older statement confirmed by a teammate, the newer one reported outdated by another.
        for (item, older, newer) in pairs where item.family == "confirm" {
            _ = try await service.rate(Principal(userId: "confirmer", orgId: org, role: .member), id: older, verdict: .helpful)
            _ = try await service.rate(Principal(userId: "reporter", orgId: org, role: .member), id: newer, verdict: .outdated, note: item.note)
        }
        // Pushes.
        for (item, _) in anchored {
            guard let p = item.push else { continue }
            _ = try await service.markCodeChanged(
                orgId: org,
                members: [author.userId],
                repository: RepositoryRef(fullName: p.repo),
                commit: p.after,
                paths: (p.added ?? []) + (p.modified ?? []) + (p.removed ?? [])
            )
        }
        try await service.sweep()  // the ranking reads served counts as of a sweep (none here)

        struct Tally {
            var queries = 0
            var currentFirst = [0, 0]  // with the prior, without
            var top1 = [0, 0]
        }
        var tallies: [String: Tally] = [:]
        var lines: [String] = []
        func ask(_ who: Principal, _ text: String, prior: Bool) async throws -> [MemorySearchHit] {
            var q = MemorySearchQuery(query: text, limit: limit)
            q.freshnessPrior = prior
            q.recordServed = false
            return try await service.search(who, q)
        }
        for (item, older, newer) in pairs {
            let current = item.family == "supersede" ? newer : older
            let other = current == older ? newer : older
            for text in item.queries ?? [] {
                var t = tallies[item.family, default: Tally()]
                t.queries += 1
                for (slot, prior) in [(0, true), (1, false)] {
                    let ids = try await ask(reader, text, prior: prior).map(\.memory.id)
                    let rc = ids.firstIndex(of: current) ?? Int.max
                    let ro = ids.firstIndex(of: other) ?? Int.max
                    if rc < ro { t.currentFirst[slot] += 1 }
                    if rc == 0 { t.top1[slot] += 1 }
                    if slot == 0 {
                        let named = ids.map { $0 == older ? "older" : $0 == newer ? "newer" : "other" }
                        lines.append(
                            jsonLine([
                                "id": .string(item.id), "family": .string(item.family), "query": .string(text),
                                "ranked_ids": .array(named.map { .string($0) }),
                            ])
                        )
                    }
                }
                tallies[item.family] = t
            }
        }
        // Code-change labels: the memory's freshness as its author's search shows it (the org memory went
        // back to review, so teammates do not see it until an admin acts).
        var tp = 0
        var fp = 0
        var fn = 0
        var tn = 0
        var retrieved = 0
        for (item, id) in anchored {
            let m = try service.get(author, id: id)
            let label = Freshness.of(m, usage: service.usage.usage(id), policy: service.policy(of: m))
            let hits = try await ask(author, item.queries?.first ?? m.content, prior: true)
            if let hit = hits.first(where: { $0.memory.id == id }) {
                retrieved += 1
                precondition(hit.freshness == label)
            }
            let says = label.code == "code_changed"
            switch (says, item.changed ?? false) {
            case (true, true): tp += 1
            case (true, false): fp += 1
            case (false, true): fn += 1
            case (false, false): tn += 1
            }
            for text in item.queries ?? [] {
                lines.append(
                    jsonLine([
                        "id": .string(item.id), "family": .string("anchor"), "query": .string(text),
                        "ranked_ids": .array(hits.map { .string($0.memory.id == id ? "memory" : "other") }),
                        "label": .string(says ? "changed" : label.code),
                    ])
                )
            }
        }
        func pct(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : String(format: "%.3f", Double(a) / Double(b)) }
        print("family     queries  current-first (prior / none)  top-1 (prior / none)")
        for family in ["supersede", "confirm"] {
            let t = tallies[family] ?? Tally()
            print(
                family.padding(toLength: 11, withPad: " ", startingAt: 0) + String(t.queries).padding(toLength: 9, withPad: " ", startingAt: 0)
                    + "\(pct(t.currentFirst[0], t.queries)) / \(pct(t.currentFirst[1], t.queries))".padding(toLength: 30, withPad: " ", startingAt: 0)
                    + "\(pct(t.top1[0], t.queries)) / \(pct(t.top1[1], t.queries))"
            )
        }
        print(
            "anchor     memories \(anchored.count): code-changed label precision \(pct(tp, tp + fp)), recall \(pct(tp, tp + fn)); "
                + "unchanged labelled fresh/aging \(pct(tn, tn + fp)); memory retrieved by its query \(pct(retrieved, anchored.count))"
        )
        if let weights {
            for w in weights.split(separator: ",").compactMap({ Double($0) }) {
                var first: [String: (Int, Int)] = [:]
                for (item, older, newer) in pairs {
                    let current = item.family == "supersede" ? newer : older
                    let other = current == older ? newer : older
                    for text in item.queries ?? [] {
                        var q = MemorySearchQuery(query: text, limit: limit)
                        q.priorWeight = w
                        q.recordServed = false
                        let ids = try await service.search(reader, q).map(\.memory.id)
                        let won = (ids.firstIndex(of: current) ?? Int.max) < (ids.firstIndex(of: other) ?? Int.max)
                        let (a, b) = first[item.family] ?? (0, 0)
                        first[item.family] = (a + (won ? 1 : 0), b + 1)
                    }
                }
                print(
                    "prior weight \(w): current-first supersede \(pct(first["supersede"]?.0 ?? 0, first["supersede"]?.1 ?? 0)), "
                        + "confirm \(pct(first["confirm"]?.0 ?? 0, first["confirm"]?.1 ?? 0))"
                )
            }
        }
        if let out { try (lines.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8) }
    }

    func jsonLine(_ o: [String: JSONValue]) -> String { String(decoding: JSONValue.object(o).jsonBytes(), as: UTF8.self) }
}
