import EngramCore
import EngramSchemas
import Foundation
import XCTest

@testable import EngramHTTP
@testable import EngramMCP

final class JSONSchemaValidatorTests: XCTestCase {
    func validator(_ tool: String) throws -> JSONSchemaValidator {
        let catalog = try ToolCatalog.load()
        return try XCTUnwrap(catalog.validators[tool])
    }

    func testToolCatalogLoadsEverySchema() throws {
        let catalog = try ToolCatalog.load()
        XCTAssertEqual(catalog.definitions.count, EngramSchemas.toolNames.count)
        XCTAssertEqual(catalog.definitions.compactMap { $0["name"]?.stringValue }, EngramSchemas.toolNames)
        // Every tool the endpoint dispatches has its schema, in the order `tools/list` returns them.
        XCTAssertEqual(Tool.allCases.map(\.rawValue), EngramSchemas.toolNames)
    }

    func testAddMemoryArguments() throws {
        let v = try validator("add_memory")
        XCTAssertNil(v.validate(["content": "ok", "tags": ["a"], "scope": "org"]))
        XCTAssertEqual(v.validate([:]), "content: is required")
        XCTAssertEqual(v.validate(["content": 5]), "content: must be a string")
        XCTAssertEqual(v.validate(["content": ""]), "content: must not be empty")
        XCTAssertEqual(v.validate(["content": "x", "scope": "galaxy"]), "scope: must be one of personal, org")
        XCTAssertEqual(v.validate(["content": "x", "extra": 1]), "extra: unknown field")
        XCTAssertEqual(
            v.validate(["content": "x", "tags": ["ok", .string(String(repeating: "t", count: 65))]]),
            "tags[1]: must be at most 64 characters"
        )
        XCTAssertEqual(v.validate(["content": "x", "tags": .array((0..<21).map { .string("t\($0)") })]), "tags: must have at most 20 items")
        XCTAssertEqual(v.validate(["content": "x", "repo": nil]), nil, "null optional fields are treated as absent")
        XCTAssertEqual(v.validate("text"), "arguments: must be an object")
    }

    func testSearchAndIDArguments() throws {
        let search = try validator("search_memories")
        XCTAssertNil(search.validate(["query": "q", "limit": 5, "min_score": 0.5]))
        XCTAssertEqual(search.validate(["query": "q", "limit": 0]), "limit: must be at least 1")
        XCTAssertEqual(search.validate(["query": "q", "limit": 2.5]), "limit: must be an integer")
        XCTAssertNil(search.validate(["query": "q", "limit": 3.0]))
        XCTAssertEqual(search.validate(["query": "q", "min_score": 2]), "min_score: must be at most 1")
        let get = try validator("get_memory")
        XCTAssertEqual(get.validate(["id": "../../etc/passwd"]), "id: must be at least 36 characters")
        XCTAssertEqual(get.validate(["id": "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"]), "id: must be a UUID")
    }

    func testRESTBodyDropsID() throws {
        let catalog = try ToolCatalog.load()
        let patch = try XCTUnwrap(catalog.validator(forBodyOf: "update_memory", droppingID: true))
        XCTAssertNil(patch.validate(["content": "new"]))
        XCTAssertEqual(patch.validate(["id": "x"]), "id: unknown field")
    }

    func testDepthGuard() {
        XCTAssertTrue(JSONBody.depthWithinLimit(Data(("[" + String(repeating: "[", count: 10) + String(repeating: "]", count: 11)).utf8)))
        XCTAssertFalse(JSONBody.depthWithinLimit(Data((String(repeating: "[", count: 65) + String(repeating: "]", count: 65)).utf8)))
        XCTAssertTrue(
            JSONBody.depthWithinLimit(Data(("\"" + String(repeating: "[", count: 100) + "\"").utf8)),
            "brackets inside strings do not count"
        )
    }
}
