public import EngramAccounts
public import EngramAuth
public import EngramHTTPEdge
import EngramMemory
public import Hummingbird
public import HummingbirdAuth
public import NIOCore

/// The request context: Hummingbird's core storage, the client's address (rate limits per IP,
/// loopback-only endpoints) and the caller as `BearerAuthMiddleware` verified them, once.
public struct EngramRequestContext: AuthRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer address of the connection.
    public let remoteAddress: SocketAddress?
    /// The real client: the peer, or the address a trusted proxy forwarded (`ClientAddressMiddleware`).
    public var client: ClientAddress
    /// The claims of the request's bearer token when its signature and time claims verified
    /// (the write limit's key).
    public var verifiedToken: TokenClaims?
    /// The caller: the verified token's principal, still valid in the member directory (its role
    /// the member's current role, never more than the token's).
    public var identity: Principal?
    /// The browser session the request's cookie names, when it is live (`SessionMiddleware`).
    public var session: BrowserSession?
    /// Why the request has no `identity` (a 401, or a directory failure), answered by `requirePrincipal()`.
    package var authenticationFailure: (any Error)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        client = ClientAddress(peer: remoteAddress?.ipAddress ?? "unknown")
    }

    /// The client IP as text (`unknown` when not available).
    public var clientIP: String { client.ip }

    /// Whether the client is local: loopback peer, not relayed by a proxy.
    public var isLoopback: Bool { client.isLoopback }

    /// The verified caller, or the reason there is none: 401 with a `WWW-Authenticate` challenge
    /// for a missing, malformed, forged, expired or revoked token, a removed member or an unknown user.
    public func requirePrincipal() throws -> Principal {
        if let identity { return identity }
        throw authenticationFailure ?? APIError.unauthorized("missing bearer token")
    }
}

/// Resolves the real client address of every request (see `TrustedProxies`).
package struct ClientAddressMiddleware: RouterMiddleware {
    package typealias Context = EngramRequestContext
    package let proxies: TrustedProxies

    package init(proxies: TrustedProxies) { self.proxies = proxies }

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.client = proxies.client(peer: context.remoteAddress?.ipAddress ?? "unknown", headers: request.headers)
        return try await next(request, context)
    }
}
