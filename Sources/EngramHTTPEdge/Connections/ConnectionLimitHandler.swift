import NIOCore
import Synchronization

/// Open connections per client IP. Hummingbird's `AvailableConnectionsDelegate` caps the
/// server's total only (it never sees the peer), so the per-IP cap is counted here.
final class ConnectionCounter: Sendable {
    private let open = Mutex<[String: Int]>([:])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Admits one more connection from `ip` unless it already holds `limit`.
    func admit(_ ip: String) -> Bool {
        open.withLock { all in
            let n = all[ip, default: 0]
            guard n < limit else { return false }
            all[ip] = n + 1
            return true
        }
    }

    func release(_ ip: String) {
        open.withLock { all in
            let n = all[ip, default: 1] - 1
            all[ip] = n > 0 ? n : nil
        }
    }

    func count(_ ip: String) -> Int { open.withLock { $0[ip, default: 0] } }
}

/// First handler of a connection refused by the per-IP cap: answers 503 and closes.
final class RefuseConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    static let response = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"

    private var refused = false

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { refuse(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        refuse(context)
        context.fireChannelActive()
    }

    /// Nothing the client sends is read.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    private func refuse(_ context: ChannelHandlerContext) {
        guard !refused else { return }
        refused = true
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(string: Self.response)), promise: nil)
        context.close(promise: nil)
    }
}
