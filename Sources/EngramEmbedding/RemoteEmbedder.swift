import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// A failure of `RemoteEmbedder`.
public enum RemoteEmbedderError: Error, Equatable, CustomStringConvertible {
    /// The server answered with a non-success status (after all retries when the status is retryable).
    case httpStatus(url: String, status: Int, body: String, attempts: Int)
    /// The request failed without an HTTP answer (connection refused, timeout, …) after all retries.
    case transport(url: String, message: String, attempts: Int)
    /// The answer is not the expected JSON.
    case invalidResponse(url: String, reason: String)
    /// The server returned a different number of vectors than texts sent.
    case countMismatch(expected: Int, actual: Int)
    /// The server's vectors do not have the configured/expected length. Refused, never stored.
    case dimensionMismatch(model: String, expected: Int, actual: Int)

    public var description: String {
        switch self {
        case let .httpStatus(url, status, body, attempts):
            return "remote embedder: \(url) answered HTTP \(status) after \(attempts) attempt(s): \(body.prefix(300))"
        case let .transport(url, message, attempts):
            return "remote embedder: \(url) unreachable after \(attempts) attempt(s): \(message)"
        case let .invalidResponse(url, reason):
            return "remote embedder: invalid response from \(url): \(reason)"
        case let .countMismatch(expected, actual):
            return "remote embedder: sent \(expected) texts, got \(actual) vectors"
        case let .dimensionMismatch(model, expected, actual):
            return "remote embedder: model '\(model)' returns \(actual)-d vectors but \(expected) are expected; "
                + "refusing to mix embeddings of different sizes (pick the matching model or a new collection)"
        }
    }
}

/// Embeds through an embedding server the user already runs:
/// - `.openAI`: OpenAI-compatible `POST {base}/v1/embeddings` with `{"model", "input": [...]}`, answer
///   `data[].embedding` (re-ordered by `data[].index`) — OpenAI, vLLM, LM Studio, llama.cpp, TEI, LiteLLM…
/// - `.ollama`: `POST {base}/api/embed` with `{"model", "input": [...]}`, answer `embeddings`.
///
/// Requests time out after `timeout`; HTTP 429, 5xx and connection errors are retried with
/// exponential backoff (honouring `Retry-After`, capped by `maxBackoff`) up to `maxAttempts` attempts.
/// An optional API key is sent as `Authorization: Bearer`. Returned vectors are L2-normalised and
/// must have exactly `dimensions` components (`dimensionMismatch` otherwise); call
/// `verifyDimensions(expected:)` at start-up to refuse a wrong model before anything is stored.
public struct RemoteEmbedder: Embedder {
    /// Wire protocol of the server.
    public enum API: String, Sendable, CaseIterable {
        case openAI = "openai"
        case ollama
    }

    /// Connection and retry settings.
    public struct Configuration: Sendable {
        public var api: API
        /// Server base URL, e.g. `http://127.0.0.1:11434` (Ollama) or `https://api.openai.com`
        /// (a base already ending in `/v1`, or the full endpoint URL, is accepted too).
        public var baseURL: URL
        public var model: String
        /// Expected vector length (e.g. 384 for all-MiniLM-L6-v2, 1536 for text-embedding-3-small).
        public var dimensions: Int
        public var apiKey: String?
        /// Per-request timeout in seconds.
        public var timeout: TimeInterval
        /// Total attempts per request (1 = no retry).
        public var maxAttempts: Int
        /// Delay before the first retry; doubles on each further retry.
        public var initialBackoff: TimeInterval
        public var maxBackoff: TimeInterval
        /// Texts per request.
        public var maxBatchSize: Int

        public init(
            api: API,
            baseURL: URL,
            model: String,
            dimensions: Int,
            apiKey: String? = nil,
            timeout: TimeInterval = 30,
            maxAttempts: Int = 4,
            initialBackoff: TimeInterval = 0.5,
            maxBackoff: TimeInterval = 8,
            maxBatchSize: Int = 64
        ) {
            self.api = api
            self.baseURL = baseURL
            self.model = model
            self.dimensions = dimensions
            self.apiKey = apiKey
            self.timeout = timeout
            self.maxAttempts = max(1, maxAttempts)
            self.initialBackoff = max(0, initialBackoff)
            self.maxBackoff = max(0, maxBackoff)
            self.maxBatchSize = max(1, maxBatchSize)
        }
    }

