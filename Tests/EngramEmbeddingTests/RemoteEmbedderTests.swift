import EngramEmbedding
import Foundation
import XCTest

#if canImport(FoundationNetworking)
// The fake server's statistics are read with `Data(contentsOf:)` on an http URL.
import FoundationNetworking
#endif

/// A tiny embedding server (Python http.server) on 127.0.0.1 and a free port, driven by the model name:
/// "ok" → 4-d vectors; "flaky" → 429 on the first request, then success; "broken" → always 500;
/// "small" → 3-d vectors; "needs-key" → 401 unless `Authorization: Bearer sekret`.
/// OpenAI answers list `data` in reverse order to check re-ordering by `index`.
final class FakeEmbeddingServer: @unchecked Sendable {
    static let script = #"""
        import http.server, json, sys, threading
        counts = {}
        lock = threading.Lock()
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def reply(self, status, obj, headers=()):
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in headers: self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
            def do_GET(self):
                with lock: self.reply(200, counts)
            def do_POST(self):
                req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                model = req.get("model")
                with lock:
                    counts[model] = counts.get(model, 0) + 1
                    n = counts[model]
                if model == "needs-key" and self.headers.get("Authorization") != "Bearer sekret":
                    return self.reply(401, {"error": "bad key"})
                if model == "flaky" and n == 1:
                    return self.reply(429, {"error": "slow down"}, [("Retry-After", "0")])
                if model == "broken":
                    return self.reply(500, {"error": "boom"})
                inputs = req["input"] if isinstance(req["input"], list) else [req["input"]]
                dims = 3 if model == "small" else 4
                vecs = [[float(len(t) + 1), 1.0, 2.0, 2.0][:dims] for t in inputs]
                if self.path == "/v1/embeddings":
                    data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vecs)]
                    self.reply(200, {"object": "list", "model": model, "data": list(reversed(data))})
                elif self.path == "/api/embed":
                    self.reply(200, {"model": model, "embeddings": vecs})
                else:
                    self.reply(404, {"error": "no route " + self.path})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        print(srv.server_address[1], flush=True)
        srv.serve_forever()
        """#

    let process = Process()
    let port: Int
    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

    init() throws {
        let scriptURL = FileManager.default.temporaryDirectory.appendingPathComponent("engram-fake-embed-\(UUID().uuidString).py")
        try Self.script.write(to: scriptURL, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", scriptURL.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        let deadline = Date().addingTimeInterval(20)
        while !line.contains(UInt8(ascii: "\n")) && Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        try? FileManager.default.removeItem(at: scriptURL)
        guard let p = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw NSError(domain: "FakeEmbeddingServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "server did not start"])
        }
        port = p
    }

    /// Requests seen per model name.
    func counts() throws -> [String: Int] {
        let data = try Data(contentsOf: baseURL.appendingPathComponent("stats"))
        return try JSONDecoder().decode([String: Int].self, from: data)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}

final class RemoteEmbedderTests: XCTestCase {
    private var server: FakeEmbeddingServer!

    override func setUpWithError() throws { server = try FakeEmbeddingServer() }
    override func tearDown() {
        server?.stop()
        server = nil
    }

    private func embedder(
        _ api: RemoteEmbedder.API,
        model: String,
        dimensions: Int = 4,
        apiKey: String? = nil,
        maxAttempts: Int = 3,
        baseURL: URL? = nil
    ) -> RemoteEmbedder {
        RemoteEmbedder(
            configuration: .init(
                api: api,
                baseURL: baseURL ?? server.baseURL,
                model: model,
                dimensions: dimensions,
                apiKey: apiKey,
                timeout: 5,
                maxAttempts: maxAttempts,
                initialBackoff: 0.01,
                maxBackoff: 0.05,
                maxBatchSize: 2
            )
        )
    }

    func testOpenAISuccessIsOrderedAndNormalised() async throws {
        let e = embedder(.openAI, model: "ok")
        XCTAssertEqual(e.endpoint.path, "/v1/embeddings")
        XCTAssertEqual(e.modelID, "openai:ok")
        let texts = ["a", "bbb", "cc", "ddddd", "e"]  // 3 requests of ≤ 2 texts
        let vectors = try await e.embed(texts)
        XCTAssertEqual(vectors.count, 5)
        for (t, v) in zip(texts, vectors) {
            var expected: [Float] = [Float(t.count + 1), 1, 2, 2]
            VectorMath.normalize(&expected)
            XCTAssertEqual(v.count, 4)
            for (a, b) in zip(v, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        }
        XCTAssertEqual(try server.counts()["ok"], 3)
        try await e.verifyDimensions(expected: 4)
    }

    func testOllamaSuccess() async throws {
        let e = embedder(.ollama, model: "ok")
        XCTAssertEqual(e.endpoint.path, "/api/embed")
        let vectors = try await e.embed(["hello", "x"])
        XCTAssertEqual(vectors.count, 2)
        XCTAssertGreaterThan(VectorMath.cosine(vectors[0], [6, 1, 2, 2]), 0.99999)
        XCTAssertGreaterThan(VectorMath.cosine(vectors[1], [2, 1, 2, 2]), 0.99999)
        let none = try await e.embed([])
        XCTAssertEqual(none.count, 0)
    }

    func testRetriesAfter429ThenSucceeds() async throws {
        let e = embedder(.openAI, model: "flaky")
        let v = try await e.embed(["retry me"])
        XCTAssertEqual(v.count, 1)
        XCTAssertEqual(try server.counts()["flaky"], 2)
    }

    func test500ExhaustsRetries() async throws {
        let e = embedder(.ollama, model: "broken", maxAttempts: 3)
        do {
            _ = try await e.embed(["x"])
            XCTFail("expected an error")
        } catch let RemoteEmbedderError.httpStatus(_, status, _, attempts) {
            XCTAssertEqual(status, 500)
            XCTAssertEqual(attempts, 3)
        }
        XCTAssertEqual(try server.counts()["broken"], 3)
    }

    func testDimensionMismatchIsRefused() async throws {
        let e = embedder(.openAI, model: "small", dimensions: 4)
        do {
            try await e.verifyDimensions(expected: 4)
            XCTFail("expected a dimension mismatch")
        } catch let error as RemoteEmbedderError {
            XCTAssertEqual(error, .dimensionMismatch(model: "small", expected: 4, actual: 3))
            XCTAssertTrue(error.description.contains("3-d"))
        }
        do {
            _ = try await e.embed(["x"])
            XCTFail("embed must refuse vectors of the wrong size")
        } catch let error as RemoteEmbedderError {
            XCTAssertEqual(error, .dimensionMismatch(model: "small", expected: 4, actual: 3))
        }
    }

    func testBearerKeyAndNonRetryableStatus() async throws {
        let withKey = embedder(.openAI, model: "needs-key", apiKey: "sekret")
        let v = try await withKey.embed(["x"])
        XCTAssertEqual(v.count, 1)
        let without = embedder(.openAI, model: "needs-key")
        do {
            _ = try await without.embed(["x"])
            XCTFail("expected 401")
        } catch let RemoteEmbedderError.httpStatus(_, status, _, attempts) {
            XCTAssertEqual(status, 401)
            XCTAssertEqual(attempts, 1, "4xx other than 429 is not retried")
        }
    }

    func testConnectionRefusedIsRetriedThenReported() async throws {
        // A port nobody listens on: bind-and-close gives a free one.
        let port = server.port
        server.stop()
        let e = embedder(.openAI, model: "ok", maxAttempts: 2, baseURL: URL(string: "http://127.0.0.1:\(port)/v1")!)
        XCTAssertEqual(e.endpoint.path, "/v1/embeddings")
        do {
            _ = try await e.embed(["x"])
            XCTFail("expected a transport error")
        } catch let RemoteEmbedderError.transport(_, _, attempts) {
            XCTAssertEqual(attempts, 2)
        }
    }
}
