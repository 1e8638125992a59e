import CFleetShim
import NodeModels

/// One bound UDP socket of a listener, with the receive-timestamping mode the kernel granted.
struct UDPSocket: Sendable {
    enum Timestamping: String, Sendable {
        case timestamping = "SO_TIMESTAMPING"
        case timestampNS = "SO_TIMESTAMPNS"
        case none
    }

    let descriptor: Int32
    let endpoint: SocketEndpoint
    let timestamping: Timestamping
    /// Kernel transmit timestamps come back on the error queue (SO_TIMESTAMPING TX_SOFTWARE with OPT_ID).
    let transmitTimestamps: Bool

    /// Binds `endpoint`; with `reusePort` several sockets share it, one receive loop each. A `buffer` above
    /// 0 asks for receive and send buffers of that many bytes (absorbing bursts of requests).
    static func bind(_ endpoint: SocketEndpoint, reusePort: Bool, buffer: Int = 0) throws(NodeStartError) -> UDPSocket {
        var mode: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let fd = cfs_udp_bind(endpoint.host, endpoint.port, reusePort ? 1 : 0, &mode, &message, message.count)
        guard fd >= 0 else {
            let text = String(nulTerminated: message)
            throw NodeStartError(message: "cannot listen on \(endpoint): \(text)")
        }
        if buffer > 0 { _ = cfs_set_buffers(fd, Int32(clamping: buffer)) }
        let timestamping: Timestamping =
            mode == Int32(CFS_STAMP_TIMESTAMPING.rawValue) ? .timestamping
            : mode == Int32(CFS_STAMP_NS.rawValue) ? .timestampNS : .none
        let transmit = timestamping == .timestamping && cfs_enable_tx_timestamps(fd) == 0
        return UDPSocket(descriptor: fd, endpoint: endpoint, timestamping: timestamping, transmitTimestamps: transmit)
    }

    /// The receive buffer the kernel granted, in bytes as it reports them (twice the usable size on Linux).
    var receiveBuffer: Int { Int(cfs_receive_buffer(descriptor)) }

    /// The port actually bound (differs from the configured one for port 0).
    var boundPort: Int { Int(cfs_local_port(descriptor)) }

    func close() { cfs_close(descriptor) }
}

/// A node cannot start: a clear message for the operator, and a non-zero exit.
public struct NodeStartError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
