import CFleetShim
import Glibc
import NTPCore
import NodeModels

/// A one-shot NTP client (`fleetctl query`, the demo, the fleet health sweep): sends a client request with a
/// random transmit timestamp, as chrony does, and measures the response with the protocol core's
/// `ClientExchange`. T1 and T4 are read from the system clock (T4 from the kernel receive timestamp when
/// the socket provides one), so the result is the server's offset from this machine's clock.
public struct NTPQueryClient: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// The server's host said nothing listens on that port (ICMP port unreachable: ECONNREFUSED).
        public var refused: Bool
        public init(_ description: String, refused: Bool = false) {
            self.description = description
            self.refused = refused
        }
    }

    public var server: SocketEndpoint
    public var timeoutMilliseconds: Int32
    public var version: UInt8
    /// The numeric source address to send from; nil lets the kernel choose. A node polls its siblings from
    /// its own NTP address, the one they know it by (and accept its keys from).
    public var localAddress: String?

    public init(server: SocketEndpoint, timeoutMilliseconds: Int32 = 1000, version: UInt8 = 4, localAddress: String? = nil) {
        self.server = server
        self.timeoutMilliseconds = timeoutMilliseconds
        self.version = version
        self.localAddress = localAddress
    }

    /// One exchange. Throws `Failure` for a timeout or socket error, `ExchangeError` for a rejected response.
    /// With a `key`, the request carries a MAC (RFC 5905 §7.5, RFC 8573) and only a response authenticated
    /// under the same key is accepted: anything else is ignored as if it had not arrived (as chrony does), so
    /// a forged answer costs at most a timeout.
    public func query(key: SymmetricKey? = nil, computer: (any MACComputer)? = nil) throws -> NTPMeasurement {
        var random = SystemRandomNumberGenerator()
        let cookie = NTPTimestamp(rawValue: random.next())
        var packet = NTPPacket(header: ClientExchange.request(transmit: cookie, version: version))
        if let key, let computer {
            let header = packet.header.serialized()
            packet.mac = header.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, computer: computer) }
        }
        let request = packet.serialized()
        let exchange = try self.exchange(request) { response in
            // Not the answer to this request (a late or stray datagram): keep waiting.
            guard response.count >= NTPHeader.length, (try? NTPHeader(parsing: response))?.originTimestamp == cookie else { return false }
            guard let key, let computer else { return true }
            guard let mac = try? NTPPacket(parsing: response).mac, mac.keyID == key.id else { return false }
            return response.withUnsafeBytes { bytes in
                SymmetricAuthentication.verify(
                    mac, message: UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - mac.encodedLength)]), key: key, computer: computer)
            }
        }
        return try ClientExchange.measure(
            response: exchange.response, sentTransmit: cookie, t1: exchange.t1, t4: exchange.t4, localPrecision: 1e-6)
    }

    /// A request sent and the response it got, with the local send (T1) and receive (T4) times.
    public struct Exchange: Sendable {
        public var response: [UInt8]
        public var t1: NTPTimestamp
        public var t4: NTPTimestamp
    }

    /// Sends `request` and waits for the first datagram that `matches` accepts (others are ignored), reading
    /// T4 from the kernel receive timestamp when the socket has one. Also the transport of NTS queries.
    public func exchange(_ request: [UInt8], matches: ([UInt8]) -> Bool) throws -> Exchange {
        var mode: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let fd = cfs_udp_connect_from(server.host, server.port, localAddress, &mode, &message, message.count)
        guard fd >= 0 else { throw Failure(String(nulTerminated: message)) }
        defer { cfs_close(fd) }

        let t1 = NTPTimestamp(Self.systemNow())
        let sent = request.withUnsafeBytes { cfs_send(fd, $0.baseAddress, $0.count) }
        guard sent == request.count else { throw Failure("send to \(server) failed: \(String(cString: strerror(Int32(-sent))))") }

        var buffer = [UInt8](repeating: 0, count: 4096)
        let start = cfs_monotonic_ns()
        let limit = Int64(timeoutMilliseconds) * 1_000_000
        var remaining = limit
        while remaining > 0 {
            var seconds: Int64 = 0
            var nanoseconds: Int32 = 0
            var stamped: Int32 = 0
            let length = buffer.withUnsafeMutableBytes {
                cfs_recv_stamped(fd, $0.baseAddress, $0.count, Int32(max(1, remaining / 1_000_000)), &seconds, &nanoseconds, &stamped)
            }
            let now = Self.systemNow()
            if length < 0 {
                throw Failure("receive from \(server) failed: \(String(cString: strerror(Int32(-length))))", refused: -length == Int(ECONNREFUSED))
            }
            if length > 0 {
                let response = Array(buffer[0..<length])
                if matches(response) {
                    let t4 = stamped == 1 ? UnixTime(seconds: seconds, nanoseconds: UInt32(nanoseconds)) : now
                    return Exchange(response: response, t1: t1, t4: NTPTimestamp(t4))
                }
            }
            remaining = limit - Int64(cfs_monotonic_ns() - start)
        }
        throw Failure("no response from \(server) within \(timeoutMilliseconds) ms")
    }

    static func systemNow() -> UnixTime {
        var seconds: Int64 = 0
        var nanoseconds: Int32 = 0
        cfs_clock_realtime(&seconds, &nanoseconds)
        return UnixTime(seconds: seconds, nanoseconds: UInt32(nanoseconds))
    }
}
