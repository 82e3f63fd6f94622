import EngramCore
import EngramHTTP
import Foundation
import HTTPTypes
import Hummingbird

/// The two eras of MCP on one endpoint. Legacy clients (2025-03-26, 2025-06-18, 2025-11-25) open with
/// `initialize`; 2026-07-28 clients send every request self-contained, with the protocol version and
/// their capabilities in `params._meta`, mirrored in the `MCP-Protocol-Version`, `Mcp-Method` and
/// `Mcp-Name` headers, and may start with `server/discover`. Engram's handler was already stateless, so
/// both eras run the same dispatch; only the envelope checks and `resultType` differ.
extension MCPEndpoint {
    static let modernVersions = ["2026-07-28"]
    static let protocolVersionKey = "io.modelcontextprotocol/protocolVersion"
    static let clientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    static let clientInfoKey = "io.modelcontextprotocol/clientInfo"
    static let serverInfoKey = "io.modelcontextprotocol/serverInfo"
    /// Results a 2026-07-28 client may cache: they carry `ttlMs` and `cacheScope` (never shared: every
    /// answer is one member's view).
    static let cacheableMethods: Set<String> = [
        "server/discover", "tools/list", "resources/list", "resources/templates/list", "resources/read", "prompts/list", "prompts/get",
    ]
    static let methodHeader = HTTPField.Name("Mcp-Method")!
    static let nameHeader = HTTPField.Name("Mcp-Name")!
    /// Methods whose routing name is mirrored in `Mcp-Name`, and the parameter that holds it.
    static let nameBearing = ["tools/call": "name", "prompts/get": "name", "resources/read": "uri"]

    /// JSON-RPC codes of the 2026-07-28 envelope.
    enum EraCode {
        static let headerMismatch = -32020
        static let unsupportedVersion = -32022
    }

    /// Whether a request speaks the 2026-07-28 envelope: `_meta` carries a protocol version, the header
    /// names a modern version, or the method exists only there.
    static func isModern(method: String, params: JSONValue, headers: HTTPFields) -> Bool {
        params["_meta"]?[protocolVersionKey] != nil || headers[protocolHeader].map(modernVersions.contains) ?? false
            || method == "server/discover"
    }

    /// The 2026-07-28 validation ladder, first failure wins: the `_meta` envelope pair, the headers
    /// against the body, then the version. Returns the error to answer, or nil.
    static func envelopeProblem(method: String, params: JSONValue, headers: HTTPFields) -> (code: Int, message: String, data: JSONValue?)? {
        guard case let .object(meta)? = params["_meta"] else {
            return (JSONRPC.Code.invalidParams, "params._meta must be an object carrying \(protocolVersionKey) and \(clientCapabilitiesKey)", nil)
        }
        let missing = [protocolVersionKey, clientCapabilitiesKey].filter { meta[$0] == nil }
        if !missing.isEmpty {
            return (JSONRPC.Code.invalidParams, "params._meta is missing the required envelope key(s): \(missing.joined(separator: ", "))", nil)
        }
        let version = meta[protocolVersionKey]
        guard let header = headers[protocolHeader], version == .string(header) else {
            return (EraCode.headerMismatch, "MCP-Protocol-Version header does not match the request envelope's protocol version", nil)
        }
        guard headers[methodHeader] == method else {
            return (EraCode.headerMismatch, "Mcp-Method header does not match the request body's method", nil)
        }
        if let key = nameBearing[method], let value = params[key]?.stringValue, decodeHeader(headers[nameHeader]) != value {
            return (EraCode.headerMismatch, "Mcp-Name header does not match the request body's \(key) parameter", nil)
        }
        guard case let .string(requested)? = version else {
            return (JSONRPC.Code.invalidParams, "the protocol version must be a string", nil)
        }
        guard modernVersions.contains(requested) else {
            return (
                EraCode.unsupportedVersion, "Unsupported protocol version",
                .object(["supported": .array(modernVersions.map { .string($0) }), "requested": .string(requested)])
            )
        }
        return nil
    }

    /// A header value as sent: verbatim, or `=?base64?…?=` for values that are not plain ASCII.
    static func decodeHeader(_ value: String?) -> String? {
        guard let value else { return nil }
        guard value.hasPrefix("=?base64?"), value.hasSuffix("?="), value.count >= 11 else { return value }
        let payload = String(value.dropFirst(9).dropLast(2))
        guard let data = Data(base64Encoded: payload), let text = String(data: data, encoding: .utf8) else { return nil }
        return text
    }

    /// The capabilities both eras advertise.
    static var capabilities: JSONValue {
        .object([
            "tools": .object(["listChanged": false]), "resources": .object(["listChanged": false, "subscribe": false]),
            "prompts": .object(["listChanged": false]),
        ])
    }

    static var serverInfo: JSONValue {
        .object(["name": "engram", "title": "Engram memory", "version": .string(EngramVersion.current)])
    }

    /// `server/discover`: what a 2026-07-28 client needs before its first call.
    static var discovery: JSONValue {
        .object([
            "supportedVersions": .array(modernVersions.map { .string($0) }), "capabilities": capabilities,
            "instructions": .string(instructions), "serverInfo": serverInfo, "_meta": .object([serverInfoKey: serverInfo]),
        ])
    }

    /// A modern result: every 2026-07-28 result says it is complete (no input is requested); listings and
    /// reads say how long they may be cached (not at all: memories change).
    static func modern(_ result: JSONValue, method: String) -> JSONValue {
        guard case var .object(o) = result else { return result }
        if o["resultType"] == nil { o["resultType"] = "complete" }
        if cacheableMethods.contains(method) {
            o["ttlMs"] = o["ttlMs"] ?? 0
            o["cacheScope"] = o["cacheScope"] ?? "private"
        }
        return .object(o)
    }
}
