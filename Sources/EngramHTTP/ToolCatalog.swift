package import EngramCore
import EngramSchemas
import Foundation
import HTTPTypes

/// The definitions of every MCP tool (`EngramSchemas.toolNames`), loaded from `schemas/mcp/*.json`, and
/// their argument validators: MCP validates tool arguments with them, REST the bodies of the same operations.
package struct ToolCatalog: Sendable {
    package let definitions: [JSONValue]
    package let validators: [String: JSONSchemaValidator]

    package static func load() throws -> ToolCatalog {
        var defs: [JSONValue] = []
        var validators: [String: JSONSchemaValidator] = [:]
        for name in EngramSchemas.toolNames {
            let value = try JSONDecoder().decode(JSONValue.self, from: try EngramSchemas.data("mcp/\(name).json"))
            guard value["name"]?.stringValue == name, let input = value["inputSchema"] else {
                throw APIError(.internalServerError, code: "schema", "schema of \(name) is malformed")
            }
            defs.append(value)
            validators[name] = JSONSchemaValidator(schema: input)
        }
        return ToolCatalog(definitions: defs, validators: validators)
    }

    /// The REST body schema derived from a tool's input schema without `id` (taken from the path).
    package func validator(forBodyOf tool: String, droppingID: Bool = false) -> JSONSchemaValidator? {
        guard let v = validators[tool] else { return nil }
        guard droppingID, case var .object(schema) = v.schema else { return v }
        if case var .object(props)? = schema["properties"] {
            props["id"] = nil
            schema["properties"] = .object(props)
        }
        if case let .array(req)? = schema["required"] { schema["required"] = .array(req.filter { $0 != "id" }) }
        return JSONSchemaValidator(schema: .object(schema))
    }
}
