import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes the connection after a response that was sent before its request body had fully
/// arrived (413, or 401 before the body was read). The response says `Connection: close`;
/// the rest of the body is read and discarded (a "lingering close", at most `linger`) so a
/// client that sends its whole body before reading — Python's urllib — gets the response
/// instead of a reset; then the connection is closed. Hummingbird instead waits for the client
/// to close (`Connection: close`) or drains the whole body (keep-alive), hence this handler.
final class EarlyResponseCloseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let linger: TimeAmount
    /// Requests whose end has been read, and responses whose head has been written.
    private var requestsEnded = 0
    private var responsesStarted = 0
    /// The response in progress started before its request had ended.
    private var earlyResponse = false
    /// After an early response: inbound parts are discarded until the request ends.
    private var draining = false
    private var responseFlushed = false
    private var inputDone = false
    private var lingerDeadline: Scheduled<Void>?

    init(linger: TimeAmount) {
        self.linger = linger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .end = part { requestsEnded += 1 }
        guard draining else { return context.fireChannelRead(data) }
        if case .end = part {
            inputDone = true
            closeIfDone(context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Nobody downstream asks for more while draining: keep reading here.
        if draining { context.read() }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case var .head(response):
            responsesStarted += 1
            guard requestsEnded < responsesStarted else { return context.write(data, promise: promise) }
            earlyResponse = true
            response.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(response)), promise: promise)
        case .end where earlyResponse:
            earlyResponse = false
            draining = true
            inputDone = requestsEnded >= responsesStarted
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            written.futureResult.assumeIsolated().whenComplete { _ in
                self.responseFlushed = true
                context.close(mode: .output, promise: nil)  // the client sees the end of the response
                self.closeIfDone(context)
            }
            context.writeAndFlush(data, promise: written)
            lingerDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: linger) { context.close(promise: nil) }
            context.read()
        default:
            context.write(data, promise: promise)
        }
    }

    private func closeIfDone(_ context: ChannelHandlerContext) {
        if responseFlushed, inputDone { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The discarded rest of a request may not even parse.
        if draining { context.close(promise: nil) } else { context.fireErrorCaught(error) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if draining, let e = event as? ChannelEvent, e == .inputClosed {
            inputDone = true
            closeIfDone(context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        lingerDeadline?.cancel()
        lingerDeadline = nil
        context.fireChannelInactive()
    }
}
