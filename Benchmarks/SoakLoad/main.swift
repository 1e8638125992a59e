// The soak's clients (`make soak`, scripts/soak.sh): well-behaved load on one node for a long time, counted.
//
//   soak-load measure   a short ladder of offered rates (half plain NTP, half NTS-protected NTP); prints the
//                       highest rate answered with at most 1 % loss as `lossless RATE`
//   soak-load run       offers SOAK_RATE requests per second (half plain, half NTS) for SOAK_SECONDS, and meanwhile
//                       runs good NTS-KE clients and an NTS probe client; prints one JSON line a second with
//                       cumulative counters (the soak's monitor turns them into rates and shares)
//
// What runs during `run`, each on its own thread or task:
// - the load: open loop, sendmmsg batches from 8 sockets of 127.0.0.1 (4 plain, 4 NTS), replies counted per kind.
//   The NTS requests are a pool of 32 built from the cookies of the 4 latest good NTS-KE sessions, replayed
//   (an NTS server keeps no per-client state: a replayed request costs it the work of a fresh one) and
//   rebuilt every SOAK_POOL_REFRESH seconds (10), as clients re-key: a cookie rotation retires a key only
//   `cookie_lifetime` after the new one seals, and the pool never holds a cookie that old.
// - good NTS-KE clients: one session every 1/SOAK_KE_RATE seconds (2/s) with the project's NTSKEClient, 3 s
//   limit each, counted as completed or failed (with the first reasons).
// - the NTS probe: a client as chrony is one (one NTS-KE session, then a jar of 8 cookies, one spent per request
//   and the fresh one from each response put back), SOAK_PROBE_RATE requests a second (5), every response
//   verified: authenticated, NTS NAK, rejected (bad authenticator, ...) or lost (no answer within 1 s). A NAK
//   or an empty jar makes it run NTS-KE again, as chrony does. It lives across the cookie rotation: its
//   NAKs are the authentication failures a real client would see.
//
// Environment: SOAK_NTP (host:port of the node's NTP), SOAK_KE (host:port of its NTS-KE), SOAK_CA (the NTS
// trust anchors, PEM), SOAK_SERVER_NAME (localhost), SOAK_RATE, SOAK_SECONDS, SOAK_KE_RATE, SOAK_PROBE_RATE,
// SOAK_POOL_REFRESH; measure: SOAK_RATES (the ladder), SOAK_STEP_SECONDS (3).
import BenchSupport
import CBenchShim
import CFleetShim
import FleetCrypto
import Foundation
import NetworkEdges
import NodeModels
import NTPCore
import NTSKE
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
guard let caPath = environment["SOAK_CA"] else { fail("SOAK_CA must name the NTS trust anchors (PEM)") }
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

/// Runs async work from synchronous code (this program's threads are plain threads).
final class Box<T: Sendable>: Sendable {
    let value = Mutex<Result<T, any Error>?>(nil)
}

func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = Box<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            let value = try await body()
            box.value.withLock { $0 = .success(value) }
        } catch {
            box.value.withLock { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    return try box.value.withLock { $0! }.get()
}

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
    var random = SystemRandomNumberGenerator()
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
    let counters = Mutex(Counters())
    let pool = Mutex<RequestPool?>(nil)
    /// The latest good sessions (newest last), for the request pool.
    let recent = Mutex<[NTSKEClientResult]>([])
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
    var pool = shared.pool.withLock { $0 }
    func flush() {
        shared.counters.withLock {
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
            pool = shared.pool.withLock { $0 }
        }
        if receivedPlain + receivedNTS == 0 { usleep(200) }
    }
    got.plain += drainReplies(plainSockets)
    got.nts += drainReplies(ntsSockets)
    flush()
}

// MARK: Good NTS-KE clients

func keClients(until end: UInt64) {
    let interval = 1 / max(keRate, 0.01)
    var lastPool = 0.0
    let start = cfs_monotonic_ns()
    var next = 0.0
    while !shared.stop.load(ordering: .relaxed) && cfs_monotonic_ns() < end {
        let elapsed = Double(cfs_monotonic_ns() - start) / 1e9
        if elapsed < next {
            usleep(UInt32(min(0.2, next - elapsed) * 1e6))
            continue
        }
        next += interval
        do {
            let result = try establish()
            guard !result.cookies.isEmpty else { throw NTSKEClientError("no cookies") }
            shared.counters.withLock { $0.keCompleted += 1 }
            shared.recent.withLock { recent in
                recent.append(result)
                if recent.count > 4 { recent.removeFirst(recent.count - 4) }
            }
        } catch {
            shared.counters.withLock {
                $0.keFailed += 1
                $0.keErrors[reason(error), default: 0] += 1
            }
        }
        if elapsed - lastPool >= poolRefresh || shared.pool.withLock({ $0 == nil }) {
            let sessions = shared.recent.withLock { $0 }
            if sessions.count >= 2, let pool = ntsPool(sessions) {
                shared.pool.withLock { $0 = pool }
                shared.counters.withLock { $0.poolRefreshes += 1 }
                lastPool = elapsed
            }
        }
    }
}

