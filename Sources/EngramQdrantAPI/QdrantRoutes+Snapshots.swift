import EngramCore
import EngramStore
import EngramStoreModel
import Foundation
import HTTPTypes
import Hummingbird

extension QdrantRoutes {
    /// Create, list, download, delete, recover and upload collection snapshots.
    func registerSnapshotRoutes(on router: Router<Context>) {
        router.post("collections/{name}/snapshots") { r, c in await run(r, c) { try await createSnapshot($0.name) } }
        router.get("collections/{name}/snapshots") { r, c in await run(r, c) { try await listSnapshots($0.name) } }
        router.delete("collections/{name}/snapshots/{snapshot}") { r, c in
            await run(r, c) { a in try await deleteSnapshot(a.name, try c.parameters.require("snapshot")) }
        }
        router.get("collections/{name}/snapshots/{snapshot}") { r, c in await downloadSnapshot(r, c) }
        router.put("collections/{name}/snapshots/recover") { r, c in await run(r, c, body: true) { try await recoverSnapshot($0) } }
        router.post("collections/{name}/snapshots/upload") { r, c in await uploadSnapshot(r, c) }
    }

    // MARK: - Snapshots

    static func describe(_ s: SnapshotDescription) -> JSONValue {
        var time: JSONValue = .null
        if let t = s.creationTime {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "UTC")
            f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
            time = .string(f.string(from: t))
        }
        return .object(["name": .string(s.name), "creation_time": time, "size": .int(Int64(s.size)), "checksum": .null])
    }

    func createSnapshot(_ name: String) async throws -> JSONValue {
        _ = try await info(name)
        return Self.describe(try await store.createSnapshot(name))
    }

    func listSnapshots(_ name: String) async throws -> JSONValue {
        _ = try await info(name)
        return .array(try await store.listSnapshots(name).map(Self.describe))
    }

    func deleteSnapshot(_ name: String, _ snapshot: String) async throws -> JSONValue {
        guard try await store.deleteSnapshot(name, name: snapshot) else {
            throw QdrantError(.notFound, "Not found: Snapshot \(snapshot) not found")
        }
        return true
    }

    func downloadSnapshot(_ request: Request, _ context: Context) async -> Response {
        let start = ContinuousClock.now
        do {
            let name = try context.parameters.require("name")
            let snapshot = try context.parameters.require("snapshot")
            guard let url = try await store.snapshotFile(name, name: snapshot) else {
                throw QdrantError(.notFound, "Not found: Snapshot \(snapshot) not found")
            }
            let body = try await FileIO().loadFile(path: url.path, context: context)
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? Int
            var headers: HTTPFields = [
                .contentType: "application/octet-stream",
                .contentDisposition: "attachment; filename=\"\(snapshot)\"",
            ]
            if let size { headers[.contentLength] = String(size) }
            return Response(status: .ok, headers: headers, body: body)
        } catch {
            return Envelope.error(Self.map(error), start: start)
        }
    }

    /// Restores `name` from a snapshot file; payloads bound for a memory collection pass the secret filter.
    func restore(_ name: String, from file: URL) async throws {
        let guardian = secrets
        var validate: (@Sendable (PointID, Payload) throws -> Void)?
        if guardian.applies(to: name) {
            validate = { id, payload in try guardian.check(collection: name, [(id, payload)]) }
        }
        try await store.restoreSnapshot(name, from: file, validatePayload: validate)
    }

    /// `PUT /collections/{name}/snapshots/recover {"location": "file:///…" | "<snapshot name>"}`:
    /// only files under `DATA_DIR/snapshots` are accepted.
    func recoverSnapshot(_ a: Args) async throws -> JSONValue {
        guard let location = Wire.field(a.body, "location")?.stringValue else { throw QdrantError.format("missing field `location`") }
        let root = store.snapshotsDirectory.standardizedFileURL.resolvingSymlinksInPath().path
        var file: URL
        if location.hasPrefix("file://") {
            guard let u = URL(string: location), u.isFileURL else { throw QdrantError.badRequest("invalid snapshot location") }
            file = u
        } else if location.contains("://") {
            throw QdrantError.badRequest("Engram recovers snapshots from files under its data directory only (file://…)")
        } else if location.hasPrefix("/") {
            file = URL(fileURLWithPath: location)
        } else {
            // A bare snapshot name of this collection.
            guard let u = try await store.snapshotFile(a.name, name: location) else {
                throw QdrantError(.notFound, "Not found: Snapshot \(location) not found")
            }
            file = u
        }
        file = file.standardizedFileURL.resolvingSymlinksInPath()
        guard file.path.hasPrefix(root + "/") else {
            throw QdrantError.badRequest("snapshot location must be a file under \(store.snapshotsDirectory.path)")
        }
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw QdrantError(.notFound, "Not found: Snapshot file \(file.lastPathComponent) does not exist")
        }
        try await restore(a.name, from: file)
        return true
    }
}
