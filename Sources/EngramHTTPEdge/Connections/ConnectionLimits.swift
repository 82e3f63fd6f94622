public import NIOCore

/// Connection-level limits: how long a client may take and how many connections one IP may hold.
/// Defaults suit a service behind a reverse proxy.
public struct ConnectionLimits: Sendable, Equatable {
    /// A keep-alive connection with no request in progress is closed after this long
    /// (Hummingbird's `HTTP1Channel` idle timeout).
    public var idleTimeout: TimeAmount
    /// Time from the first byte of a request until its head (request line and headers) is complete.
    public var headerTimeout: TimeAmount
    /// Time from the request head until the whole body has arrived.
    public var bodyTimeout: TimeAmount
    /// Concurrent connections per client IP (trusted proxies are exempt); further ones get 503 and are closed.
    public var maxConnectionsPerIP: Int

    public init(
        idleTimeout: TimeAmount = .seconds(60),
        headerTimeout: TimeAmount = .seconds(10),
        bodyTimeout: TimeAmount = .seconds(30),
        maxConnectionsPerIP: Int = 64
    ) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maxConnectionsPerIP = maxConnectionsPerIP
    }
}