    public let configuration: Configuration
    public var dimensions: Int { configuration.dimensions }
    public var modelID: String { "\(configuration.api.rawValue):\(configuration.model)" }
    /// The endpoint requests are posted to.
    public let endpoint: URL
    /// The process-wide AsyncHTTPClient (server-side outbound HTTP on SwiftNIO; nothing to shut down).
    private let client: HTTPClient
    /// The largest answer read (a batch of 64 vectors of 3,072 floats is about 4 MB of JSON).
    static let maxResponseBytes = 64 << 20

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.endpoint = Self.endpoint(for: configuration)
        self.client = HTTPClient.shared
    }

    static func endpoint(for c: Configuration) -> URL {
        let base = c.baseURL.absoluteString.hasSuffix("/") ? String(c.baseURL.absoluteString.dropLast()) : c.baseURL.absoluteString
        let suffix: String
        switch c.api {
        case .openAI:
            if base.hasSuffix("/embeddings") { return URL(string: base)! }
            suffix = base.hasSuffix("/v1") ? "/embeddings" : "/v1/embeddings"
        case .ollama:
            if base.hasSuffix("/api/embed") { return URL(string: base)! }
            suffix = "/api/embed"
        }
        return URL(string: base + suffix)!
    }

    public func embed(_ texts: [String]) async throws -> [[Float]] {
        var out: [[Float]] = []
        out.reserveCapacity(texts.count)
        var start = 0
        while start < texts.count {
            let chunk = Array(texts[start..<min(texts.count, start + configuration.maxBatchSize)])
            let vectors = try await request(chunk)
            for var v in vectors {
                guard v.count == configuration.dimensions else {
                    throw RemoteEmbedderError.dimensionMismatch(
                        model: configuration.model,
                        expected: configuration.dimensions,
                        actual: v.count
                    )
                }
                VectorMath.normalize(&v)
                out.append(v)
            }
            start += chunk.count
        }
        return out
    }

    /// Embeds a probe text and throws `dimensionMismatch` unless the server's vectors have
    /// `expected` components. Call at start-up: a mismatch must stop the service, not be stored.
    public func verifyDimensions(expected: Int) async throws {
        let vectors = try await request(["Engram embedding dimension probe"])
        let actual = vectors.first?.count ?? 0
        guard actual == expected else {
            throw RemoteEmbedderError.dimensionMismatch(model: configuration.model, expected: expected, actual: actual)
        }
        if configuration.dimensions != expected {
            throw RemoteEmbedderError.dimensionMismatch(
                model: configuration.model,
                expected: expected,
                actual: configuration.dimensions
            )
        }
    }

    // MARK: transport

    private struct OpenAIRequest: Encodable {
        let model: String
        let input: [String]
    }
    private struct OpenAIResponse: Decodable {
        struct Item: Decodable {
            let index: Int?
            let embedding: [Float]
        }
        let data: [Item]
    }
    private struct OllamaResponse: Decodable { let embeddings: [[Float]] }

    /// One request for `texts` (with retries); returns the raw vectors in input order.
    private func request(_ texts: [String]) async throws -> [[Float]] {
        let body = try JSONEncoder().encode(OpenAIRequest(model: configuration.model, input: texts))
        let data = try await send(body)
        let vectors: [[Float]]
        do {
            switch configuration.api {
            case .openAI:
                let r = try JSONDecoder().decode(OpenAIResponse.self, from: data)
                let sorted = r.data.enumerated().sorted { ($0.element.index ?? $0.offset) < ($1.element.index ?? $1.offset) }
                vectors = sorted.map(\.element.embedding)
            case .ollama:
                vectors = try JSONDecoder().decode(OllamaResponse.self, from: data).embeddings
            }
        } catch {
            throw RemoteEmbedderError.invalidResponse(
                url: endpoint.absoluteString,
                reason: "\(error) — body: \(String(decoding: data.prefix(300), as: UTF8.self))"
            )
        }
        guard vectors.count == texts.count else {
            throw RemoteEmbedderError.countMismatch(expected: texts.count, actual: vectors.count)
        }
        return vectors
    }

    private enum Attempt {
        case success(Data)
        case retryable(RemoteEmbedderError, retryAfter: TimeInterval?)
    }

    private func attemptOnce(_ body: Data, attempt: Int) async throws -> Attempt {
        let url = endpoint.absoluteString
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        if let key = configuration.apiKey, !key.isEmpty {
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: Int
        let headers: HTTPHeaders
        let data: Data
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(configuration.timeout * 1000)))
            status = Int(response.status.code)
            headers = response.headers
            data = Data((try await response.body.collect(upTo: Self.maxResponseBytes)).readableBytesView)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return .retryable(.transport(url: url, message: "\(error)", attempts: attempt), retryAfter: nil)
        }
        if (200..<300).contains(status) { return .success(data) }
        let failure = RemoteEmbedderError.httpStatus(
            url: url,
            status: status,
            body: String(decoding: data.prefix(500), as: UTF8.self),
            attempts: attempt
        )
        guard status == 429 || (500...599).contains(status) else { throw failure }
        return .retryable(failure, retryAfter: headers.first(name: "Retry-After").flatMap(TimeInterval.init))
    }

    private func send(_ body: Data) async throws -> Data {
        var attempt = 0
        while true {
            attempt += 1
            switch try await attemptOnce(body, attempt: attempt) {
            case let .success(data):
                return data
            case let .retryable(failure, retryAfter):
                guard attempt < configuration.maxAttempts else { throw failure }
                let backoff = min(configuration.maxBackoff, configuration.initialBackoff * pow(2, Double(attempt - 1)))
                let delay = min(configuration.maxBackoff, max(retryAfter ?? 0, backoff * Double.random(in: 0.8...1.0)))
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            }
        }
    }
}
