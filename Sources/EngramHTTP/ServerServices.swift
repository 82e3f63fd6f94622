public import EngramAccounts
public import EngramAuth
public import EngramHTTPEdge
public import EngramMemory
public import Logging
public import Prometheus

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
    /// Verifies bearer tokens (`tokens` unless a test counts verifications).
    package let verifier: any BearerTokenVerifier
    /// The organisation administration rules over `directory` and the memories' audit log.
    package let organisations: OrgAdministration
    package let tools: ToolCatalog
    /// People's accounts: passwords, TOTP, browser sessions, personal tokens, links (nil: the server
    /// has no accounts; the account routes answer 404).
    public let accounts: AccountService?
    /// The OAuth authorization server for MCP clients (nil: none; static tokens only).
    public let oauth: OAuthService?
    /// The base of links handed out (`ENGRAM_PUBLIC_URL`); nil: the request's own origin.
    package let publicURL: String?
    /// Failed sign-ins, TOTP codes, link uses and re-prompts, per client IP and per account.
    package let signInFailures: RateLimiter
    /// Token buckets for write requests (REST non-GET routes and MCP write tools), per verified token.
    package let writeLimiter: RateLimiter
    /// Where the write, failed-authentication and failed sign-in buckets live when replicas share them
    /// (PostgreSQL metadata); nil: in this process. Connection caps stay per replica.
    package let sharedRateBuckets: (any SharedRateBuckets)?

    public init(
        memories: MemoryService,
        directory: MemberDirectory,
        tokens: TokenService,
        limits: ServerLimits = ServerLimits(),
        readiness: ReadinessInfo,
        metrics: PrometheusCollectorRegistry? = nil,
        logger: Logger,
        verifier: (any BearerTokenVerifier)? = nil,
        accounts: AccountService? = nil,
        oauth: OAuthService? = nil,
        publicURL: String? = nil,
        sharedRateBuckets: (any SharedRateBuckets)? = nil
    ) throws {
        self.sharedRateBuckets = sharedRateBuckets
        self.accounts = accounts
        self.oauth = oauth
        self.publicURL = publicURL
        signInFailures = RateLimiter(
            rate: limits.signInFailuresPerMinute / 60,
            burst: limits.signInFailureBurst,
            name: "sign-in-failures",
            shared: sharedRateBuckets
        )
        self.metrics = metrics
        self.memories = memories
        self.directory = directory
        self.tokens = tokens
        self.limits = limits
        self.readiness = readiness
        self.logger = logger
        self.verifier = verifier ?? tokens
        organisations = OrgAdministration(directory: directory, audit: memories.audit)
        tools = try ToolCatalog.load()
        writeLimiter = RateLimiter(rate: limits.writesPerSecond, burst: limits.writeBurst, name: "writes", shared: sharedRateBuckets)
    }
}
