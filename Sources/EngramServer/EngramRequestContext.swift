import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus the client's address
/// (rate limits per IP, loopback-only endpoints).
public struct EngramRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer address of the connection.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The client IP as text (`unknown` when not available).
    public var clientIP: String { remoteAddress?.ipAddress ?? "unknown" }

    /// Whether the client connects from the loopback interface.
    public var isLoopback: Bool {
        guard let ip = remoteAddress?.ipAddress else { return false }
        return ip.hasPrefix("127.") || ip == "::1" || ip == "::ffff:127.0.0.1"
    }
}
