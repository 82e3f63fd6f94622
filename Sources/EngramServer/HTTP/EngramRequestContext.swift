import EngramAuth
import EngramHTTPEdge
import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage, the client's address (rate limits
/// per IP, loopback-only endpoints) and the bearer token once it verified.
public struct EngramRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer address of the connection.
    public let remoteAddress: SocketAddress?
    /// The real client: the peer, or the address a trusted proxy forwarded (`ClientAddressMiddleware`).
    public var client: ClientAddress
    /// The claims of the request's bearer token when its signature and time claims verified
    /// (`AuthFailureLimitMiddleware`); the directory checks still happen in `authenticate`.
    public var verifiedToken: TokenClaims?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        client = ClientAddress(peer: remoteAddress?.ipAddress ?? "unknown")
    }

    /// The client IP as text (`unknown` when not available).
    public var clientIP: String { client.ip }

    /// Whether the client is local: loopback peer, not relayed by a proxy.
    public var isLoopback: Bool { client.isLoopback }
}

/// Resolves the real client address of every request (see `TrustedProxies`).
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = EngramRequestContext
    let proxies: TrustedProxies

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.client = proxies.client(peer: context.remoteAddress?.ipAddress ?? "unknown", headers: request.headers)
        return try await next(request, context)
    }
}
