package import EngramCore
package import Foundation
package import HTTPTypes
package import Hummingbird
import NIOCore

/// JSON request and response helpers shared by the REST and MCP layers.
package enum JSONBody {
    /// Nesting deeper than this is refused before decoding (a cheap guard against hostile bodies).
    package static let maxDepth = 64

    /// Reads the body (413 beyond `limit`) and parses it as JSON.
    package static func read(_ request: Request, limit: Int) async throws -> JSONValue {
        let buffer = try await request.body.collect(upTo: limit)
        return try parse(Data(buffer.readableBytesView))
    }

    package static func parse(_ data: Data) throws -> JSONValue {
        guard !data.isEmpty else { throw APIError.badRequest("request body is empty") }
        guard depthWithinLimit(data) else { throw APIError.badRequest("JSON nested deeper than \(maxDepth) levels") }
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw APIError.badRequest("request body is not valid JSON")
        }
    }

    /// Counts bracket depth outside strings.
    package static func depthWithinLimit(_ data: Data) -> Bool {
        var depth = 0
        var inString = false
        var escaped = false
        for b in data {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > maxDepth { return false }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return true
    }

    /// A JSON response.
    package static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: value.jsonBytes())))
    }
}
