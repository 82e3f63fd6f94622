package import EngramCore
import Foundation

/// Validates JSON values against the subset of JSON Schema used by `schemas/`:
/// `type`, `properties`, `required`, `additionalProperties: false`, `items`,
/// `enum`, `minLength`/`maxLength`, `minItems`/`maxItems`, `minimum`/`maximum`,
/// `format: uuid`. Hand-written: no maintained Swift JSON Schema validator
/// builds on Linux within this project's dependency set.
package struct JSONSchemaValidator: Sendable {
    package let schema: JSONValue

    /// The first violation as a readable message (`tags[2]: must be at most 64 characters`), or nil.
    package func validate(_ value: JSONValue) -> String? {
        check(value, against: schema, path: "")
    }

    private func check(_ value: JSONValue, against schema: JSONValue, path: String) -> String? {
        let name = path.isEmpty ? "arguments" : path
        if let type = schema["type"]?.stringValue, !Self.has(type: type, value) {
            return
                "\(name): must be \(type == "integer" ? "an integer" : type == "object" ? "an object" : type == "array" ? "an array" : "a \(type)")"
        }
        if case let .array(options)? = schema["enum"], !options.contains(value) {
            let list = options.compactMap(\.stringValue).joined(separator: ", ")
            return "\(name): must be one of \(list)"
        }
        switch value {
        case let .string(s):
            let n = s.count
            if let min = schema["minLength"]?.number, Double(n) < min {
                return min <= 1 ? "\(name): must not be empty" : "\(name): must be at least \(Int(min)) characters"
            }
            if let max = schema["maxLength"]?.number, Double(n) > max {
                return "\(name): must be at most \(Int(max)) characters"
            }
            if schema["format"]?.stringValue == "uuid", UUID(uuidString: s) == nil { return "\(name): must be a UUID" }
        case let .int(i):
            if let min = schema["minimum"]?.number, Double(i) < min { return "\(name): must be at least \(Self.show(min))" }
            if let max = schema["maximum"]?.number, Double(i) > max { return "\(name): must be at most \(Self.show(max))" }
        case let .double(d):
            if let min = schema["minimum"]?.number, d < min { return "\(name): must be at least \(Self.show(min))" }
            if let max = schema["maximum"]?.number, d > max { return "\(name): must be at most \(Self.show(max))" }
        case let .array(items):
            if let min = schema["minItems"]?.number, Double(items.count) < min { return "\(name): must have at least \(Int(min)) items" }
            if let max = schema["maxItems"]?.number, Double(items.count) > max { return "\(name): must have at most \(Int(max)) items" }
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() {
                    if let e = check(item, against: itemSchema, path: "\(path)[\(i)]") { return e }
                }
            }
        case let .object(o):
            if case let .array(required)? = schema["required"] {
                for r in required.compactMap(\.stringValue) where o[r] == nil || o[r] == .null {
                    return "\(path.isEmpty ? r : path + "." + r): is required"
                }
            }
            let properties: [String: JSONValue]
            if case let .object(p)? = schema["properties"] { properties = p } else { properties = [:] }
            for key in o.keys.sorted() {
                let child = path.isEmpty ? key : path + "." + key
                if let propertySchema = properties[key] {
                    if o[key] == .null, schema["required"].map({ !Self.contains($0, key) }) ?? true { continue }
                    if let e = check(o[key]!, against: propertySchema, path: child) { return e }
                } else if schema["additionalProperties"] == .bool(false) {
                    return "\(child): unknown field"
                }
            }
        default:
            break
        }
        return nil
    }

    private static func contains(_ list: JSONValue, _ key: String) -> Bool {
        if case let .array(items) = list { return items.contains(.string(key)) }
        return false
    }

    private static func has(type: String, _ v: JSONValue) -> Bool {
        switch (type, v) {
        case ("string", .string), ("boolean", .bool), ("array", .array), ("object", .object), ("null", .null): return true
        case ("integer", .int): return true
        case let ("integer", .double(d)): return d.rounded() == d && abs(d) < 9e15
        case ("number", .int), ("number", .double): return true
        default: return false
        }
    }

    private static func show(_ d: Double) -> String { d.rounded() == d ? String(Int(d)) : String(d) }
}
