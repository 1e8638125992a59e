// The soak's clients and their shared counters (see main.swift for what runs when).
import BenchSupport
import CBenchShim
import CFleetShim
import FleetCrypto
import Foundation
import NetworkEdges
import NodeModels
import NTPCore
import NTSKE
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
func fail(_ line: String) -> Never {
    FileHandle.standardError.write(Data(("soak-load: " + line + "\n").utf8))
    exit(1)
}

let environment = ProcessInfo.processInfo.environment
func endpoint(_ name: String) -> (host: String, port: UInt16) {
    guard let value = environment[name], let colon = value.lastIndex(of: ":"), let port = UInt16(value[value.index(after: colon)...]) else {
        fail("\(name) must be host:port")
    }
    return (String(value[..<colon]), port)
}
let ntp = endpoint("SOAK_NTP")
let ke = endpoint("SOAK_KE")
let caPath: String = {
    guard let path = environment["SOAK_CA"] else { fail("SOAK_CA must name the NTS trust anchors (PEM)") }
    return path
}()
let serverName = environment["SOAK_SERVER_NAME"] ?? "localhost"
let keRate = Double(environment["SOAK_KE_RATE"] ?? "") ?? 2
let probeRate = Double(environment["SOAK_PROBE_RATE"] ?? "") ?? 5
let poolRefresh = Double(environment["SOAK_POOL_REFRESH"] ?? "") ?? 10
let trust: TLSContext = {
    do {
        return try TLSContext.client(trustedCertificates: caPath, alpn: NTSKEServer.alpn)
    } catch {
        fail("cannot load \(caPath): \(error)")
    }
}()
let ciphers = NettleCipherFactory()

func establish(timeout: Int64 = 3) throws -> NTSKEClientResult {
    try blocking {
        try await NTSKEClient.establish(host: ke.host, port: ke.port, serverName: serverName, trust: trust, ciphers: ciphers,
                                        timeout: .seconds(timeout))
    }
}

// MARK: Request pools

/// Requests of one length laid out back to back for cbs_send_many.
struct RequestPool: Sendable {
    var bytes: [UInt8]
    var length: Int
    var count: Int
}

func plainPool() -> RequestPool {
    var random = SystemRandomNumberGenerator()
    let requests = (0..<64).map { _ in ClientExchange.request(transmit: NTPTimestamp(rawValue: random.next())).serialized() }
    return RequestPool(bytes: requests.flatMap { $0 }, length: requests[0].count, count: requests.count)
}

/// One NTS request per cookie of `sessions`, all of the most common length (one cookie length per AEAD).
func ntsPool(_ sessions: [NTSKEClientResult]) -> RequestPool? {
    var random = SecureRandomGenerator()  // the requests' nonces (RFC 8915 §5.6), as the node's clients make them
    var packets: [[UInt8]] = []
    for session in sessions {
        for cookie in session.cookies {
            let header = ClientExchange.request(transmit: NTPTimestamp(rawValue: random.next()))
            packets.append(NTSClientRequest.build(header: header, cookie: cookie, placeholders: 0, keys: session.keys,
                                                  ciphers: ciphers, using: &random).packet)
        }
    }
    var lengths: [Int: Int] = [:]
    for packet in packets { lengths[packet.count, default: 0] += 1 }
    guard let length = lengths.max(by: { $0.value < $1.value })?.key else { return nil }
    let usable = packets.filter { $0.count == length }
    return RequestPool(bytes: usable.flatMap { $0 }, length: length, count: usable.count)
}

// MARK: Shared counters

struct Counters: Sendable {
    var plainSent = 0, plainReceived = 0, ntsSent = 0, ntsReceived = 0
    var keCompleted = 0, keFailed = 0
    var keErrors: [String: Int] = [:]
    var probeAuthenticated = 0, probeNAK = 0, probeRejected = 0, probeLost = 0, probeRekeys = 0
    var probeErrors: [String: Int] = [:]
    var poolRefreshes = 0
}

final class Shared: Sendable {
    let counters = NIOLockedValueBox(Counters())
    let pool = NIOLockedValueBox<RequestPool?>(nil)
    /// The latest good sessions (newest last), for the request pool.
    let recent = NIOLockedValueBox<[NTSKEClientResult]>([])
    let stop = Atomic<Bool>(false)
}
let shared = Shared()

/// Short reasons for the report (an error's description without addresses and numbers that vary).
func reason(_ error: any Error) -> String {
    String(String(describing: error).prefix(120))
}