struct NTSKEClientError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: The NTS probe (a chrony-like client)

func probe(until end: UInt64) {
    let interval = 1 / max(probeRate, 0.01)
    var keys: NTSKeys?
    var jar: [[UInt8]] = []
    var random = SystemRandomNumberGenerator()
    let client = NTPQueryClient(server: .init(host: ntp.host, port: ntp.port), timeoutMilliseconds: 1000)
    let start = cfs_monotonic_ns()
    var next = 0.0
    while !shared.stop.load(ordering: .relaxed) && cfs_monotonic_ns() < end {
        let elapsed = Double(cfs_monotonic_ns() - start) / 1e9
        if elapsed < next {
            usleep(UInt32(min(0.2, next - elapsed) * 1e6))
            continue
        }
        next += interval
        if keys == nil || jar.isEmpty {
            do {
                let session = try establish()
                keys = session.keys
                jar = session.cookies
                shared.counters.withLock { $0.probeRekeys += 1 }
            } catch {
                shared.counters.withLock { $0.probeErrors["NTS-KE: " + reason(error), default: 0] += 1 }
                continue
            }
        }
        guard let sessionKeys = keys, !jar.isEmpty else { continue }
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
                shared.counters.withLock { $0.probeAuthenticated += 1 }
            case .nak:
                keys = nil
                shared.counters.withLock { $0.probeNAK += 1 }
            case .rejected(let why):
                shared.counters.withLock {
                    $0.probeRejected += 1
                    $0.probeErrors[why, default: 0] += 1
                }
            }
        } catch {
            // The cookie is spent either way (chrony does not reuse it).
            shared.counters.withLock {
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

signal(SIGPIPE, SIG_IGN)
let mode = CommandLine.arguments.dropFirst().first ?? "run"
let plain = plainPool()

// The first sessions and pool, before any load (the node must answer NTS-KE at all).
var firstSessions: [NTSKEClientResult] = []
for attempt in 0..<50 {
    do {
        firstSessions.append(try establish())
        if firstSessions.count == 4 { break }
    } catch {
        if attempt == 49 { fail("no NTS-KE session with \(ke.host):\(ke.port): \(error)") }
        usleep(200_000)
    }
}
shared.recent.withLock { $0 = firstSessions }
shared.pool.withLock { $0 = ntsPool(firstSessions) }

switch mode {
case "measure":
    let rates = (environment["SOAK_RATES"] ?? "2000,4000,8000,12000,16000,24000,32000,48000,64000,96000")
        .split(separator: ",").compactMap { Int($0) }
    let stepSeconds = Double(environment["SOAK_STEP_SECONDS"] ?? "") ?? 3
    var best = 0
    var failures = 0
    for rate in rates {
        shared.counters.withLock { $0 = Counters() }
        offer(rate: rate, until: cfs_monotonic_ns() + UInt64(stepSeconds * 1e9), plain: plain)
        let counters = shared.counters.withLock { $0 }
        let sent = counters.plainSent + counters.ntsSent
        let received = counters.plainReceived + counters.ntsReceived
        let loss = sent == 0 ? 1 : 1 - Double(received) / Double(sent)
        let kept = Double(sent) >= 0.97 * Double(rate) * stepSeconds
        say(String(format: "offered %6d/s: sent %8d, answered %8d, loss %6.2f %%%@", rate, sent, received, loss * 100,
                   kept ? "" : " (the generator could not send it all)"))
        if loss <= 0.01 && kept {
            best = rate
        } else {
            failures += 1
            if failures >= 2 { break }
        }
        usleep(500_000)
    }
    say("lossless \(best)")
case "run":
    let rate = Int(environment["SOAK_RATE"] ?? "") ?? 1000
    let seconds = Double(environment["SOAK_SECONDS"] ?? "") ?? 60
    let start = cfs_monotonic_ns()
    let end = start + UInt64(seconds * 1e9)
    signal(SIGTERM, SIG_IGN)
    let termination = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
    termination.setEventHandler { shared.stop.store(true, ordering: .relaxed) }
    termination.resume()
    let threads = [
        startThread { offer(rate: rate, until: end, plain: plain) },
        startThread { keClients(until: end) },
        startThread { probe(until: end) },
    ]
    while !shared.stop.load(ordering: .relaxed) && cfs_monotonic_ns() < end {
        usleep(1_000_000)
        say(json(shared.counters.withLock { $0 }, seconds: Double(cfs_monotonic_ns() - start) / 1e9))
    }
    for thread in threads { thread.wait() }
    say(json(shared.counters.withLock { $0 }, seconds: Double(cfs_monotonic_ns() - start) / 1e9))
default:
    fail("usage: soak-load measure|run (see the comment at the top of Benchmarks/SoakLoad/main.swift)")
}
