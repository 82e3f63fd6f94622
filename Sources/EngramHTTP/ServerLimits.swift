public import EngramHTTPEdge

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
    /// Failed sign-ins (passwords, TOTP codes, links, re-prompts) per minute per client IP and per account.
    public var signInFailuresPerMinute: Double
    /// Burst of failed sign-ins per client IP and per account before 429 (a lockout, audited).
    public var signInFailureBurst: Double
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

    public init(
        maxBodyBytes: Int = 1 << 20,
        writesPerSecond: Double = 50,
        writeBurst: Double = 100,
        authFailuresPerMinute: Double = 30,
        authFailureBurst: Double = 20,
        signInFailuresPerMinute: Double = 5,
        signInFailureBurst: Double = 10,
        allowedOrigins: Set<String> = [],
        corsOrigin: String? = nil,
        behindTLS: Bool = false,
        trustedProxies: TrustedProxies = .none,
        connections: ConnectionLimits = ConnectionLimits()
    ) {
        self.trustedProxies = trustedProxies
        self.connections = connections
        self.maxBodyBytes = maxBodyBytes
        self.writesPerSecond = writesPerSecond
        self.writeBurst = writeBurst
        self.authFailuresPerMinute = authFailuresPerMinute
        self.authFailureBurst = authFailureBurst
        self.signInFailuresPerMinute = signInFailuresPerMinute
        self.signInFailureBurst = signInFailureBurst
        self.allowedOrigins = allowedOrigins
        self.corsOrigin = corsOrigin
        self.behindTLS = behindTLS
    }
}
