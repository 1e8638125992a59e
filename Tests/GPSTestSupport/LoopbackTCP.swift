// Test support: loopback TCP for tests: a free port finder, a readiness probe, and a small threaded server
// (used for a live NMEA feed that gpsd reads from, and a scripted fake gpsd). Glibc + Synchronization only.
import Foundation
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

package enum LoopbackTCP {
    /// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close).
    package static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(errno) }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw POSIXError(errno) }
        return try localPort(fd)
    }

    /// True once something accepts TCP connections on 127.0.0.1:port (polled until `timeout`).
    package static func waitUntilListening(port: UInt16, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        repeat {
            if canConnect(port: port) { return true }
            usleep(50_000)
        } while ContinuousClock.now < deadline
        return false
    }

    package static func canConnect(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }

    package static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    package static func localPort(_ fd: Int32) throws -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw POSIXError(errno) }
        return UInt16(bigEndian: address.sin_port)
    }

    package static func POSIXError(_ code: Int32) -> NSError {
        NSError(domain: NSPOSIXErrorDomain, code: Int(code), userInfo: [NSLocalizedDescriptionKey: String(cString: strerror(code))])
    }
}

/// A connected client socket handed to a `LoopbackServer` handler.
package struct LoopbackConnection: Sendable {
    package let fd: Int32

    /// Sends all of `text`; false when the peer went away.
    @discardableResult
    package func send(_ text: String) -> Bool {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeMutableBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 {
                if sent < 0 && errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }

    /// Reads one line (without the newline) within `timeout`, or nil.
    package func readLine(timeout: Duration) -> String? {
        var line: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 50)
            if ready <= 0 { continue }
            var byte: UInt8 = 0
            let count = recv(fd, &byte, 1, 0)
            if count <= 0 { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
        return nil
    }
}

/// A TCP server on 127.0.0.1 that runs `handler` for each accepted connection, one at a time, on its own
/// thread, until `stop()`. The handler gets a `isStopping` probe and should return when it turns true.
package final class LoopbackServer: Sendable {
    package typealias Handler = @Sendable (_ connection: LoopbackConnection, _ isStopping: @Sendable () -> Bool) -> Void

    package let port: UInt16
    private let listener: Int32
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let acceptedCount = Atomic<Int>(0)
    private let acceptTimes = NIOLockedValueBox<[ContinuousClock.Instant]>([])

    /// Listens on `port` (0: any free port) and starts accepting.
    package init(port: UInt16 = 0, handler: @escaping Handler) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoopbackTCP.POSIXError(errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = LoopbackTCP.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let code = errno
            close(fd)
            throw LoopbackTCP.POSIXError(code)
        }
        listener = fd
        self.port = try LoopbackTCP.localPort(fd)
        let thread = Thread { [self] in
            self.acceptLoop(handler)
        }
        thread.name = "loopback-server"
        thread.start()
    }

    /// Connections accepted so far.
    package var accepted: Int { acceptedCount.load(ordering: .relaxed) }

    /// When each connection was accepted.
    package var acceptInstants: [ContinuousClock.Instant] { acceptTimes.withLockedValue { $0 } }

    /// Stops accepting, tells the handler to return, closes the listener; waits up to 5 s for the thread.
    package func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        _ = finished.wait(timeout: .now() + 5)
    }

    private func acceptLoop(_ handler: Handler) {
        defer {
            close(listener)
            finished.signal()
        }
        let isStopping: @Sendable () -> Bool = { [self] in self.stopping.load(ordering: .relaxed) }
        while !isStopping() {
            var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 50) <= 0 { continue }
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            acceptedCount.add(1, ordering: .relaxed)
            acceptTimes.withLockedValue { $0.append(.now) }
            handler(LoopbackConnection(fd: client), isStopping)
            close(client)
        }
    }
}

/// A live NMEA source for gpsd's `tcp://` device: each second, 50 ms after the second starts, sends the
/// epoch for that second shifted by `offsetSeconds` (0: its time is "now"; tests give a receiver that is
/// off by a known amount). Records the seconds it sent.
package final class NMEAFeedServer: Sendable {
    package let server: LoopbackServer
    private let sent = LockedBox<[Int64]>([])
    /// How far after the second boundary each epoch is sent.
    package static let sendDelayNanoseconds: Int64 = 50_000_000

    package init(generator: NMEAGenerator, offsetSeconds: Int64 = 0) throws {
        let sent = self.sent
        server = try LoopbackServer { connection, isStopping in
            while !isStopping() {
                var now = timespec()
                clock_gettime(CLOCK_REALTIME, &now)
                let next = Int64(now.tv_sec) + 1
                let wait = (next - Int64(now.tv_sec)) * 1_000_000_000 - Int64(now.tv_nsec) + Self.sendDelayNanoseconds
                // Sleep in slices so a stop is noticed quickly.
                var remaining = wait
                while remaining > 0 && !isStopping() {
                    let slice = min(remaining, 100_000_000)
                    usleep(UInt32(slice / 1000))
                    remaining -= slice
                }
                if isStopping() { return }
                if !connection.send(generator.epoch(second: next + offsetSeconds).joined()) { return }
                sent.withLockedValue { $0.append(next + offsetSeconds) }
            }
        }
    }

    package var port: UInt16 { server.port }
    package var sentSeconds: [Int64] { sent.value }
    package func stop() { server.stop() }
}
