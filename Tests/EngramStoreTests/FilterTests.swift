import EngramCore
import Foundation
import XCTest

@testable import EngramStore
@testable import EngramStoreModel

/// Filter semantics, table-driven: each filter (as Qdrant JSON) against the ids it must select.
final class FilterTests: XCTestCase {
    static let uuid = PointID.uuid(UUID(uuidString: "5c56c793-69f3-4fbf-87e6-c4bf54c28c26")!)

    static let points: [(PointID, Payload)] = [
        (.number(1), ["city": "London", "n": 1, "tags": ["a", "b"], "meta": ["user_id": "u1"], "t": "2024-01-01T00:00:00Z", "score": 1.5]),
        (.number(2), ["city": "Berlin", "n": 2, "tags": ["b"], "meta": ["user_id": "u2"], "t": "2024-06-01T12:00:00Z", "opt": nil]),
        (.number(3), ["city": "London", "n": 3, "tags": [], "meta": ["user_id": "u1"], "t": "2025-01-01T00:00:00+02:00"]),
        (.number(4), ["n": 4, "flag": true, "items": [["k": "x", "v": 1], ["k": "y", "v": 2]]]),
        (uuid, ["city": "Paris", "n": 5.5, "flag": false, "opt": "set"]),
    ]

    static let cases: [(String, [String])] = [
        (#"{}"#, ["1", "2", "3", "4", "u"]),
        (#"{"must":[{"key":"city","match":{"value":"London"}}]}"#, ["1", "3"]),
        (#"{"must":{"key":"city","match":{"value":"London"}}}"#, ["1", "3"]),
        (#"{"must_not":[{"key":"city","match":{"value":"London"}}]}"#, ["2", "4", "u"]),
        (#"{"should":[{"key":"city","match":{"value":"Berlin"}},{"key":"n","match":{"value":4}}]}"#, ["2", "4"]),
        (#"{"must":[{"key":"city","match":{"any":["Paris","Berlin"]}}]}"#, ["2", "u"]),
        (#"{"must":[{"key":"city","match":{"except":["London"]}}]}"#, ["2", "u"]),
        (#"{"must":[{"key":"tags","match":{"value":"b"}}]}"#, ["1", "2"]),
        (#"{"must":[{"key":"tags","match":{"except":["b"]}}]}"#, ["1"]),
        (#"{"must":[{"key":"meta.user_id","match":{"value":"u1"}}]}"#, ["1", "3"]),
        (#"{"must":[{"key":"n","range":{"gte":2,"lt":4}}]}"#, ["2", "3"]),
        (#"{"must":[{"key":"n","range":{"gt":4}}]}"#, ["u"]),
        (#"{"must":[{"key":"score","range":{"lte":1.5}}]}"#, ["1"]),
        (#"{"must":[{"key":"t","range":{"gte":"2024-03-01T00:00:00Z","lt":"2025-01-01T00:00:00Z"}}]}"#, ["2", "3"]),
        (#"{"must":[{"key":"t","range":{"gt":"2024-12-31T23:00:00Z"}}]}"#, []),
        (#"{"must":[{"is_empty":{"key":"tags"}}]}"#, ["3", "4", "u"]),
        (#"{"must":[{"is_empty":{"key":"opt"}}]}"#, ["1", "2", "3", "4"]),
        (#"{"must":[{"is_null":{"key":"opt"}}]}"#, ["2"]),
        (#"{"must_not":[{"is_empty":{"key":"city"}}]}"#, ["1", "2", "3", "u"]),
        (#"{"must":[{"has_id":[1,3,"5c56c793-69f3-4fbf-87e6-c4bf54c28c26"]}]}"#, ["1", "3", "u"]),
        (#"{"must":[{"key":"flag","match":{"value":true}}]}"#, ["4"]),
        (#"{"must":[{"key":"flag","match":{"value":false}}]}"#, ["u"]),
        (#"{"must":[{"key":"items[].k","match":{"value":"y"}}]}"#, ["4"]),
        (#"{"must":[{"nested":{"key":"items","filter":{"must":[{"key":"k","match":{"value":"x"}},{"key":"v","match":{"value":1}}]}}}]}"#, ["4"]),
        (#"{"must":[{"nested":{"key":"items","filter":{"must":[{"key":"k","match":{"value":"x"}},{"key":"v","match":{"value":2}}]}}}]}"#, []),
        (
            #"{"must":[{"should":[{"key":"n","match":{"value":1}},{"key":"n","match":{"value":2}}]},{"must_not":[{"key":"city","match":{"value":"Berlin"}}]}]}"#,
            ["1"]
        ),
        (#"{"must":[{"key":"city","match":{"text":"ondo"}}]}"#, ["1", "3"]),
        (#"{"must":[{"key":"tags","values_count":{"gte":1}}]}"#, ["1", "2"]),
        (
            #"{"min_should":{"conditions":[{"key":"city","match":{"value":"London"}},{"key":"n","range":{"lt":2}},{"key":"tags","match":{"value":"a"}}],"min_count":2}}"#,
            ["1"]
        ),
        (#"{"must":[{"key":"missing","match":{"value":"x"}}]}"#, []),
        (#"{"must_not":[{"key":"missing","match":{"value":"x"}}]}"#, ["1", "2", "3", "4", "u"]),
    ]

    static func label(_ id: PointID) -> String {
        if case let .number(n) = id { return String(n) }
        return "u"
    }

    func testFilterTable() throws {
        for (json, expected) in Self.cases {
            let filter = try JSONDecoder().decode(Filter.self, from: Data(json.utf8))
            let got = Self.points.filter { FilterEvaluator.matches(filter, id: $0.0, payload: $0.1) }.map { Self.label($0.0) }
            XCTAssertEqual(got, expected, json)
        }
    }

    func testFilterTableThroughTheStore() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("engram-filter-\(UUID())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try EmbeddedStore(directory: dir)
        try await store.createCollection(CollectionConfig(name: "c", vectorSize: 2, tenantKey: "city"))
        try await store.upsert(
            "c",
            points: Self.points.enumerated().map { i, p in
                PointStruct(id: p.0, vector: [1, Float(i)], payload: p.1)
            }
        )
        for (json, expected) in Self.cases {
            let filter = try JSONDecoder().decode(Filter.self, from: Data(json.utf8))
            let scrolled = try await store.scroll("c", ScrollRequest(filter: filter, limit: 100)).points.map { Self.label($0.id) }
            XCTAssertEqual(scrolled, expected, "scroll " + json)
            await assertEqualAsync(try await store.count("c", filter: filter), expected.count, "count " + json)
            let searched = try await store.search("c", SearchRequest(vector: [1, 0], filter: filter, limit: 100))
            XCTAssertEqual(Set(searched.map { Self.label($0.id) }), Set(expected), "search " + json)
        }
    }

    func testMalformedFiltersAreDecodingErrors() {
        for json in [
            #"{"must":[{"key":"a"}]}"#.replacingOccurrences(of: "}]}", with: ",\"match\":{}}]}"),
            #"{"must":[{"bogus":1}]}"#,
            #"{"must":[{"key":"a","match":{"value":[1,2]}}]}"#,
            #"{"must":[{"key":"t","range":{"gt":"yesterday"}}]}"#,
            #"{"must":[{"has_id":["not-a-uuid"]}]}"#,
            #"{"must":"x"}"#,
        ] {
            XCTAssertThrowsError(try JSONDecoder().decode(Filter.self, from: Data(json.utf8)), json)
        }
    }

    func testRFC3339() {
        XCTAssertEqual(RFC3339.parse("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(RFC3339.parse("2024-01-01"), 1_704_067_200)
        XCTAssertEqual(RFC3339.parse("2024-01-01T02:00:00+02:00"), 1_704_067_200)
        XCTAssertEqual(RFC3339.parse("2024-01-01 00:00:00.5Z"), 1_704_067_200.5)
        XCTAssertNil(RFC3339.parse("2024-13-01"))
        XCTAssertNil(RFC3339.parse("2024-01-01T00:00:00Zjunk"))
        XCTAssertEqual(RFC3339.parse(RFC3339.format(1_704_067_200.25)), 1_704_067_200.25)
        XCTAssertEqual(RFC3339.format(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(RFC3339.format(951_782_400.5), "2000-02-29T00:00:00.500000Z")
        // Agrees with Foundation's calendar on random times, before and after 1970.
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        var rng = StoreRNG(state: 77)
        for _ in 0..<2000 {
            let t = Double(Int64(rng.next() % 8_000_000_000) - 2_000_000_000)
            let c = cal.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: t))
            let want = String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!)
            XCTAssertEqual(RFC3339.format(t), want)
            XCTAssertEqual(RFC3339.parse(want), t)
        }
    }

    func testPointIDOrderAndParsing() throws {
        let ids: [PointID] = [Self.uuid, .number(10), .number(2), .uuid(UUID(uuidString: "00000000-0000-0000-0000-000000000001")!)]
        XCTAssertEqual(
            ids.sorted().map(\.description),
            ["2", "10", "00000000-0000-0000-0000-000000000001", "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"]
        )
        XCTAssertEqual(PointID(string: "5c56c79369f34fbf87e6c4bf54c28c26"), Self.uuid)
        XCTAssertNil(PointID(string: "-1"))
        XCTAssertEqual(
            try JSONDecoder().decode([PointID].self, from: Data(#"[7,"5C56C793-69F3-4FBF-87E6-C4BF54C28C26"]"#.utf8)),
            [.number(7), Self.uuid]
        )
        XCTAssertThrowsError(try JSONDecoder().decode(PointID.self, from: Data("-3".utf8)))
        XCTAssertThrowsError(try JSONDecoder().decode(PointID.self, from: Data("1.5".utf8)))
    }
}

final class UUIDTextTests: XCTestCase {
    func testHexMatchesFoundation() {
        let bytes: [UInt8] = [0, 1, 0x0f, 0x10, 0xab, 0xff, 0x7e]
        XCTAssertEqual(Hex.lowercase(bytes), bytes.map { String(format: "%02x", $0) }.joined())
        XCTAssertEqual(Hex.lowercase([UInt8]()), "")
    }

    func testLowercasedTextMatchesFoundation() {
        for _ in 0..<200 {
            let u = UUID()
            XCTAssertEqual(u.lowercasedText, u.uuidString.lowercased())
        }
        let fixed = UUID(uuidString: "00FF10AB-0000-4000-8000-ABCDEF012345")!
        XCTAssertEqual(fixed.lowercasedText, "00ff10ab-0000-4000-8000-abcdef012345")
    }
}

final class JSONWriterTests: XCTestCase {
    func testBytesMatchJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let values: [JSONValue] = [
            .null, true, false, 0, -42, .int(Int64.max), 1.0, 0.5, -0.0, 1e-7, 1e22, 0.1, 123456789012.0, 3.141592653589793,
            "", "plain", "quote \" backslash \\ slash / tab \t newline \n return \r bell \u{07} nul \u{00} esc \u{1B} del \u{7F}",
            "ünïcödé ✓ 𝄞 \u{2028}",
            [], [1, "two", [3.5, nil]],
            ["B": 1, "a": 2, "_x": 3, "a1": 4, "a10": 5, "a2": 6, "z": ["nested": ["k": "v"]], "Ä": 7],
        ]
        for v in values {
            let want = String(decoding: try encoder.encode(v), as: UTF8.self)
            XCTAssertEqual(String(decoding: v.jsonBytes(), as: UTF8.self), want)
            // Round trip (an integral double comes back as an int, as after JSONEncoder).
            if case let .double(d) = v, d == d.rounded() { continue }
            XCTAssertEqual(try JSONDecoder().decode(JSONValue.self, from: Data(v.jsonBytes())), v)
        }
        XCTAssertEqual(String(decoding: JSONValue.double(.nan).jsonBytes(), as: UTF8.self), "null")
    }
}