// MARK: The load

func udpSockets(_ count: Int) -> [Int32] {
    (0..<count).map { _ in
        var mode: Int32 = 0
        var message = [CChar](repeating: 0, count: 128)
        let fd = cfs_udp_connect(ntp.host, ntp.port, &mode, &message, message.count)
        if fd < 0 { fail("cannot open a UDP socket to \(ntp.host):\(ntp.port)") }
        _ = cfs_set_buffers(fd, 8 << 20)
        return fd
    }
}

/// Offers `rate` requests a second (half plain, half NTS) until `end` (monotonic ns) or the stop flag; adds
/// what was sent and answered to `counters` every 100 ms. Late answers are collected for 300 ms at the end.
func offer(rate: Int, until end: UInt64, plain: RequestPool) {
    let plainSockets = udpSockets(4)
    let ntsSockets = udpSockets(4)
    defer { (plainSockets + ntsSockets).forEach { cfs_close($0) } }
    let batch = 64
    let start = cfs_monotonic_ns()
    var due = (plain: 0, nts: 0)
    var sent = (plain: 0, nts: 0)
    var got = (plain: 0, nts: 0)
    var cursor = (plain: 0, nts: 0)
    var nextSocket = 0
    var lastFlush = start
    var pool = shared.pool.withLockedValue { $0 }
    func flush() {
        shared.counters.withLockedValue {
            $0.plainSent += sent.plain; $0.ntsSent += sent.nts
            $0.plainReceived += got.plain; $0.ntsReceived += got.nts
        }
        sent = (0, 0)
        got = (0, 0)
    }
    var offered = (plain: 0, nts: 0)
    while !shared.stop.load(ordering: .relaxed) {
        let now = cfs_monotonic_ns()
        if now >= end { break }
        let total = Int(Double(rate) * Double(now - start) / 1e9)
        let plainTotal = total / 2
        let ntsTotal = total - plainTotal
        due.plain = plainTotal - offered.plain
        due.nts = ntsTotal - offered.nts
        plain.bytes.withUnsafeBufferPointer { bytes in
            while due.plain > 0 {
                let n = cbs_send_many(plainSockets[nextSocket % 4], bytes.baseAddress! + cursor.plain * plain.length, Int32(plain.length),
                                      Int32(min(due.plain, batch, plain.count - cursor.plain)))
                nextSocket += 1
                if n <= 0 { break }
                due.plain -= Int(n)
                offered.plain += Int(n)
                sent.plain += Int(n)
                cursor.plain = (cursor.plain + Int(n)) % plain.count
            }
        }
        if let current = pool {
            current.bytes.withUnsafeBufferPointer { bytes in
                while due.nts > 0 {
                    let n = cbs_send_many(ntsSockets[nextSocket % 4], bytes.baseAddress! + (cursor.nts % current.count) * current.length,
                                          Int32(current.length), Int32(min(due.nts, batch, current.count - cursor.nts % current.count)))
                    nextSocket += 1
                    if n <= 0 { break }
                    due.nts -= Int(n)
                    offered.nts += Int(n)
                    sent.nts += Int(n)
                    cursor.nts = (cursor.nts % current.count + Int(n)) % current.count
                }
            }
        } else {
            offered.nts = ntsTotal  // no pool yet: nothing offered, nothing counted
        }
        // A kernel send buffer that is full leaves `due` for the next turn; more than a second behind is
        // dropped from the schedule (the generator could not keep up; the sent counts say so).
        if due.plain > rate { offered.plain += due.plain - rate }
        if due.nts > rate { offered.nts += due.nts - rate }
        let receivedPlain = receiveReplies(plainSockets)
        let receivedNTS = receiveReplies(ntsSockets)
        got.plain += receivedPlain
        got.nts += receivedNTS
        if now - lastFlush >= 100_000_000 {
            flush()
            lastFlush = now
            pool = shared.pool.withLockedValue { $0 }
        }
        if receivedPlain + receivedNTS == 0 { usleep(200) }
    }
    got.plain += drainReplies(plainSockets)
    got.nts += drainReplies(ntsSockets)
    flush()
}

// MARK: Good NTS-KE clients

