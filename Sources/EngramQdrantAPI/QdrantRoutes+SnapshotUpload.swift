import EngramCore
import EngramStore
import EngramStoreModel
import Foundation
import HTTPTypes
import Hummingbird
import MultipartKit
import NIOCore

extension QdrantRoutes {
    /// `POST /collections/{name}/snapshots/upload`: a multipart form whose `snapshot` field holds the
    /// file (as qdrant-client sends it), or a raw `application/octet-stream` body. The file streams to a
    /// temporary file under `snapshots/.uploads` (never the whole body in memory); a body over
    /// `maxUploadBytes` is 413, a malformed form or one without `snapshot` is 400, and the temporary
    /// file is removed whatever the outcome.
    func uploadSnapshot(_ request: Request, _ context: Context) async -> Response {
        let start = ContinuousClock.now
        let folder = store.snapshotsDirectory.appendingPathComponent(".uploads", isDirectory: true)
        let file = folder.appendingPathComponent(UUID().uuidString + ".snapshot")
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            let name = try context.parameters.require("name")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let upload = try SnapshotUpload(file: file, limit: configuration.maxUploadBytes)
            let contentType = request.headers[.contentType] ?? ""
            if contentType.lowercased().hasPrefix("multipart/form-data") {
                try await upload.receiveForm(request.body, contentType: contentType, field: "snapshot")
            } else {
                try await upload.receiveRaw(request.body)
            }
            try await restore(name, from: file)
            return Envelope.ok(true, start: start)
        } catch {
            return Envelope.error(Self.map(error), start: start)
        }
    }
}

/// Writes an uploaded snapshot to a file as it arrives: the raw body, or one field of a
/// `multipart/form-data` body parsed by MultipartKit's streaming parser. Counts every received
/// byte against `limit`.
final class SnapshotUpload {
    let handle: FileHandle
    let limit: Int
    private var received = 0
    private var closed = false

    /// Creates (or truncates) `file` for writing.
    init(file: URL, limit: Int) throws {
        guard FileManager.default.createFile(atPath: file.path, contents: nil) else {
            throw QdrantError(.internalServerError, "Service internal error: cannot write the upload")
        }
        handle = try FileHandle(forWritingTo: file)
        self.limit = limit
    }

    deinit {
        if !closed { try? handle.close() }
    }

    /// Flushes and closes the file once the body is in.
    private func finish() throws {
        closed = true
        try handle.close()
    }

    /// Counts `buffer` against the limit: 413 once the body is larger.
    private func count(_ buffer: ByteBuffer) throws {
        received += buffer.readableBytes
        if received > limit {
            throw QdrantError(.contentTooLarge, "Payload error: snapshot larger than \(limit) bytes")
        }
    }

    /// The whole body is the snapshot file.
    func receiveRaw(_ body: RequestBody) async throws {
        for try await buffer in body {
            try count(buffer)
            try handle.write(contentsOf: Data(buffer.readableBytesView))
        }
        try finish()
    }

    /// Only the part named `field` is written; 400 when the form is malformed or has no such part.
    func receiveForm(_ body: RequestBody, contentType: String, field: String) async throws {
        guard let boundary = Self.boundary(contentType), !boundary.isEmpty else {
            throw QdrantError.badRequest("multipart body without boundary")
        }
        let parser = MultipartParser(boundary: boundary)
        let part = FormPart(field: field)
        parser.onHeader = { name, value in
            part.header(name: name, value: value)
            part.heard = true
        }
        parser.onBody = { [handle] bytes in
            part.heard = true
            guard part.isTarget, !part.done, part.failure == nil else { return }
            do { try handle.write(contentsOf: Data(bytes.readableBytesView)) } catch { part.failure = error }
        }
        parser.onPartComplete = {
            part.complete()
            part.heard = true
        }
        // Bytes fed to the parser since it last reported anything: it holds an unfinished header
        // line in memory, so a form that goes quiet for `maxQuietBytes` is refused.
        var quiet = 0
        for try await buffer in body {
            try count(buffer)
            // Once the field is in, the rest of the body is only counted.
            guard !part.done else { continue }
            part.heard = false
            do { try parser.execute(buffer) } catch {
                throw QdrantError.badRequest("malformed multipart body")
            }
            if let failure = part.failure { throw failure }
            quiet = part.heard ? 0 : quiet + buffer.readableBytes
            if quiet > Self.maxQuietBytes { throw QdrantError.badRequest("malformed multipart body: part headers too long") }
        }
        guard part.done else { throw QdrantError.badRequest("multipart body has no `\(field)` file") }
        try finish()
    }

    /// Most bytes of preamble or part headers read without a header, body or part end coming out.
    static let maxQuietBytes = 1 << 20

    /// The `boundary` parameter of a `multipart/form-data` content type, unquoted.
    static func boundary(_ contentType: String) -> String? {
        let parameters = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let raw = parameters.first(where: { $0.lowercased().hasPrefix("boundary=") })?.dropFirst("boundary=".count) else {
            return nil
        }
        return raw.hasPrefix("\"") && raw.hasSuffix("\"") && raw.count >= 2 ? String(raw.dropFirst().dropLast()) : String(raw)
    }
}

/// Which part of a form the parser is in: the headers of the current part say whether it is the
/// wanted field; only the first such part is kept.
final class FormPart {
    let field: String
    private(set) var isTarget = false
    private(set) var done = false
    var failure: (any Error)?
    /// Set by every parser callback (header, body bytes, part end).
    var heard = false

    init(field: String) { self.field = field }

    func header(name: String, value: String) {
        guard name.lowercased() == "content-disposition" else { return }
        isTarget = Self.name(inDisposition: value) == field
    }

    func complete() {
        if isTarget { done = true }
        isTarget = false
    }

    /// The `name` parameter of `Content-Disposition: form-data; name="…"; filename="…"`.
    static func name(inDisposition value: String) -> String? {
        for parameter in value.split(separator: ";") {
            let pair = parameter.trimmingCharacters(in: .whitespaces)
            guard pair.lowercased().hasPrefix("name=") else { continue }
            let raw = pair.dropFirst("name=".count)
            return raw.hasPrefix("\"") && raw.hasSuffix("\"") && raw.count >= 2 ? String(raw.dropFirst().dropLast()) : String(raw)
        }
        return nil
    }
}
