public import EngramHTTPEdge
public import EngramStore
public import EngramStoreModel
import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore

/// The memory domain's check of one payload bound for a memory collection (`memories_*`): the problem, or
/// nil to accept. `complete` is false for partial edits (set payload).
public typealias MemoryPayloadCheck = @Sendable (_ collection: String, _ id: PointID?, _ payload: Payload, _ complete: Bool) -> String?

/// Settings of the Qdrant-compatible listener.
public struct QdrantAPIConfiguration: Sendable {
    /// Required in `api-key` or `Authorization: Bearer` on every request except `/` and health checks.
    public var apiKey: String
    /// Largest JSON body (Qdrant's default is 32 MiB).
    public var maxBodyBytes: Int
    /// Largest snapshot upload.
    public var maxUploadBytes: Int
    /// Called (asynchronously) after a successful write into a memory collection (`memories_*`),
    /// so the memory service can bring its in-memory indexes up to date.
    public var onMemoryCollectionWrite: (@Sendable (String) async -> Void)?
    /// The memory domain's rules for a payload written into a memory collection: returns the problem
    /// (refused with 400) or nil. `complete` is false for partial edits (set payload). Nil: secrets only.
    public var memoryPayloadProblem: MemoryPayloadCheck?
    /// Points no read returns (the memory service's quarantined memories).
    public var readExclusion: ReadExclusion?
    /// Timeouts and the per-IP connection cap (as on the main listener).
    public var connections: ConnectionLimits
    /// Proxies whose forwarding headers name the real client.
    public var trustedProxies: TrustedProxies
    /// Wrong or missing keys allowed per client IP per minute, and their burst, before 429. A
    /// request with the right key is never refused for other callers' failures.
    public var keyFailuresPerMinute: Double
    public var keyFailureBurst: Double

    public init(
        apiKey: String,
        maxBodyBytes: Int = 32 << 20,
        maxUploadBytes: Int = 4 << 30,
        onMemoryCollectionWrite: (@Sendable (String) async -> Void)? = nil,
        memoryPayloadProblem: MemoryPayloadCheck? = nil,
        readExclusion: ReadExclusion? = nil,
        connections: ConnectionLimits = ConnectionLimits(),
        trustedProxies: TrustedProxies = .none,
        keyFailuresPerMinute: Double = 30,
        keyFailureBurst: Double = 20
    ) {
        self.apiKey = apiKey
        self.maxBodyBytes = maxBodyBytes
        self.maxUploadBytes = maxUploadBytes
        self.onMemoryCollectionWrite = onMemoryCollectionWrite
        self.memoryPayloadProblem = memoryPayloadProblem
        self.readExclusion = readExclusion
        self.connections = connections
        self.trustedProxies = trustedProxies
        self.keyFailuresPerMinute = keyFailuresPerMinute
        self.keyFailureBurst = keyFailureBurst
    }
}

/// The Qdrant-compatible REST API (the subset of Qdrant 1.19 Engram serves) over an
/// `EmbeddedStore`: Qdrant's routes, envelope, status codes and error texts. It knows nothing
/// of storage formats; writes into memory collections (`memories_*`) pass the secret filter.
public enum QdrantAPI {
    /// The Qdrant version whose REST API is emulated (reported by `GET /`).
    public static let emulatedVersion = "1.19.0"

    public static func router(store: EmbeddedStore, configuration: QdrantAPIConfiguration, logger: Logger) -> Router<QdrantRequestContext> {
        let router = Router(context: QdrantRequestContext.self)
        router.add(middleware: QdrantLogMiddleware(logger: logger))
        router.add(middleware: QdrantAuthMiddleware(configuration: configuration))
        if let hook = configuration.onMemoryCollectionWrite { router.add(middleware: MemoryWriteHookMiddleware(hook: hook)) }
        QdrantRoutes(store: store, configuration: configuration).register(on: router)
        return router
    }

