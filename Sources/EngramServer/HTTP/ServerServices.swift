import EngramAuth
import EngramCore
import EngramHTTPEdge
import EngramMemory
import EngramSchemas
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Prometheus

/// Limits and edge policy applied at the HTTP edge.
public struct ServerLimits: Sendable {
    /// Largest accepted request body (bigger → 413).
    public var maxBodyBytes: Int
    /// Sustained write requests (non-GET) per second per token (or per IP without one).
    public var writesPerSecond: Double
    /// Burst of write requests per token.
    public var writeBurst: Double
    /// Failed authentications per minute per client IP and per claimed subject before 429.
    public var authFailuresPerMinute: Double
    /// Burst of failed authentications per client IP and per claimed subject.
    public var authFailureBurst: Double
    /// Browser origins allowed to call `/mcp` (requests with another `Origin` get 403:
    /// DNS-rebinding protection). Requests without `Origin` (CLI clients) pass.
    public var allowedOrigins: Set<String>
    /// The one origin granted CORS access to the REST API (`ENGRAM_CORS_ORIGIN`), if any.
    public var corsOrigin: String?
    /// Send `Strict-Transport-Security` (behind a TLS-terminating proxy).
    public var behindTLS: Bool
    /// Proxies whose forwarding headers name the real client (rate limits, loopback checks).
    public var trustedProxies: TrustedProxies
    /// Header, body and idle timeouts; connections per client IP.
    public var connections: ConnectionLimits

    public init(maxBodyBytes: Int = 1 << 20, writesPerSecond: Double = 50, writeBurst: Double = 100,
                authFailuresPerMinute: Double = 30, authFailureBurst: Double = 20,
                allowedOrigins: Set<String> = [], corsOrigin: String? = nil, behindTLS: Bool = false,
                trustedProxies: TrustedProxies = .none, connections: ConnectionLimits = ConnectionLimits()) {
        self.trustedProxies = trustedProxies
        self.connections = connections
        self.maxBodyBytes = maxBodyBytes
        self.writesPerSecond = writesPerSecond
        self.writeBurst = writeBurst
        self.authFailuresPerMinute = authFailuresPerMinute
        self.authFailureBurst = authFailureBurst
        self.allowedOrigins = allowedOrigins
        self.corsOrigin = corsOrigin
        self.behindTLS = behindTLS
    }
}

/// What readiness reports about the running service.
public struct ReadinessInfo: Sendable {
    public var store: String
    /// Checks the store's backend; returns a problem description when it is not usable.
    public var probe: (@Sendable () async -> String?)?
    public var embedder: String
    public var blas: String
    /// The hand-written SIMD kernels and the CPU path each runs (e.g. `int8_scan: avx512`).
    public var kernels: [String: String]
    public var mode: String

    public init(store: String, probe: (@Sendable () async -> String?)? = nil, embedder: String, blas: String,
                kernels: [String: String] = [:], mode: String) {
        self.kernels = kernels
        self.store = store
        self.probe = probe
        self.embedder = embedder
        self.blas = blas
        self.mode = mode
    }
}

/// Everything the HTTP layer needs: the memory domain, identity and tokens, limits.
public struct ServerServices: Sendable {
    public let memories: MemoryService
    public let directory: MemberDirectory
    public let tokens: TokenService
    public let limits: ServerLimits
    public let readiness: ReadinessInfo
    public let logger: Logger
    /// Where swift-metrics values are collected for `/metrics` (nil: no endpoint).
    public let metrics: PrometheusCollectorRegistry?
    let tools: ToolCatalog
    /// Token buckets for write requests (REST non-GET routes and MCP write tools), per verified token.
    let writeLimiter: RateLimiter

    public init(memories: MemoryService, directory: MemberDirectory, tokens: TokenService, limits: ServerLimits = ServerLimits(),
                readiness: ReadinessInfo, metrics: PrometheusCollectorRegistry? = nil, logger: Logger) throws {
        self.metrics = metrics
        self.memories = memories
        self.directory = directory
        self.tokens = tokens
        self.limits = limits
        self.readiness = readiness
        self.logger = logger
        tools = try ToolCatalog.load()
        writeLimiter = RateLimiter(rate: limits.writesPerSecond, burst: limits.writeBurst)
    }

    /// Verifies the bearer token and re-checks the caller against the directory:
    /// a revoked token, an unknown user or a removed member is refused at once,
    /// and the role is the member's current role (never more than the token's).
    func authenticate(_ request: Request) async throws -> Principal {
        guard let token = TokenService.bearerToken(request.headers[.authorization]) else {
            throw APIError.unauthorized("missing bearer token")
        }
        let claims: TokenClaims
        do {
            claims = try await tokens.verify(token)
        } catch let e as TokenError {
            throw APIError.unauthorized(e.description)
        }
        if try await directory.isRevoked(jti: claims.jti.value) { throw APIError.unauthorized(TokenError.revoked.description) }
        var principal = claims.principal
        if let org = principal.orgId {
            guard let current = try await directory.role(userId: principal.userId, orgId: org) else {
                throw APIError.unauthorized("not a member of this organisation")
            }
            principal.role = min(current, principal.role)
        } else if !(try await directory.userExists(principal.userId)) {
            throw APIError.unauthorized("unknown user")
        }
        return principal
    }
}

/// The MCP tools: definitions loaded from `schemas/mcp/*.json` and their validators.
struct ToolCatalog: Sendable {
    let definitions: [JSONValue]
    let validators: [String: JSONSchemaValidator]

    static func load() throws -> ToolCatalog {
        var defs: [JSONValue] = []
        var validators: [String: JSONSchemaValidator] = [:]
        for name in EngramSchemas.toolNames {
            let value = try JSONDecoder().decode(JSONValue.self, from: try EngramSchemas.data("mcp/\(name).json"))
            guard value["name"]?.stringValue == name, let input = value["inputSchema"] else {
                throw APIError(.internalServerError, code: "schema", "schema of \(name) is malformed")
            }
            defs.append(value)
            validators[name] = JSONSchemaValidator(schema: input)
        }
        return ToolCatalog(definitions: defs, validators: validators)
    }

    /// The REST body schema derived from a tool's input schema without `id` (taken from the path).
    func validator(forBodyOf tool: String, droppingID: Bool = false) -> JSONSchemaValidator? {
        guard let v = validators[tool] else { return nil }
        guard droppingID, case var .object(schema) = v.schema else { return v }
        if case var .object(props)? = schema["properties"] { props["id"] = nil; schema["properties"] = .object(props) }
        if case let .array(req)? = schema["required"] { schema["required"] = .array(req.filter { $0 != "id" }) }
        return JSONSchemaValidator(schema: .object(schema))
    }
}
