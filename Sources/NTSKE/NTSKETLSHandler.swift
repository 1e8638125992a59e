import NIOCore

/// TLS 1.3 for one NTS-KE connection (RFC 8915 §4), server or client side, as a SwiftNIO channel handler: the
/// one place that pumps a ``TLSConnection``'s memory buffers. Ciphertext from the socket goes in, decrypted
/// application bytes go up the pipeline (to the NTS-KE message decoder); application bytes written down the
/// pipeline are encrypted and go out.
///
/// What it tells the handlers after it:
/// - ``HandshakeCompleted`` (user event) once the handshake is done (a client then sends its request);
/// - ``CloseNotifyReceived``, then `ChannelEvent.inputClosed` (user events) when the peer sends close_notify;
/// - ``Failure`` through `errorCaught` when TLS fails (any alert TLS queued is flushed first). It then reads no
///   more; the handler that owns the session decides when to close.
///
/// Closing: `close(mode: .output)` queues close_notify ("no more data from me", RFC 8446 §6.1), sent with the
/// next flush or the close; `close(mode: .all)` writes whatever TLS still holds (response, alert,
/// close_notify) and closes the socket once that is written. Confined to the channel's event loop.
final class NTSKETLSHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Which side starts the handshake.
    enum Role {
        /// Sends the ClientHello as soon as it is in an active channel.
        case client
        /// Waits for the ClientHello.
        case server
    }

    /// User event: the TLS handshake finished (application data may follow).
    struct HandshakeCompleted: Sendable {}

    /// User event: the peer sent close_notify (followed by `ChannelEvent.inputClosed`).
    struct CloseNotifyReceived: Sendable {}

    /// TLS failed. `duringHandshake` tells a failed handshake from a failure of the established session.
    struct Failure: Error, Sendable, CustomStringConvertible {
        var duringHandshake: Bool
        var error: TLSError
        var description: String { error.description }
    }

    private enum State {
        case idle
        case open
        /// After a failure, the peer's close_notify or our close: nothing more is read.
        case stopped
    }

    private let tls: TLSConnection
    private let role: Role
    private var state = State.idle
    /// Promises of plaintext writes encrypted since the last flush, completed when their ciphertext is written.
    private var pendingWrites: [EventLoopPromise<Void>] = []
    /// The last ciphertext write, so that a close waits for it to be written.
    private var lastWrite: EventLoopFuture<Void>?

    init(connection: TLSConnection, role: Role) {
        self.tls = connection
        self.role = role
    }

    // MARK: Starting

    func handlerAdded(context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        // Started on the next loop turn, once the handlers after this one are in the pipeline to hear of a failure.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.assumeIsolated().execute { [self] in start(context: loopBound.value) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        state = .open
        guard role == .client else { return }
        do throws(TLSError) {
            _ = try tls.receive([UInt8]())  // produces the ClientHello
            flushCiphertext(context: context)
        } catch {
            fail(error, context: context)
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state == .open else { return }
        let buffer = unwrapInboundIn(data)
        do throws(TLSError) {
            var progress = try tls.receive(buffer.readableBytesView)
            while state == .open {
                switch progress {
                case .needMore:
                    flushCiphertext(context: context)
                    return
                case .handshakeCompleted:
                    flushCiphertext(context: context)
                    context.fireUserInboundEventTriggered(HandshakeCompleted())
                    guard state == .open else { return }
                    progress = try tls.readApplicationData()
                case .data(let bytes):
                    context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: bytes)))
                    guard state == .open else { return }
                    progress = try tls.readApplicationData()
                case .closed:
                    state = .stopped
                    context.fireUserInboundEventTriggered(CloseNotifyReceived())
                    context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
                    return
                }
            }
        } catch {
            fail(error, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state = .stopped
        let writes = pendingWrites
        pendingWrites = []
        for promise in writes { promise.fail(ChannelError.ioOnClosedChannel) }
        context.fireChannelInactive()
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard state == .open else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        do throws(TLSError) {
            // Encrypted straight from the buffer (no copy into an array first).
            var failure: TLSError?
            unwrapOutboundIn(data).withUnsafeReadableBytes { bytes in
                do throws(TLSError) { try tls.send(bytes) } catch { failure = error }
            }
            if let failure { throw failure }
            if let promise { pendingWrites.append(promise) }
        } catch {
            promise?.fail(error)
            fail(error, context: context)
        }
    }

    func flush(context: ChannelHandlerContext) {
        flushCiphertext(context: context)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        switch mode {
        case .output:
            tls.close()
            promise?.succeed()
        case .input:
            context.close(mode: .input, promise: promise)
        case .all:
            state = .stopped
            let outbound = takeCiphertext(context: context)
            let writes = pendingWrites
            pendingWrites = []
            var written = lastWrite
            if let outbound {
                let final = context.writeAndFlush(wrapOutboundOut(outbound))
                for write in writes { final.cascade(to: write) }
                written = final
            } else {
                for write in writes { write.succeed() }
            }
            guard let written else {
                context.close(promise: promise)
                return
            }
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.whenComplete { _ in loopBound.value.close(promise: promise) }
        }
    }

    // MARK: Helpers

    /// Writes everything TLS wants sent now (handshake messages, records, alerts).
    private func flushCiphertext(context: ChannelHandlerContext) {
        let outbound = takeCiphertext(context: context)
        let writes = pendingWrites
        pendingWrites = []
        guard let outbound else {
            for write in writes { write.succeed() }
            return
        }
        let written = context.writeAndFlush(wrapOutboundOut(outbound))
        for write in writes { written.cascade(to: write) }
        lastWrite = written
    }

    /// What TLS has for the peer, moved straight into a channel buffer (copied once); nil when nothing.
    private func takeCiphertext(context: ChannelHandlerContext) -> ByteBuffer? {
        let pending = tls.pendingOutbound
        guard pending > 0 else { return nil }
        var buffer = context.channel.allocator.buffer(capacity: pending)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { tls.takeOutbound(into: $0) }
        return buffer.readableBytes > 0 ? buffer : nil
    }

    /// Flushes the alert TLS queued, stops reading, and tells the handlers after this one.
    private func fail(_ error: TLSError, context: ChannelHandlerContext) {
        let duringHandshake = !tls.handshakeComplete
        state = .stopped
        flushCiphertext(context: context)
        context.fireErrorCaught(Failure(duringHandshake: duringHandshake, error: error))
    }
}
