import EngramCore
import EngramSchemas
import Foundation
import HTTPTypes

/// The definitions of every `Tool`, loaded from `schemas/mcp/*.json`, and their argument validators.
struct ToolCatalog: Sendable {
    let definitions: [JSONValue]
    let validators: [String: JSONSchemaValidator]

    static func load() throws -> ToolCatalog {
        var defs: [JSONValue] = []
        var validators: [String: JSONSchemaValidator] = [:]
        for tool in Tool.allCases {
            let name = tool.rawValue
            let value = try JSONDecoder().decode(JSONValue.self, from: try EngramSchemas.data(tool.schemaPath))
            guard value["name"]?.stringValue == name, let input = value["inputSchema"] else {
                throw APIError(.internalServerError, code: "schema", "schema of \(name) is malformed")
            }
            defs.append(value)
            validators[name] = JSONSchemaValidator(schema: input)
        }
        return ToolCatalog(definitions: defs, validators: validators)
    }

    /// The REST body schema derived from a tool's input schema without `id` (taken from the path).
    func validator(forBodyOf tool: String, droppingID: Bool = false) -> JSONSchemaValidator? {
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
