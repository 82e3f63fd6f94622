import Hummingbird
public import HummingbirdCore
public import Logging
public import NIOCore

/// Hummingbird's HTTP/1 child channel with Engram's connection limits in front: the per-IP
/// connection cap, the header and body timeouts, and closing after early responses. The idle
/// timeout is Hummingbird's own (`HTTP1Channel.Configuration.idleTimeout`).
public struct EngramHTTPChannel: ServerChildChannel {
    public typealias Value = HTTP1Channel.Value

    let http1: HTTP1Channel
    let counter: ConnectionCounter
    let trustedProxies: TrustedProxies

    init(responder: @escaping HTTPChannelHandler.Responder, limits: ConnectionLimits, trustedProxies: TrustedProxies) {
        let header = limits.headerTimeout
        let body = limits.bodyTimeout
        http1 = HTTP1Channel(
            responder: responder,
            configuration: .init(
                additionalChannelHandlers: [RequestTimeoutHandler(header: header, body: body), EarlyResponseCloseHandler(linger: body)],
                idleTimeout: limits.idleTimeout
            )
        )
        counter = ConnectionCounter(limit: limits.maxConnectionsPerIP)
        self.trustedProxies = trustedProxies
    }

    /// The server builder for `Application(server:)`.
    public static func builder(limits: ConnectionLimits, trustedProxies: TrustedProxies) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in EngramHTTPChannel(responder: responder, limits: limits, trustedProxies: trustedProxies) }
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let ip = channel.remoteAddress?.ipAddress ?? "unknown"
        let counted = !trustedProxies.contains(ip)
        let admitted = !counted || counter.admit(ip)
        if counted, admitted {
            let counter = self.counter
            channel.closeFuture.whenComplete { _ in counter.release(ip) }
        }
        if !admitted { logger.warning("connection refused: per-IP connection limit", metadata: ["limit": "\(counter.limit)"]) }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(admitted ? RequestBytesHandler() : RefuseConnectionHandler())
        }.flatMap { http1.setup(channel: channel, logger: logger) }
    }

    public func handle(value: Value, logger: Logger) async {
        await http1.handle(value: value, logger: logger)
    }
}
