import CFleetShim
import NTPCore

/// A one-shot NTP client (`fleetctl query`, the demo, fleet probes later): sends a client request with a
/// random transmit timestamp, as chrony does, and measures the response with the protocol core's
/// `ClientExchange`. T1 and T4 are read from the system clock (T4 from the kernel receive timestamp when
/// the socket provides one), so the result is the server's offset from this machine's clock.
public struct NTPQueryClient: Sendable {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public var server: SocketEndpoint
    public var timeoutMilliseconds: Int32
    public var version: UInt8

    public init(server: SocketEndpoint, timeoutMilliseconds: Int32 = 1000, version: UInt8 = 4) {
        self.server = server
        self.timeoutMilliseconds = timeoutMilliseconds
        self.version = version
    }

    /// One exchange. Throws `Failure` for a timeout or socket error, `ExchangeError` for a rejected response.
    public func query() throws -> NTPMeasurement {
        var mode: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let fd = cfs_udp_connect(server.host, server.port, &mode, &message, message.count)
        guard fd >= 0 else {
            throw Failure(String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        defer { cfs_close(fd) }

        var random = SystemRandomNumberGenerator()
        let cookie = NTPTimestamp(rawValue: random.next())
        let request = NTPPacket(header: ClientExchange.request(transmit: cookie, version: version)).serialized()
        let t1 = NTPTimestamp(Self.systemNow())
        let sent = request.withUnsafeBytes { cfs_send(fd, $0.baseAddress, $0.count) }
        guard sent == request.count else { throw Failure("send to \(server) failed (errno \(-sent))") }

        var buffer = [UInt8](repeating: 0, count: 2048)
        var remaining = Int64(timeoutMilliseconds) * 1_000_000
        let start = cfs_monotonic_ns()
        while remaining > 0 {
            var seconds: Int64 = 0
            var nanoseconds: Int32 = 0
            var stamped: Int32 = 0
            let length = buffer.withUnsafeMutableBytes {
                cfs_recv_stamped(fd, $0.baseAddress, $0.count, Int32(remaining / 1_000_000), &seconds, &nanoseconds, &stamped)
            }
            let now = Self.systemNow()
            if length < 0 { throw Failure("receive from \(server) failed (errno \(-length))") }
            if length == 0 { break }
            let t4 = stamped == 1 ? UnixTime(seconds: seconds, nanoseconds: UInt32(nanoseconds)) : now
            do {
                return try ClientExchange.measure(
                    response: Array(buffer[0..<length]), sentTransmit: cookie, t1: t1, t4: NTPTimestamp(t4),
                    localPrecision: 1e-6)
            } catch .bogusOrigin {
                // Not the answer to this request (a late or stray datagram): keep waiting.
            }
            remaining = Int64(timeoutMilliseconds) * 1_000_000 - Int64(cfs_monotonic_ns() - start)
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
