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
            return Self.authentic(response, key: key, computer: computer)
        }
        return try ClientExchange.measure(
            response: exchange.response, sentTransmit: cookie, t1: exchange.t1, t4: exchange.t4, localPrecision: 1e-6)
    }

    /// One exchange of a source polled with interleaved mode allowed (RFC 9769 §2, chrony's `xleave`): the
    /// request comes from `state` (interleaved form when it can name an earlier answer), T1 is the kernel's
    /// transmit timestamp and T4 the kernel's receive timestamp, and `state` decides what the answer means.
    /// A datagram whose origin is neither of the request's values is dropped, counted in `state`, and the
    /// wait goes on. Returns nil for a good answer that gives no new sample (see `InterleavedClient`).
    /// MAC handling as ``query(key:computer:)``: the MAC covers the final request, interleaved fields included.
    public func query(
        interleaved state: inout InterleavedClient, key: SymmetricKey? = nil, computer: (any MACComputer)? = nil
    ) throws -> NTPMeasurement? {
        var random = SystemRandomNumberGenerator()
        let request = state.request(version: version, using: &random)
        var packet = NTPPacket(header: request.header)
        if let key, let computer {
            let header = packet.header.serialized()
            packet.mac = header.withUnsafeBytes { SymmetricAuthentication.mac(for: $0, key: key, computer: computer) }
        }
        let exchange = try self.exchange(packet.serialized(), transmitStamp: true) { response in
            guard response.count >= NTPHeader.length, let header = try? NTPHeader(parsing: response) else { return false }
            if request.classify(origin: header.originTimestamp) == .foreign {
                state.droppedForeign()
                return false
            }
            return Self.authentic(response, key: key, computer: computer)
        }
        return try state.complete(
            request, response: exchange.response, localTransmit: exchange.kernelTransmit ?? exchange.t1, localReceive: exchange.t4,
            localPrecision: 1e-6)
    }

    /// Without a key every response is taken; with one, only a response with a valid MAC under that key.
    static func authentic(_ response: [UInt8], key: SymmetricKey?, computer: (any MACComputer)?) -> Bool {
        guard let key, let computer else { return true }
        guard let mac = try? NTPPacket(parsing: response).mac, mac.keyID == key.id else { return false }
        return response.withUnsafeBytes { bytes in
            SymmetricAuthentication.verify(
                mac, message: UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - mac.encodedLength)]), key: key, computer: computer)
        }
    }

    /// A request sent and the response it got, with the local send (T1) and receive (T4) times.
    public struct Exchange: Sendable {
        public var response: [UInt8]
        public var t1: NTPTimestamp
        public var t4: NTPTimestamp
        /// The kernel's transmit timestamp of the request, when asked for and the socket gave one.
        public var kernelTransmit: NTPTimestamp? = nil
    }

    /// How long to wait for the kernel's transmit timestamp after a send (it comes at once on loopback and
    /// with software stamps; a late one is dropped from the error queue while waiting for the answer).
    static let transmitStampWaitMilliseconds: Int32 = 5

    /// Sends `request` and waits for the first datagram that `matches` accepts (others are ignored), reading
    /// T4 from the kernel receive timestamp when the socket has one, and with `transmitStamp` the kernel's
    /// transmit timestamp of the request (`SO_TIMESTAMPING`, error queue). Also the transport of NTS queries.
    public func exchange(_ request: [UInt8], transmitStamp: Bool = false, matches: ([UInt8]) -> Bool) throws -> Exchange {
        var mode: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let fd = cfs_udp_connect_from(server.host, server.port, localAddress, &mode, &message, message.count)
        guard fd >= 0 else { throw Failure(String(nulTerminated: message)) }
        defer { cfs_close(fd) }
        let stamping = transmitStamp && cfs_enable_tx_timestamps(fd) == 0

        let t1 = NTPTimestamp(Self.systemNow())
        let sent = request.withUnsafeBytes { cfs_send(fd, $0.baseAddress, $0.count) }
        guard sent == request.count else { throw Failure("send to \(server) failed: \(String(cString: strerror(Int32(-sent))))") }
        var kernelTransmit: NTPTimestamp?
        if stamping {
            var stamp = cfs_tx_stamp()
            if cfs_read_tx_stamp(fd, Self.transmitStampWaitMilliseconds, &stamp) == 1 {
                kernelTransmit = NTPTimestamp(UnixTime(seconds: stamp.sec, nanoseconds: UInt32(stamp.nsec)))
            }
        }

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
                    return Exchange(response: response, t1: t1, t4: NTPTimestamp(t4), kernelTransmit: kernelTransmit)
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
