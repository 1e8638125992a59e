import CFleetShim
import NodeModels
import Node
import XCTest

/// A connected UDP socket for sending arbitrary bytes at a node and collecting whatever comes back.
final class RawUDPClient {
    let descriptor: Int32

    init(host: String, port: UInt16) throws {
        var mode: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        descriptor = cfs_udp_connect(host, port, &mode, &message, message.count)
        guard descriptor >= 0 else {
            throw NodeStartError(message: String(nulTerminated: message))
        }
    }

    deinit { cfs_close(descriptor) }

    func send(_ bytes: [UInt8]) {
        let sent = bytes.withUnsafeBytes { cfs_send(descriptor, $0.baseAddress, $0.count) }
        XCTAssertEqual(sent, bytes.count, "send failed")
    }

    /// One datagram, or nil after `timeoutMilliseconds` of silence.
    func receive(timeoutMilliseconds: Int32) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var seconds: Int64 = 0
        var nanoseconds: Int32 = 0
        var stamped: Int32 = 0
        let length = buffer.withUnsafeMutableBytes {
            cfs_recv_stamped(descriptor, $0.baseAddress, $0.count, timeoutMilliseconds, &seconds, &nanoseconds, &stamped)
        }
        guard length > 0 else { return nil }
        return Array(buffer[0..<length])
    }

    /// Everything that arrives until `quietMilliseconds` pass without a datagram.
    func drain(quietMilliseconds: Int32) -> [[UInt8]] {
        var all: [[UInt8]] = []
        while let datagram = receive(timeoutMilliseconds: quietMilliseconds) { all.append(datagram) }
        return all
    }
}