    /// A Hummingbird application serving the API on `host:port`.
    public static func application(
        store: EmbeddedStore,
        configuration: QdrantAPIConfiguration,
        host: String,
        port: Int,
        logger: Logger
    ) -> some ApplicationProtocol {
        Application(
            router: router(store: store, configuration: configuration, logger: logger),
            server: EngramHTTPChannel.builder(limits: configuration.connections, trustedProxies: configuration.trustedProxies),
            configuration: .init(address: .hostname(host, port: port), serverName: "engram-qdrant"),
            logger: logger
        )
    }

    /// Splits `HOST:PORT` (`[::1]:6333` for IPv6).
    public static func parseListen(_ s: String) -> (host: String, port: Int)? {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        var host = String(s[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }
}

/// The request context of the Qdrant listener: Hummingbird's storage and the real client address
/// (the peer, or what a trusted proxy forwarded), for the per-client key-failure limit.
public struct QdrantRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client address, as far as the edge can tell.
    public var client: ClientAddress

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        client = ClientAddress(peer: source.channel.remoteAddress?.ipAddress ?? "unknown")
    }
}

/// `api-key: K` or `Authorization: Bearer K`: 401 when missing, 403 when wrong (Qdrant's texts).
/// Missing and wrong keys are counted per client IP; a client over its budget gets 429 with
/// `Retry-After` (guessing the key gets slow). The right key always passes.
struct QdrantAuthMiddleware: RouterMiddleware {
    typealias Context = QdrantRequestContext
    let apiKey: String
    let trustedProxies: TrustedProxies
    let failures: RateLimiter
    static var open: Set<String> { ["/", "/healthz", "/livez", "/readyz"] }

    init(configuration: QdrantAPIConfiguration) {
        apiKey = configuration.apiKey
        trustedProxies = configuration.trustedProxies
        failures = RateLimiter(rate: configuration.keyFailuresPerMinute / 60, burst: configuration.keyFailureBurst)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.open.contains(request.uri.path) { return try await next(request, context) }
        var context = context
        context.client = trustedProxies.client(peer: context.client.ip, headers: request.headers)
        var key = request.headers[HTTPField.Name("api-key")!]
        if key == nil, let auth = request.headers[.authorization], auth.lowercased().hasPrefix("bearer ") {
            key = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        if let key, Self.constantTimeEqual(key, apiKey) { return try await next(request, context) }
        let bucket = "ip:" + context.client.ip
        if let wait = failures.wouldAllow(bucket) {
            var response = Envelope.text("Too many requests with a wrong API key; retry later", status: .tooManyRequests)
            response.headers[.retryAfter] = String(max(1, Int(wait.rounded(.up))))
            return response
        }
        _ = failures.take(bucket)
        guard key != nil else {
            return Envelope.text("Must provide an API key or an Authorization bearer token", status: .unauthorized)
        }
        return Envelope.text("Invalid API key or JWT", status: .forbidden)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }
}

/// One line per request: method, route template, status, milliseconds (never bodies or keys).
struct QdrantLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        logger.info(
            "qdrant request",
            metadata: [
                "method": "\(request.method.rawValue)", "route": "\(context.endpointPath ?? "unmatched")",
                "status": "\(response.status.code)", "ms": "\(String(format: "%.2f", Envelope.seconds(since: start) * 1000))",
            ]
        )
        return response
    }
}

/// Tells the owner of memory collections that one was written through this API.
struct MemoryWriteHookMiddleware<Context: RequestContext>: RouterMiddleware {
    let hook: @Sendable (String) async -> Void

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        guard request.method != .get, request.method != .head, (200..<300).contains(response.status.code) else { return response }
        let parts = request.uri.path.split(separator: "/")
        if parts.count >= 2, parts[0] == "collections" {
            let name = String(parts[1]).removingPercentEncoding ?? String(parts[1])
            if name.hasPrefix("memories_") { Task { await hook(name) } }
        }
        return response
    }
}
