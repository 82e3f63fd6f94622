import EngramStore
import EngramStoreModel
import Foundation
import Testing

@testable import EngramQdrantClient

/// The remote-Qdrant store's URL forms, its API key precedence and its failure on a refused connection.
@Suite struct QdrantRemoteStoreTests {
    @Test func urlFormsAndTheKeyInTheURLWins() async throws {
        let plain = try QdrantRemoteStore(url: "qdrant://db.example?api_key=from-url", apiKey: "from-configuration")
        let secure = try QdrantRemoteStore(url: "qdrants://db.example:7333", apiKey: "from-configuration")
        let http = try QdrantRemoteStore(url: "http://db.example:8080")
        let urls = [plain.baseURL.absoluteString, secure.baseURL.absoluteString, http.baseURL.absoluteString]
        let keys = [plain.apiKey, secure.apiKey, http.apiKey]
        for store in [plain, secure, http] { try await store.shutdown() }
        #expect(urls == ["http://db.example:6333", "https://db.example:7333", "http://db.example:8080"])
        #expect(keys == ["from-url", "from-configuration", nil])
        #expect(throws: StoreError.self) { try QdrantRemoteStore(url: "ftp://db.example") }
    }

    @Test func aRefusedConnectionFailsAsUnavailableWithoutWaitingOutTheTimeout() async throws {
        // A connect timeout far longer than the test: the failure must be the refusal itself (reported as
        // such), never the timeout running out. Checked by the reason, not by the clock (a loaded CI machine
        // once took 10.3 s for the two refused attempts and their backoff).
        let store = try QdrantRemoteStore(url: "http://127.0.0.1:1", timeout: 300, maxAttempts: 2)
        var failure: StoreError?
        do { _ = try await store.listCollections() } catch { failure = error as? StoreError }
        try await store.shutdown()
        guard case .io(let message)? = failure else {
            Issue.record("expected StoreError.io, got \(String(describing: failure))")
            return
        }
        // The socket's refusal is NIO's `IOError`; a connect timeout or deadline would be AsyncHTTPClient's
        // `HTTPClientError` (the store names the error's type, never its details).
        #expect(message.hasSuffix("(IOError)"), "\(message)")
    }
}
