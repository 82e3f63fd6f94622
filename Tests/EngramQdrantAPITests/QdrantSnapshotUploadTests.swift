import EngramCore
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

/// `POST /collections/{name}/snapshots/upload` in process: a multipart form with the `snapshot` field
/// restores the collection; a body over the upload limit is 413 in Qdrant's envelope; a malformed
/// form, one without `snapshot` or one whose part headers never end is 400; no temporary file is
/// left under `snapshots/.uploads`.
@Suite struct QdrantSnapshotUploadTests {
    static let boundary = "engram-test-boundary-7MA4YWxkTrZu0gW"

    /// A `multipart/form-data` body with one file part named `field`.
    static func form(field: String, file: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString("--\(boundary)\r\n")
        buffer.writeString("Content-Disposition: form-data; name=\"\(field)\"; filename=\"docs.snapshot\"\r\n")
        buffer.writeString("Content-Type: application/octet-stream\r\n\r\n")
        buffer.writeBytes(file)
        buffer.writeString("\r\n--\(boundary)--\r\n")
        return buffer
    }

    static var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    /// Files left in the upload folder of `server`'s store.
    static func leftovers(_ server: QdrantServer) -> [String] {
        let folder = server.store.snapshotsDirectory.appendingPathComponent(".uploads")
        return (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    }

    @Test func uploadRestoresTheCollection() async throws {
        let server = try QdrantServer()
        try await server.test { q in
            try await QdrantPointsTests.populate(q)
            let created = try await q.call(.post, "/collections/docs/snapshots?wait=true")
            let name = try #require(created.value["result"]?["name"]?.stringValue)
            let download = try await q.call(.get, "/collections/docs/snapshots/\(name)")
            #expect(download.status == .ok)
            let file = Array(download.body.readableBytesView)
            #expect(try await q.call(.delete, "/collections/docs").value["result"] == true)

            let upload = try await q.send(
                .post,
                "/collections/docs/snapshots/upload?wait=true",
                contentType: Self.contentType,
                body: Self.form(field: "snapshot", file: file)
            )
            #expect(upload.status == .ok)
            #expect(upload.value["result"] == true)
            let count = try await q.call(.post, "/collections/docs/points/count", ["exact": true])
            #expect(count.value["result"] == ["count": 5])
        }
        #expect(Self.leftovers(server).isEmpty)
    }

    @Test func oversizeUploadIs413() async throws {
        let server = try QdrantServer()
        try await server.test(maxUploadBytes: 1024) { q in
            try await QdrantPointsTests.populate(q)
            let upload = try await q.send(
                .post,
                "/collections/docs/snapshots/upload",
                contentType: Self.contentType,
                body: Self.form(field: "snapshot", file: Array(repeating: 0x41, count: 8192))
            )
            #expect(upload.status == .contentTooLarge)
            #expect(upload.qdrantError?.contains("larger than 1024 bytes") == true)
            #expect(try await q.call(.post, "/collections/docs/points/count", [:]).value["result"] == ["count": 5])
        }
        #expect(Self.leftovers(server).isEmpty)
    }

    @Test func malformedFormIs400() async throws {
        let server = try QdrantServer()
        try await server.test { q in
            try await QdrantPointsTests.populate(q)
            var garbage = ByteBuffer()
            garbage.writeString("--\(Self.boundary)\r\nContent-Disposition form-data\r\n\r\nbody\r\n--\(Self.boundary)--\r\n")
            let malformed = try await q.send(
                .post,
                "/collections/docs/snapshots/upload",
                contentType: Self.contentType,
                body: garbage
            )
            #expect(malformed.status == .badRequest)
            #expect(malformed.qdrantError != nil)

            let missing = try await q.send(
                .post,
                "/collections/docs/snapshots/upload",
                contentType: Self.contentType,
                body: Self.form(field: "other", file: Array("not a snapshot".utf8))
            )
            #expect(missing.status == .badRequest)
            #expect(missing.qdrantError?.contains("`snapshot`") == true)

            let noBoundary = try await q.send(
                .post,
                "/collections/docs/snapshots/upload",
                contentType: "multipart/form-data",
                body: Self.form(field: "snapshot", file: [1, 2, 3])
            )
            #expect(noBoundary.status == .badRequest)
            #expect(try await q.call(.post, "/collections/docs/points/count", [:]).value["result"] == ["count": 5])
        }
        #expect(Self.leftovers(server).isEmpty)
    }

    @Test func endlessPartHeaderIs400() async throws {
        let server = try QdrantServer()
        try await server.test { q in
            try await QdrantPointsTests.populate(q)
            var body = ByteBuffer()
            body.writeString("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"snapshot\"; filename=\"")
            body.writeBytes(Array(repeating: UInt8(ascii: "a"), count: 2 << 20))
            let upload = try await q.send(.post, "/collections/docs/snapshots/upload", contentType: Self.contentType, body: body)
            #expect(upload.status == .badRequest)
            #expect(upload.qdrantError?.contains("headers too long") == true)
        }
        #expect(Self.leftovers(server).isEmpty)
    }
}
