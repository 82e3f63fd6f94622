import NIOCore
import NIOHTTPTypes

/// Sent down the pipeline by `RequestBytesHandler` whenever bytes arrive, so the timeout
/// handler (which sees only decoded parts) knows a request head has started.
struct RequestBytesArrived: Sendable {}

/// Byte-level marker ahead of the HTTP decoder: the decoder emits nothing for a half-sent
/// head, so this is the only way to tell "idle" from "sending headers slowly".
final class RequestBytesHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireUserInboundEventTriggered(RequestBytesArrived())
        context.fireChannelRead(data)
    }
}

/// Closes a connection whose request head takes longer than `header` from its first byte,
/// or whose body takes longer than `body` from the end of the head (a trickled body never
/// completes). Hummingbird's `idleTimeout` covers idle keep-alive connections but restarts on
/// every body part and cannot see a half-sent head, hence this handler.
final class RequestTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private enum Phase { case betweenRequests, head, body }

    private let header: TimeAmount
    private let body: TimeAmount
    private var phase = Phase.betweenRequests
    private var deadline: Scheduled<Void>?

    init(header: TimeAmount, body: TimeAmount) {
        self.header = header
        self.body = body
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is RequestBytesArrived else { return context.fireUserInboundEventTriggered(event) }
        if phase == .betweenRequests {
            phase = .head
            arm(context, header)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            phase = .body
            arm(context, body)
        case .body:
            break
        case .end:
            phase = .betweenRequests
            disarm()
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    private func arm(_ context: ChannelHandlerContext, _ amount: TimeAmount) {
        disarm()
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: amount) {
            context.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
