// The client side of scripts/callgrind-nts.sh (issue 18): drives one NTS server running under
// `valgrind --tool=callgrind --instr-atstart=no` and switches the server's instrumentation on only around
// the work being counted, so that instructions per NTS response and per NTS-KE session can be compared
// between chronyd 4.3 and fleetnode from one run (instruction counts do not depend on the machine's load).
//
//   nts-callgrind-client --ke-port P --ntp-port Q --trust CERT.pem --callgrind-pid PID
//                        [--requests 2000] [--sessions 100] [--clients 16] [--warmup-requests 160] [--warmup-sessions 5]
//
// 1. NTS-protected NTP: one NTS-KE session per 8 virtual clients (16 clients by default, each on its own
//    loopback address 127.0.0.101..., as a server sees separate clients), then bursts of one request from
//    every client, each request spending one cookie (AEAD_AES_SIV_CMAC_256) and no placeholder, as a chrony
//    client in steady state does; each response is verified with the session's S2C key and its fresh cookie
//    goes back into the jar, so every request carries a cookie never sent before. A warm-up of
//    `--warmup-requests` is not counted; then `callgrind_control -i on PID`, `--requests` requests,
//    `-i off` and `-d` (a dump: this phase's counts in their own file, the counters zeroed).
// 2. NTS-KE: `--warmup-sessions` sessions not counted, then `-i on`, `--sessions` complete sessions one after
//    the other (TLS 1.3 handshake with ALPN ntske/1, request, response with 8 cookies, key export, close),
//    `-i off`. The script stops the server afterwards: its final dump holds this phase alone.
//
// callgrind_control waits until the server's process runs again; a server asleep in epoll or recvmmsg is
// woken by a plain NTP request sent every 200 ms while it waits (a few plain answers, a negligible share of
// a phase's count).
//
// Prints one JSON line: requests sent, authenticated responses, NAKs, other failures, KE sessions completed
// and failed.
import BenchSupport
import FleetCrypto
import Foundation
import NTPCore
import NTSKE
import NTSKECore

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var kePort: UInt16 = 0
    var ntpPort: UInt16 = 0
    var trust = ""
    var callgrindPID: Int32 = 0
    var requests = 2000
    var sessions = 100
    var clients = 16
    var warmupRequests = 160
    var warmupSessions = 5
    var firstAddress = 101

    init(_ arguments: [String]) {
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail("missing value after \(arguments[index - 1])") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--ke-port": kePort = UInt16(value()) ?? 0
            case "--ntp-port": ntpPort = UInt16(value()) ?? 0
            case "--trust": trust = value()
            case "--callgrind-pid": callgrindPID = Int32(value()) ?? 0
            case "--requests": requests = Int(value()) ?? requests
            case "--sessions": sessions = Int(value()) ?? sessions
            case "--clients": clients = max(1, Int(value()) ?? clients)
            case "--warmup-requests": warmupRequests = Int(value()) ?? warmupRequests
            case "--warmup-sessions": warmupSessions = Int(value()) ?? warmupSessions
            case "--first-address": firstAddress = Int(value()) ?? firstAddress
            default: fail("unknown argument \(arguments[index])")
            }
            index += 1
        }
        guard kePort != 0, ntpPort != 0, !trust.isEmpty, callgrindPID > 0 else {
            fail("usage: nts-callgrind-client --ke-port P --ntp-port Q --trust CERT --callgrind-pid PID [--requests N] [--sessions M]")
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("nts-callgrind-client: " + message + "\n").utf8))
    exit(1)
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let ciphers = NettleCipherFactory()
let trust: TLSContext
do {
    trust = try TLSContext.client(trustedCertificates: options.trust, alpn: NTSKEServer.alpn)
} catch {
    fail("cannot load \(options.trust): \(error)")
}

/// One NTS-KE session against the server (valgrind makes the server slow: a generous timeout).
func establish() throws -> NTSKEClientResult {
    let port = options.kePort
    return try blocking {
        try await NTSKEClient.establish(
            host: "127.0.0.1", port: port, serverName: "localhost", trust: trust, ciphers: ciphers, timeout: .seconds(60))
    }
}

/// A UDP socket bound to `address` (port chosen by the kernel) and connected to 127.0.0.1:`port`.
func udpSocket(address: String, port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { fail("socket: errno \(errno)") }
    func endpoint(_ text: String, _ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, text, &address.sin_addr) == 1 else { fail("bad address \(text)") }
        return address
    }
    var local = endpoint(address, 0)
    var remote = endpoint("127.0.0.1", port)
    let bound = withUnsafePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    let connected = withUnsafePointer(to: &remote) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, connected == 0 else { fail("bind/connect \(address): errno \(errno)") }
    return fd
}

// MARK: Switching the server's instrumentation

