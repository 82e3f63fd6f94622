import EngramCore
import EngramStore
import EngramStoreModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The route handlers. Each returns the `result` of Qdrant's envelope; `run` wraps it and
/// maps errors to Qdrant's status codes and texts.
struct QdrantRoutes: Sendable {
    let store: EmbeddedStore
    let configuration: QdrantAPIConfiguration
    var secrets: SecretGuard { SecretGuard(validate: configuration.memoryPayloadProblem) }

    typealias Body = [String: JSONValue]
    typealias Context = QdrantRequestContext

    func register(on router: Router<Context>) {
        router.get("/") { _, _ in
            Envelope.json(.object(["title": "qdrant - vector search engine", "version": .string(QdrantAPI.emulatedVersion)]))
        }
        for check in ["healthz", "livez", "readyz"] {
            router.get(RouterPath(check)) { _, _ in Envelope.text("\(check) check passed", status: .ok) }
        }
        registerCollectionRoutes(on: router)
        registerPointRoutes(on: router)
        registerQueryRoutes(on: router)
        registerSnapshotRoutes(on: router)
    }

    struct Args {
        let name: String
        let body: Body
        let wait: Bool
    }

    /// Reads the path, query and (optionally) JSON body, runs `handler` and answers in Qdrant's envelope.
    func run(
        _ request: Request,
        _ context: Context,
        body readBody: Bool = false,
        _ handler: (Args) async throws -> JSONValue
    ) async -> Response {
        let start = ContinuousClock.now
        do {
            var body: Body = [:]
            if readBody {
                let buffer: ByteBuffer
                do { buffer = try await request.body.collect(upTo: configuration.maxBodyBytes) } catch {
                    throw QdrantError(.contentTooLarge, "Payload error: request body is larger than \(configuration.maxBodyBytes) bytes")
                }
                if buffer.readableBytes > 0 {
                    let value: JSONValue
                    do { value = try JSONDecoder().decode(JSONValue.self, from: Data(buffer.readableBytesView)) } catch {
                        throw QdrantError.format("request body is not valid JSON")
                    }
                    switch value {
                    case let .object(o): body = o
                    case .null: break
                    default: throw QdrantError.format("request body must be a JSON object")
                    }
                }
            }
            let name = context.parameters.get("name") ?? ""
            let wait = request.uri.queryParameters["wait"].map { $0 == "true" } ?? false
            return Envelope.ok(try await handler(Args(name: name, body: body, wait: wait)), start: start)
        } catch {
            return Envelope.error(Self.map(error), start: start)
        }
    }

    static func map(_ error: any Error) -> QdrantError {
        switch error {
        case let e as QdrantError: return e
        case let e as StoreError: return QdrantError.from(e)
        case let e as DecodingError: return QdrantError.format(Wire.describe(e))
        default: return QdrantError(.internalServerError, "Service internal error: \(type(of: error))")
        }
    }

    func info(_ name: String) async throws -> CollectionInfo { try await store.collectionInfo(name) }

    func exists(_ name: String) async throws -> Bool {
        do {
            _ = try await info(name)
            return true
        } catch StoreError.collectionNotFound { return false }
    }
}
