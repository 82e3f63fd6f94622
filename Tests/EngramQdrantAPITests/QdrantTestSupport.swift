import EngramCore
import EngramQdrantAPI
import EngramStore
import EngramStoreModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

/// The Qdrant-compatible API in process: `QdrantAPI.router` over an `EmbeddedStore` in a fresh
/// temporary directory, with a fixed API key; requests go through the router without sockets.
struct QdrantServer: Sendable {
    static let apiKey = "route-test-key"
    let store: EmbeddedStore

    static let logger: Logger = {
        var logger = Logger(label: "engram.qdrant-route-tests")
        logger.logLevel = .critical
        return logger
    }()

    init() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("engram-qdrant-routes-\(UUID().uuidString)")
        store = try EmbeddedStore(directory: folder, logger: Self.logger)
    }

    /// `maxUploadBytes`: the snapshot upload limit of the listener under test.
    func test<Value: Sendable>(
        maxUploadBytes: Int = 4 << 30,
        readExclusion: ReadExclusion? = nil,
        _ body: @Sendable (QdrantClient) async throws -> Value
    ) async throws -> Value {
        let configuration = QdrantAPIConfiguration(apiKey: Self.apiKey, maxUploadBytes: maxUploadBytes, readExclusion: readExclusion)
        let router = QdrantAPI.router(store: store, configuration: configuration, logger: Self.logger)
        return try await Application(router: router, logger: Self.logger).test(.router) { client in
            try await body(QdrantClient(client: client))
        }
    }
}

/// Sends requests with the API key (unless told otherwise) and JSON bodies.
struct QdrantClient: Sendable {
    let client: any TestClientProtocol

    /// `key`: the `api-key` header (nil: none).
    func call(
        _ method: HTTPRequest.Method,
        _ uri: String,
        _ body: JSONValue? = nil,
        raw: String? = nil,
        key: String? = QdrantServer.apiKey
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[HTTPField.Name("api-key")!] = key }
        let bytes: ByteBuffer? = try raw.map { ByteBuffer(string: $0) } ?? body.map { ByteBuffer(bytes: try JSONEncoder().encode($0)) }
        return try await client.execute(uri: uri, method: method, headers: headers, body: bytes)
    }

    /// Sends `body` as it is with the given content type (multipart uploads).
    func send(_ method: HTTPRequest.Method, _ uri: String, contentType: String, body: ByteBuffer) async throws -> TestResponse {
        let headers: HTTPFields = [.contentType: contentType, HTTPField.Name("api-key")!: QdrantServer.apiKey]
        return try await client.execute(uri: uri, method: method, headers: headers, body: body)
    }
}

extension TestResponse {
    /// The decoded JSON body, or `.null` when it is not JSON.
    var value: JSONValue {
        guard let decoded = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)) else { return .null }
        return decoded
    }

    /// The body as text (the key errors and health checks are plain text).
    var text: String { String(buffer: body) }

    /// `status.error` of a Qdrant error envelope.
    var qdrantError: String? { value["status"]?["error"]?.stringValue }
}

extension JSONValue {
    /// Array elements (none for other values).
    var elements: [JSONValue] {
        guard case let .array(list) = self else { return [] }
        return list
    }
}