func keClients(until end: UInt64) {
    var lastPool = 0.0
    paced(perSecond: keRate, until: end) { elapsed in
        do {
            let result = try establish()
            guard !result.cookies.isEmpty else { throw NTSKEClientError("no cookies") }
            shared.counters.withLockedValue { $0.keCompleted += 1 }
            shared.recent.withLockedValue { recent in
                recent.append(result)
                if recent.count > 4 { recent.removeFirst(recent.count - 4) }
            }
        } catch {
            shared.counters.withLockedValue {
                $0.keFailed += 1
                $0.keErrors[reason(error), default: 0] += 1
            }
        }
        if elapsed - lastPool >= poolRefresh || shared.pool.withLockedValue({ $0 == nil }) {
            let sessions = shared.recent.withLockedValue { $0 }
            if sessions.count >= 2, let pool = ntsPool(sessions) {
                shared.pool.withLockedValue { $0 = pool }
                shared.counters.withLockedValue { $0.poolRefreshes += 1 }
                lastPool = elapsed
            }
        }
    }
}

/// Calls `body` `perSecond` times a second (with the seconds since the start) until `end` or the stop flag.
func paced(perSecond rate: Double, until end: UInt64, _ body: (_ elapsed: Double) -> Void) {
    let interval = 1 / max(rate, 0.01)
    let start = cfs_monotonic_ns()
    var next = 0.0
    while !shared.stop.load(ordering: .relaxed) && cfs_monotonic_ns() < end {
        let elapsed = Double(cfs_monotonic_ns() - start) / 1e9
        if elapsed < next {
            usleep(UInt32(min(0.2, next - elapsed) * 1e6))
            continue
        }
        next += interval
        body(elapsed)
    }
}

struct NTSKEClientError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: The NTS probe (a chrony-like client)

func probe(until end: UInt64) {
    var keys: NTSKeys?
    var jar: [[UInt8]] = []
    var random = SystemRandomNumberGenerator()
    let client = NTPQueryClient(server: .init(host: ntp.host, port: ntp.port), timeoutMilliseconds: 1000)
    paced(perSecond: probeRate, until: end) { _ in
        if keys == nil || jar.isEmpty {
            do {
                let session = try establish()
                keys = session.keys
                jar = session.cookies
                shared.counters.withLockedValue { $0.probeRekeys += 1 }
            } catch {
                shared.counters.withLockedValue { $0.probeErrors["NTS-KE: " + reason(error), default: 0] += 1 }
                return
            }
        }
        guard let sessionKeys = keys, !jar.isEmpty else { return }
        let cookie = jar.removeFirst()
        let transmit = NTPTimestamp(rawValue: random.next())
        let (packet, identifier) = NTSClientRequest.build(
            header: ClientExchange.request(transmit: transmit), cookie: cookie, placeholders: 0, keys: sessionKeys,
            ciphers: ciphers, using: &random)
        do {
            let exchange = try client.exchange(packet) { (try? NTPHeader(parsing: $0))?.originTimestamp == transmit }
            switch NTSClient.verify(response: exchange.response, uniqueIdentifier: identifier, keys: sessionKeys, ciphers: ciphers) {
            case .authenticated(let fresh):
                jar += fresh
                if jar.count > 8 { jar.removeFirst(jar.count - 8) }
                shared.counters.withLockedValue { $0.probeAuthenticated += 1 }
            case .nak:
                keys = nil
                shared.counters.withLockedValue { $0.probeNAK += 1 }
            case .rejected(let why):
                shared.counters.withLockedValue {
                    $0.probeRejected += 1
                    $0.probeErrors[why, default: 0] += 1
                }
            }
        } catch {
            // The cookie is spent either way (chrony does not reuse it).
            shared.counters.withLockedValue {
                $0.probeLost += 1
                $0.probeErrors[reason(error), default: 0] += 1
            }
        }
    }
}

// MARK: Modes

func json(_ counters: Counters, seconds: Double) -> String {
    let object: [String: Any] = [
        "t": (seconds * 10).rounded() / 10,
        "plain_sent": counters.plainSent, "plain_received": counters.plainReceived,
        "nts_sent": counters.ntsSent, "nts_received": counters.ntsReceived,
        "ke_completed": counters.keCompleted, "ke_failed": counters.keFailed, "ke_errors": counters.keErrors,
        "probe_authenticated": counters.probeAuthenticated, "probe_nak": counters.probeNAK,
        "probe_rejected": counters.probeRejected, "probe_lost": counters.probeLost, "probe_rekeys": counters.probeRekeys,
        "probe_errors": counters.probeErrors, "pool_refreshes": counters.poolRefreshes,
    ]
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
}

func startThread(_ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        body()
        done.signal()
    }
    thread.start()
    return done
}

