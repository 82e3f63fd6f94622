import XCTest

@testable import EngramSearch

final class BM25IndexTests: XCTestCase {
    /// Three documents, hand-computed with k1 = 1.2, b = 0.75 (N = 3, avgdl = 8/3):
    /// idf(appl) = ln(1 + 1.5/2.5) = 0.4700036;
    /// doc 1 (tf 1, dl 2): 0.4700036 · 2.2 / (1 + 1.2 · (0.25 + 0.75 · 2 / (8/3))) = 0.5235483
    /// doc 2 (tf 2, dl 3): 0.4700036 · 4.4 / (2 + 1.2 · (0.25 + 0.75 · 3 / (8/3))) = 0.6243067
    func makeIndex() -> BM25Index {
        let index = BM25Index(k1: 1.2, b: 0.75)
        index.upsert(id: 1, text: "apple banana")
        index.upsert(id: 2, text: "apple apple cherry")
        index.upsert(id: 3, text: "banana cherry durian")
        return index
    }

    func testScoresMatchHandComputation() {
        let hits = makeIndex().search("apples", limit: 10)
        XCTAssertEqual(hits.map(\.id), [2, 1])
        XCTAssertEqual(hits[0].score, 0.6243067, accuracy: 1e-6)
        XCTAssertEqual(hits[1].score, 0.5235483, accuracy: 1e-6)
        // A rare term outweighs a common one: idf(durian) = ln(1 + 2.5/1.5).
        let rare = makeIndex().search("durian", limit: 1)
        XCTAssertEqual(rare.first?.id, 3)
        XCTAssertEqual(rare.first?.score ?? 0, 0.9331132, accuracy: 1e-6)
    }

    func testSumsOverDistinctQueryTerms() {
        let index = makeIndex()
        let both = index.scores("apple durian")
        let apple = index.scores("apple")
        let durian = index.scores("durian")
        XCTAssertEqual(both[3] ?? 0, durian[3] ?? -1, accuracy: 1e-12)
        XCTAssertEqual(both[2] ?? 0, apple[2] ?? -1, accuracy: 1e-12)
        // Repeating a query term does not count it twice.
        XCTAssertEqual(index.scores("apple apple")[2] ?? 0, apple[2] ?? -1, accuracy: 1e-12)
    }

    func testLimitAcceptAndTies() {
        let index = BM25Index()
        for id in [5, 3, 9, 1] as [Int64] { index.upsert(id: id, text: "same words here") }
        XCTAssertEqual(index.search("words", limit: 10).map(\.id), [1, 3, 5, 9])
        XCTAssertEqual(index.search("words", limit: 2).map(\.id), [1, 3])
        XCTAssertEqual(index.search("words", limit: 2) { $0 != 1 }.map(\.id), [3, 5])
        XCTAssertEqual(index.search("nothing matches", limit: 5).count, 0)
        XCTAssertEqual(index.search("words", limit: 0).count, 0)
    }

    /// When `accept` rejects most of the best documents, search still finds the accepted ones.
    func testSelectiveAcceptFallsBackToFullRanking() {
        let index = BM25Index()
        for id in 0..<200 as Range<Int64> { index.upsert(id: id, text: id % 2 == 0 ? "alpha beta" : "alpha") }
        // Even ids match both terms and rank first; accept only odd multiples of 5.
        let hits = index.search("alpha beta", limit: 3) { $0 % 10 == 5 }
        XCTAssertEqual(hits.map(\.id), [5, 15, 25])
        XCTAssertEqual(index.search("alpha beta", limit: 3).map(\.id), [0, 2, 4])
        XCTAssertEqual(index.search("alpha beta", limit: 500) { $0 % 10 == 5 }.count, 20)
    }

    func testUpdatesAndRemovals() {
        let index = makeIndex()
        index.upsert(id: 2, text: "durian fruit")  // replaces doc 2
        XCTAssertEqual(index.count, 3)
        XCTAssertEqual(index.search("apple", limit: 10).map(\.id), [1])
        XCTAssertEqual(Set(index.search("durian", limit: 10).map(\.id)), [2, 3])
        index.remove(id: 1)
        index.remove(id: 42)  // absent: no-op
        XCTAssertEqual(index.count, 2)
        XCTAssertEqual(index.search("apple", limit: 10).count, 0)
        index.upsert(id: 7, text: "apple pie")  // a new slot; the removed ones are dead until compaction
        XCTAssertEqual(index.search("apple", limit: 10).map(\.id), [7])
        // Statistics follow: one apple document of three (idf = ln(1 + 2.5/1.5)); lengths 2, 3, 2 (avgdl 7/3).
        let expected = log(1 + 2.5 / 1.5) * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 2 / (7.0 / 3.0)))
        XCTAssertEqual(index.search("apple", limit: 1)[0].score, expected, accuracy: 1e-9)
    }

    /// Search agrees with a naive scorer on random documents.
    func testAgreesWithNaiveScoring() {
        var rng = SplitMix(seed: 7)
        let vocabulary = (0..<60).map { "word\($0)x" }
        let index = BM25Index(k1: 1.5, b: 0.75)
        var docs: [Int64: [String]] = [:]
        for id in 0..<400 as Range<Int64> {
            let words = (0..<Int(rng.next() % 12 + 1)).map { _ in vocabulary[Int(rng.next() % 60)] }
            docs[id] = words
            index.upsert(id: id, text: words.joined(separator: " "))
        }
        for id in stride(from: 0, to: 400, by: 7) as StrideTo<Int64> {
            docs[id] = nil
            index.remove(id: id)
        }
        let tokenizer = TextTokenizer()
        let terms = docs.mapValues { $0.flatMap(tokenizer.terms) }
        let n = Double(terms.count)
        let avgdl = Double(terms.values.reduce(0) { $0 + $1.count }) / n
        // One- to three-word queries: short and long posting lists, shared documents.
        for round in 0..<30 {
            let query = (0..<(1 + round % 3)).map { _ in vocabulary[Int(rng.next() % 60)] }.joined(separator: " ")
            var naive: [Int64: Double] = [:]
            for t in Set(tokenizer.terms(query)) {
                let df = Double(terms.values.filter { $0.contains(t) }.count)
                guard df > 0 else { continue }
                let idf = log(1 + (n - df + 0.5) / (df + 0.5))
                for (id, ts) in terms {
                    let tf = Double(ts.filter { $0 == t }.count)
                    guard tf > 0 else { continue }
                    naive[id, default: 0] += idf * tf * 2.5 / (tf + 1.5 * (0.25 + 0.75 * Double(ts.count) / avgdl))
                }
            }
            let expected = naive.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(15)
            let got = index.search(query, limit: 15)
            XCTAssertEqual(got.map(\.id), expected.map(\.key), query)
            for (g, e) in zip(got, expected) { XCTAssertEqual(g.score, e.value, accuracy: 1e-9) }
            // The exhaustive reference too, and every score it reports, not only the top.
            let exhaustive = index.exhaustiveSearch(query, limit: 15)
            XCTAssertEqual(exhaustive.map(\.id), expected.map(\.key), query)
            let all = index.scores(query)
            XCTAssertEqual(Set(all.keys), Set(naive.keys), query)
            for (id, score) in naive { XCTAssertEqual(all[id] ?? -1, score, accuracy: 1e-9) }
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
