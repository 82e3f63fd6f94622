import EngramCore
import EngramQdrantAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The Qdrant-compatible listener speaks Qdrant's wire form, in process: successes in the envelope
/// `{"result", "status": "ok", "time"}`, failures as `{"status": {"error"}, "time"}` with Qdrant's
/// statuses and texts (404 for a missing collection, 400 for a format error, 409 for an existing
/// one); 401 without a key and 403 with a wrong one (plain text, as Qdrant answers), while `/` and
/// the health checks need no key.
@Suite struct QdrantEnvelopeTests {
    @Test func successIsWrappedInTheEnvelope() async throws {
        try await QdrantServer().test { q in
            let created = try await q.call(.put, "/collections/docs", ["vectors": ["size": 4, "distance": "Cosine"]])
            #expect(created.status == .ok)
            #expect(created.value["result"] == true)
            #expect(created.value["status"] == "ok")
            let time = try #require(created.value["time"]?.number)
            #expect(time >= 0 && time < 60)
            let listed = try await q.call(.get, "/collections")
            #expect(listed.value["result"]?["collections"] == [["name": "docs"]])
            #expect(listed.value["status"] == "ok")
            let info = try await q.call(.get, "/collections/docs")
            #expect(info.value["result"]?["config"]?["params"]?["vectors"] == ["size": 4, "distance": "Cosine"])
            #expect(info.value["result"]?["points_count"] == 0)
        }
    }

    @Test func missingKeyIs401AndWrongKeyIs403() async throws {
        try await QdrantServer().test { q in
            let missing = try await q.call(.get, "/collections", key: nil)
            #expect(missing.status == .unauthorized)
            #expect(missing.text == "Must provide an API key or an Authorization bearer token")
            let wrong = try await q.call(.get, "/collections", key: "not-the-key")
            #expect(wrong.status == .forbidden)
            #expect(wrong.text == "Invalid API key or JWT")
            let bearer = try await q.client.execute(
                uri: "/collections",
                method: .get,
                headers: [.authorization: "Bearer \(QdrantServer.apiKey)"]
            )
            #expect(bearer.status == .ok)
            #expect(bearer.value["status"] == "ok")
        }
    }

    @Test func rootAndHealthChecksNeedNoKey() async throws {
        try await QdrantServer().test { q in
            let root = try await q.call(.get, "/", key: nil)
            #expect(root.status == .ok)
            #expect(root.value["version"]?.stringValue == QdrantAPI.emulatedVersion)
            for check in ["healthz", "livez", "readyz"] {
                let response = try await q.call(.get, "/\(check)", key: nil)
                #expect(response.status == .ok, "\(check)")
                #expect(response.text == "\(check) check passed")
            }
        }
    }

    @Test func missingCollectionIs404WithQdrantsText() async throws {
        try await QdrantServer().test { q in
            let requests: [(HTTPRequest.Method, String, JSONValue?)] = [
                (.get, "/collections/x", nil),
                (.put, "/collections/x/points", ["points": [["id": 1, "vector": [1, 0, 0, 0]]]]),
                (.post, "/collections/x/points/search", ["vector": [1, 0, 0, 0], "limit": 1]),
                (.post, "/collections/x/points/scroll", ["limit": 1]),
                (.post, "/collections/x/points/count", [:]),
            ]
            for (method, uri, body) in requests {
                let response = try await q.call(method, uri, body)
                #expect(response.status == .notFound, "\(method) \(uri)")
                #expect(response.qdrantError == "Not found: Collection `x` doesn't exist!", "\(method) \(uri)")
                #expect(response.value["result"] == nil, "\(method) \(uri)")
                #expect(response.value["time"]?.number != nil, "\(method) \(uri)")
            }
            let exists = try await q.call(.get, "/collections/x/exists")
            #expect(exists.value["result"] == ["exists": false])
        }
    }

    @Test func malformedBodyIs400FormatError() async throws {
        try await QdrantServer().test { q in
            let broken = try await q.call(.put, "/collections/docs", raw: #"{"vectors": {"size": 4,"#)
            #expect(broken.status == .badRequest)
            #expect(broken.qdrantError == "Format error in JSON body: request body is not valid JSON")
            let array = try await q.call(.put, "/collections/docs", raw: "[1, 2]")
            #expect(array.status == .badRequest)
            #expect(array.qdrantError == "Format error in JSON body: request body must be a JSON object")
            let distance = try await q.call(.put, "/collections/docs", ["vectors": ["size": 4, "distance": "Cosinus"]])
            #expect(distance.status == .badRequest)
            #expect(distance.qdrantError?.hasPrefix("Format error in JSON body: unknown variant `Cosinus`") == true)
            #expect(try await q.call(.get, "/collections/docs").status == .notFound, "nothing was created")
        }
    }

    @Test func existingCollectionIs409() async throws {
        try await QdrantServer().test { q in
            #expect(try await q.call(.put, "/collections/docs", ["vectors": ["size": 2, "distance": "Dot"]]).status == .ok)
            let again = try await q.call(.put, "/collections/docs", ["vectors": ["size": 2, "distance": "Dot"]])
            #expect(again.status == .conflict)
            #expect(again.qdrantError == "Wrong input: Collection `docs` already exists!")
        }
    }
}
