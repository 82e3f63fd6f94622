import Foundation
import Testing

@testable import EngramSearch

/// `BM25Index.search` skips the postings of common terms once the rarer terms decide the result;
/// these tests hold it to the exhaustive ranking, to the bit, and check that the skipping happens.
@Suite struct BM25PruningTests {
    /// Ids and scores of two rankings, compared exactly (scores by bit pattern).
    static func same(_ a: [(id: Int64, score: Double)], _ b: [(id: Int64, score: Double)]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.id == $1.id && $0.score.bitPattern == $1.score.bitPattern }
    }

    /// A Zipf-distributed vocabulary: a few words in most documents, most words in few (as in prose).
    struct Zipf {
        let words: [String]
        let cumulative: [Double]

        init(size: Int) {
            words = (0..<size).map { "term\($0)q" }
            var total = 0.0
            cumulative = (0..<size).map { i in
                total += 1 / Double(i + 1)
                return total
            }
        }

        func draw(_ rng: inout SplitMix) -> String {
            let x = Double(rng.next() % 1_000_000) / 1_000_000 * cumulative[cumulative.count - 1]
            var low = 0
            var high = cumulative.count - 1
            while low < high {
                let middle = (low + high) / 2
                if cumulative[middle] < x { low = middle + 1 } else { high = middle }
            }
            return words[low]
        }

        func text(_ words: Int, _ rng: inout SplitMix) -> String {
            (0..<words).map { _ in draw(&rng) }.joined(separator: " ")
        }
    }

    @Test func equalsTheExhaustiveRankingOnRandomCorporaWithUpdatesAndFilters() {
        var rng = SplitMix(seed: 41)
        let zipf = Zipf(size: 3000)
        let index = BM25Index()
        for id in 0..<6000 as Range<Int64> { index.upsert(id: id, text: zipf.text(4 + Int(rng.next() % 20), &rng)) }
        var matching = 0
        var scored = 0
        var asked = 0
        for round in 0..<400 {
            // Replacements and removals between searches: dead postings, loose bounds, compactions.
            for _ in 0..<(round % 4 == 0 ? 40 : 0) {
                let id = Int64(rng.next() % 6000)
                if rng.next() % 3 == 0 {
                    index.remove(id: id)
                } else {
                    index.upsert(id: id, text: zipf.text(1 + Int(rng.next() % 12), &rng))
                }
            }
            let query = zipf.text(2 + round % 5, &rng)
            let limit = [1, 10, 50][round % 3]
            let modulus = Int64([1, 2, 7][round % 3 == 0 ? 0 : Int(rng.next() % 3)])
            let accept: (Int64) -> Bool = { $0 % modulus == 0 }
            var statistics = BM25Index.SearchStatistics()
            let got = index.search(query, limit: limit, accept: accept, statistics: &statistics)
            let expected = index.exhaustiveSearch(query, limit: limit, accept: accept)
            #expect(Self.same(got, expected), "\(query) limit \(limit) every \(modulus)")
            matching += index.scores(query).count
            scored += statistics.scored
            asked += 1
        }
        #expect(index.idOfSlot.count == index.count + index.deadSlots)
        // The comparison above means something only if most matching documents are never scored.
        #expect(scored * 2 < matching, "scored \(scored) of \(matching) matching documents in \(asked) searches")
    }

    /// Exact ties (same terms, same length) are ordered by id, across a compaction too.
    @Test func keepsTiesInIdOrder() {
        let index = BM25Index()
        for id in (0..<300 as Range<Int64>).reversed() {
            index.upsert(id: id, text: id % 3 == 0 ? "rarealpha common filler" : "common filler words here")
        }
        for id in stride(from: 1, to: 300, by: 3) as StrideTo<Int64> { index.upsert(id: id, text: "common filler words there") }
        let query = "rarealpha common"
        let expected = index.exhaustiveSearch(query, limit: 10)
        #expect(Self.same(index.search(query, limit: 10), expected))
        #expect(expected.map(\.id) == Array(stride(from: 0, to: 30, by: 3)))
        // Past the rare term's documents, the common term's ties follow in id order.
        let deep = index.search(query, limit: 120)
        #expect(Self.same(deep, index.exhaustiveSearch(query, limit: 120)))
        #expect(deep.dropFirst(100).map(\.id) == [1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17, 19, 20, 22, 23, 25, 26, 28, 29])
    }

    /// A document removed or replaced is never returned for its old text, before and after compaction.
    @Test func removedDocumentsStayGone() {
        let index = BM25Index()
        for id in 0..<100 as Range<Int64> { index.upsert(id: id, text: "shared words alpha\(id)x") }
        index.remove(id: 5)
        index.upsert(id: 6, text: "unrelated text")
        #expect(index.search("alpha5x", limit: 5).isEmpty)
        #expect(index.search("alpha6x", limit: 5).isEmpty)
        #expect(index.search("unrelated", limit: 5).map(\.id) == [6])
        #expect(index.deadSlots == 2)
        for id in 10..<90 as Range<Int64> { index.remove(id: id) }
        // 64 dead slots compacted the lists once; the last 18 removals wait for the next compaction.
        #expect(index.count == 19 && index.deadSlots == 18 && index.idOfSlot.count == 37)
        #expect(Self.same(index.search("shared words", limit: 50), index.exhaustiveSearch("shared words", limit: 50)))
        #expect(index.search("shared words", limit: 50).count == 18)
        #expect(index.search("unrelated", limit: 5).map(\.id) == [6])
    }

    /// A term repeated 300 times (past the one-byte frequency) keeps its exact frequency.
    @Test func largeFrequenciesAreExact() {
        let index = BM25Index()
        index.upsert(id: 1, text: Array(repeating: "echo", count: 300).joined(separator: " ") + " tail")
        index.upsert(id: 2, text: "echo ping tail")
        index.upsert(id: 3, text: "alpha beta")
        let hits = index.search("echo", limit: 2)
        #expect(Self.same(hits, index.exhaustiveSearch("echo", limit: 2)))
        // idf = ln(1 + 1.5/2.5); lengths 301 and 3 (avgdl 306/3 = 102).
        let idf = log(1 + 1.5 / 2.5)
        let expected = idf * 2.2 * 300 / (300 + 1.2 * (0.25 + 0.75 * 301 / 102))
        #expect(hits.first?.id == 1)
        #expect(abs((hits.first?.score ?? 0) - expected) < 1e-12)
    }

    /// The LoCoMo conversations (the team's retrieval corpus): every dialogue turn a document, every
    /// question a query, at the depths search uses.
    @Test func equalsTheExhaustiveRankingOnLoCoMo() throws {
        let directory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("../shared/eval/retrieval/data/locomo10_v2").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.count == 10, "LoCoMo conversations in \(directory.path)")
        let all = BM25Index()
        var questions: [String] = []
        var nextID: Int64 = 0
        for file in files {
            let data = try Data(contentsOf: directory.appendingPathComponent(file))
            let conversation = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            for (key, value) in conversation where key.hasPrefix("session_") {
                guard let turns = value as? [[String: Any]] else { continue }
                for turn in turns {
                    guard let text = turn["text"] as? String else { continue }
                    all.upsert(id: nextID, text: text)
                    nextID += 1
                }
            }
            for qa in conversation["qa"] as? [[String: Any]] ?? [] {
                if let q = qa["question"] as? String { questions.append(q) }
            }
        }
        #expect(all.count > 5000 && questions.count > 1500, "\(all.count) turns, \(questions.count) questions")
        var matching = 0
        var scored = 0
        var asked = 0
        for (n, question) in questions.enumerated() {
            for limit in [10, 50] {
                let accept: (Int64) -> Bool = n % 4 == 0 ? { $0 % 3 != 0 } : { _ in true }
                var statistics = BM25Index.SearchStatistics()
                let got = all.search(question, limit: limit, accept: accept, statistics: &statistics)
                #expect(Self.same(got, all.exhaustiveSearch(question, limit: limit, accept: accept)), "\(question) limit \(limit)")
                matching += all.scores(question).count
                scored += statistics.scored
                asked += 1
            }
        }
        // Two- to five-term questions over short turns: fewer lists to skip than in the random corpus.
        #expect(scored * 4 < matching * 3, "scored \(scored) of \(matching) matching documents")
        print("LoCoMo: \(all.count) turns, \(asked) searches, \(scored) of \(matching) matching documents scored in full")
    }
}
