import EngramStore
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

    @Test func aRefusedConnectionFailsFastAsUnavailable() async throws {
        let store = try QdrantRemoteStore(url: "http://127.0.0.1:1", maxAttempts: 2)
        let start = ContinuousClock.now
        var failure: StoreError?
        do { _ = try await store.listCollections() } catch { failure = error as? StoreError }
        let elapsed = ContinuousClock.now - start
        try await store.shutdown()
        guard case .io? = failure else {
            Issue.record("expected StoreError.io, got \(String(describing: failure))")
            return
        }
        // Refused at once, so both attempts and the backoff between them take well under a second on an idle
        // machine; waiting out a 10 s connect timeout would be the bug. (A loaded CI machine took 6.8 s.)
        #expect(elapsed < .seconds(10))
    }
}