/// Runs `callgrind_control ARGS PID`, sending a plain NTP request through `nudge` every 200 ms until the
/// server has taken the command (it wakes a server asleep in a system call).
func callgrindControl(_ arguments: [String], nudge: Int32) {
    guard let tool = which("callgrind_control") else { fail("needs callgrind_control (valgrind)") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments + ["\(options.callgrindPID)"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { fail("callgrind_control: \(error)") }
    let plain = [UInt8(0x23)] + [UInt8](repeating: 0, count: 47)
    while process.isRunning {
        usleep(200_000)
        guard process.isRunning else { break }
        _ = plain.withUnsafeBytes { send(nudge, $0.baseAddress, $0.count, 0) }
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { fail("callgrind_control \(arguments) failed") }
    var scratch = [UInt8](repeating: 0, count: 2048)
    while scratch.withUnsafeMutableBytes({ recv(nudge, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
}

// MARK: NTS-protected NTP

struct NTPCounts {
    var sent = 0
    var authenticated = 0
    var naks = 0
    var failed = 0
}

/// The virtual clients and their shared cookie jar.
struct NTSClients {
    struct Cookie {
        var bytes: [UInt8]
        var keys: NTSKeys
    }

    var jar: [Cookie] = []
    var keSessions = 0
    let sockets: [Int32]
    var random = SystemRandomNumberGenerator()

    init() {
        sockets = (0..<options.clients).map { udpSocket(address: "127.0.0.\(options.firstAddress + $0)", port: options.ntpPort) }
        while jar.count < options.clients { refill() }
    }

    mutating func refill() {
        do {
            let session = try establish()
            keSessions += 1
            jar += session.cookies.map { Cookie(bytes: $0, keys: session.keys) }
        } catch {
            fail("NTS-KE for cookies: \(error)")
        }
    }

    /// `count` NTS requests in bursts of one per client, each burst waiting (at most 10 s) for its answers.
    mutating func exchange(count: Int) -> NTPCounts {
        var counts = NTPCounts()
        var buffer = [UInt8](repeating: 0, count: 2048)
        while counts.sent < count {
            // Per client: the request's transmit timestamp, unique identifier and keys.
            var outstanding: [Int: (transmit: NTPTimestamp, identifier: [UInt8], keys: NTSKeys)] = [:]
            for client in 0..<options.clients where counts.sent < count {
                if jar.isEmpty { refill() }
                let cookie = jar.removeFirst()
                let transmit = NTPTimestamp(rawValue: random.next())
                let (packet, identifier) = NTSClientRequest.build(
                    header: ClientExchange.request(transmit: transmit), cookie: cookie.bytes, placeholders: 0,
                    keys: cookie.keys, ciphers: ciphers, using: &random)
                _ = packet.withUnsafeBytes { send(sockets[client], $0.baseAddress, $0.count, 0) }
                outstanding[client] = (transmit, identifier, cookie.keys)
                counts.sent += 1
            }
            let deadline = Date().addingTimeInterval(10)
            while !outstanding.isEmpty, Date() < deadline {
                let clients = Array(outstanding.keys)
                var fds = clients.map { pollfd(fd: sockets[$0], events: Int16(POLLIN), revents: 0) }
                guard poll(&fds, nfds_t(fds.count), 500) > 0 else { continue }
                for (index, entry) in fds.enumerated() where entry.revents & Int16(POLLIN) != 0 {
                    let client = clients[index]
                    let n = buffer.withUnsafeMutableBytes { recv(entry.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    guard n >= NTPHeader.length, let request = outstanding[client] else { continue }
                    let response = Array(buffer[0..<n])
                    guard (try? NTPHeader(parsing: response))?.originTimestamp == request.transmit else { continue }
                    outstanding[client] = nil
                    switch NTSClient.verify(response: response, uniqueIdentifier: request.identifier, keys: request.keys, ciphers: ciphers) {
                    case .authenticated(let fresh):
                        counts.authenticated += 1
                        jar += fresh.map { Cookie(bytes: $0, keys: request.keys) }
                    case .nak:
                        counts.naks += 1
                    case .rejected:
                        counts.failed += 1
                    }
                }
            }
            counts.failed += outstanding.count
        }
        return counts
    }
}

// MARK: NTS-KE

/// `count` NTS-KE sessions one after the other: completed, failed, the first failure.
func sessions(_ count: Int) -> (completed: Int, failed: Int, error: String?) {
    var completed = 0
    var failed = 0
    var firstError: String?
    for _ in 0..<count {
        do {
            _ = try establish()
            completed += 1
        } catch {
            failed += 1
            if firstError == nil { firstError = "\(error)" }
        }
    }
    return (completed, failed, firstError)
}

// MARK: The run

let nudge = udpSocket(address: "127.0.0.1", port: options.ntpPort)
var clients = NTSClients()
let warm = clients.exchange(count: options.warmupRequests)
guard warm.authenticated > 0 else { fail("no authenticated NTS response in the warm-up (\(warm))") }
callgrindControl(["-i", "on"], nudge: nudge)
let measured = clients.exchange(count: options.requests)
callgrindControl(["-i", "off"], nudge: nudge)
callgrindControl(["-d"], nudge: nudge)

_ = sessions(options.warmupSessions)
callgrindControl(["-i", "on"], nudge: nudge)
let ke = sessions(options.sessions)
callgrindControl(["-i", "off"], nudge: nudge)

let result: [String: Any] = [
    "sent": measured.sent, "authenticated": measured.authenticated, "naks": measured.naks, "failed": measured.failed,
    "sessions": ke.completed, "sessionsFailed": ke.failed, "keSessionsForCookies": clients.keSessions,
    "firstKEError": ke.error ?? "",
]
let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
