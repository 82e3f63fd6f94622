import EngramCore
import EngramStore
import EngramStoreModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error answered in Qdrant's envelope: `{"status": {"error": "…"}, "time": …}`.
/// Texts follow Qdrant 1.19 (`Not found: …`, `Wrong input: …`, `Format error in JSON body: …`).
struct QdrantError: Error, Sendable {
    var status: HTTPResponse.Status
    var message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    static func collectionNotFound(_ name: String) -> QdrantError {
        QdrantError(.notFound, "Not found: Collection `\(name)` doesn't exist!")
    }

    static func wrongInput(_ why: String) -> QdrantError { QdrantError(.badRequest, "Wrong input: \(why)") }

    static func format(_ why: String) -> QdrantError { QdrantError(.badRequest, "Format error in JSON body: \(why)") }

    static func badRequest(_ why: String) -> QdrantError { QdrantError(.badRequest, "Bad request: \(why)") }

    /// The Qdrant status and text of a store error (store texts never hold payload content).
    static func from(_ error: StoreError) -> QdrantError {
        switch error {
        case let .collectionNotFound(n): return .collectionNotFound(n)
        case let .collectionExists(n): return QdrantError(.conflict, "Wrong input: Collection `\(n)` already exists!")
        case let .invalidCollectionName(why): return .wrongInput("Invalid collection name: \(why)")
        case .dimensionMismatch, .invalidVector, .invalidRequest: return QdrantError(.badRequest, error.description)
        case let .pointNotFound(id): return QdrantError(.notFound, "Not found: No point with id \(id) found")
        case .corrupt, .io: return QdrantError(.internalServerError, "Service internal error: \(error.description)")
        }
    }
}

/// Response helpers: Qdrant's envelope, errors, plain JSON.
enum Envelope {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? encoder.encode(value)) ?? Data("null".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data))
        )
    }

    static func ok(_ result: JSONValue, start: ContinuousClock.Instant) -> Response {
        json(.object(["result": result, "status": "ok", "time": .double(seconds(since: start))]))
    }

    static func error(_ e: QdrantError, start: ContinuousClock.Instant) -> Response {
        json(.object(["status": .object(["error": .string(e.message)]), "time": .double(seconds(since: start))]), status: e.status)
    }

    static func text(_ s: String, status: HTTPResponse.Status) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: s))
        )
    }

    /// `{"operation_id": 0, "status": "completed" | "acknowledged"}`: every write is durable
    /// before the answer, so `wait=false` only changes the word.
    static func update(wait: Bool) -> JSONValue {
        .object(["operation_id": 0, "status": .string(wait ? "completed" : "acknowledged")])
    }
}
