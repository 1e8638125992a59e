// NTS server throughput: fleetnode against chronyd 4.3, measured in the same run on the same machine.
//
// Each server runs alone on CPU 1 (chronyd's NTS-KE helper processes inherit the pinning); this generator
// runs on CPU 0 (see `make bench`). Both servers present the same P-256 self-signed certificate, made at run
// time with openssl in a temporary directory (never committed). Two measurements per server:
//
// 1. NTS-KE: many concurrent TLS 1.3 sessions (handshake, request, response with 8 cookies, key export,
//    close) for a few seconds. Printed: completed sessions per second, and server CPU per session (user +
//    system time of the server and its child processes, from /proc). On 2 cores the generator's own TLS
//    work on CPU 0 is the limit: a client session costs more than a server one (OpenSSL 3.0 decoding the
//    server's certificate and public key, ECDSA verification, X25519), so the generator saturates CPU 0 at
//    about 1,000-1,300 sessions/s here, below what chronyd can serve. The generator's CPU use is printed;
//    when it is saturated the sessions/s figures only say that the servers kept up, and CPU per session is
//    the fair comparison. The default client is a single-threaded poll(2) loop over the project's
//    TLSConnection (KE_CLIENT=light); KE_CLIENT=nio uses the project's NTSKEClient.establish instead, which
//    measured about 15 % more generator CPU per session (SwiftNIO + async/await around the same TLS work).
// 2. NTS-protected NTP: a ladder of offered request rates (open loop, sendmmsg batches, as ntp-server-load)
//    up to its first step losing more than 1 %; the highest step below it must also hold for a sustained
//    SUSTAIN_SECONDS run (8 s; else the next lower one): the sustained rate, and the server CPU per response.
//    The node's receive buffer is the kernel default, as chronyd's (NODE_SOCKET_BUFFER=bytes to change it).
// Every ratio is fleetnode / chronyd: lower is better for costs, higher for rates.
//
// Absolute numbers depend on the machine; only the ratios are meant to be compared between runs. Other
// processes on the machine (a build, a test run) skew everything on 2 cores: a measurement during which they
// used more than 10 % of a CPU is flagged.
//
// CPU is split into user and system time: on loopback about half of a response's cost is the kernel's
// (receiving, sending, and delivering the answer to the generator's socket), the same for both servers.
// NTS-KE runs KE_ROUNDS alternating rounds and compares each server's median round; NTS NTP also compares
// CPU per response on the rungs where neither server was saturated.
//
// Knobs (environment): KE_SECONDS (5), KE_ROUNDS (3), KE_CONCURRENCY (32), KE_CLIENT (light|nio), KE_DEBUG (session
// latency percentiles), STEP_SECONDS (2), SUSTAIN_SECONDS (8), NTS_RATES (the ladder), COOKIE_SESSIONS (16),
// NTS_PLACEHOLDERS (0), NODE_SOCKET_BUFFER (0), KE_ONLY (set: measure NTS-KE only, skip NTS NTP).
import BenchSupport
import CBenchShim
import CFleetShim
import NetworkEdges
import NodeModels
import FleetCrypto
import Foundation
import NTPCore
import NTSKE
import NTSKECore
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// Prints a line at once (stdout is block-buffered when piped; progress should show as it happens).
func say(_ line: String = "") { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let environment = ProcessInfo.processInfo.environment
let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
let stepSeconds = Double(environment["STEP_SECONDS"] ?? "") ?? 2
/// A ladder rate counts only if every lower one passed and a run of this length at it passes too (issue 18).
let sustainSeconds = max(Double(environment["SUSTAIN_SECONDS"] ?? "") ?? 8, 1)
/// The node's `[ntp] socket_buffer`: 0 (default here) is the kernel default, chronyd's: EQUAL buffers.
/// NODE_SOCKET_BUFFER=4194304 measures the node's own default.
let nodeSocketBuffer = Int(environment["NODE_SOCKET_BUFFER"] ?? "") ?? 0
let keSeconds = Double(environment["KE_SECONDS"] ?? "") ?? 5
let keConcurrency = Int(environment["KE_CONCURRENCY"] ?? "") ?? 32
/// NTS-KE rounds, alternating the servers; the summary takes each server's median round (one 5-second
/// round per server varied by about 15 % between runs here).
let keRounds = max(1, Int(environment["KE_ROUNDS"] ?? "") ?? 3)
/// `light` (default): a single-threaded poll(2) loop over the project's TLSConnection; `nio`: the
/// project's NTSKEClient.establish (SwiftNIO + async/await), which costs the generator more CPU per session.
let keClientKind = environment["KE_CLIENT"] ?? "light"
let rates = (environment["NTS_RATES"] ?? "10000,20000,30000,40000,50000,60000,70000,80000,100000,125000,150000")
    .split(separator: ",").compactMap { Int($0) }
/// NTS-KE sessions run to collect cookies for the request pool (8 cookies each).
let cookieSessions = Int(environment["COOKIE_SESSIONS"] ?? "") ?? 16
/// Cookie placeholders per request: 0 is a chrony client in steady state (it holds 8 cookies, spends one
/// and asks for one back).
let placeholders = Int(environment["NTS_PLACEHOLDERS"] ?? "") ?? 0
/// NTS-KE alone (a shorter run when working on the key exchange).
let keOnly = environment["KE_ONLY"] != nil

let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("nts-bench-\(getpid())")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }

// MARK: Processes and CPU time

/// The live children of a process (from /proc/PID/task/*/children).
func children(of pid: Int32) -> [Int32] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    var result: [Int32] = []
    for task in tasks {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8) else { continue }
        result += text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
    return result
}

/// CPU seconds of a process and all its descendants (chronyd forks NTS-KE helper processes).
func treeCPUSeconds(of pid: Int32) -> Double {
    let times = treeCPUTimes(of: pid)
    return times.user + times.system
}

/// User and system CPU seconds of a process and all its descendants.
func treeCPUTimes(of pid: Int32) -> (user: Double, system: Double) {
    children(of: pid).reduce(cpuTimes(of: pid)) { total, child in
        let times = treeCPUTimes(of: child)
        return (total.user + times.user, total.system + times.system)
    }
}

/// The middle value (the mean of the two middle ones for an even count); nil when empty.
func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// user + nice + system CPU seconds of the whole machine so far (from /proc/stat), to see whether other
/// processes ran during a measurement (another build or test run on a 2-core machine skews everything).
func machineBusySeconds() -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
          let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return 0 }
    let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
    guard fields.count >= 3 else { return 0 }
    return (fields[0] + fields[1] + fields[2]) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func processCount(of pid: Int32) -> Int { children(of: pid).reduce(1) { $0 + processCount(of: $1) } }

/// What a server's kernel side did, summed over a process tree and all its threads: context switches
/// (voluntary: a thread blocked, for example in epoll_wait; involuntary: preempted), minor page faults
/// (fresh pages from mmap or the heap growing back after a trim) and the threads alive. Per session these
/// say where CPU goes that user-space instruction counts (callgrind) do not show.
struct KernelCounters {
    var voluntarySwitches = 0
    var involuntarySwitches = 0
    var minorFaults = 0
    var threads = 0

    static func of(_ pid: Int32) -> KernelCounters {
        var counters = KernelCounters()
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        counters.threads = tasks.count
        for task in tasks {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8) else { continue }
            for line in status.split(separator: "\n") {
                let parts = line.split(separator: ":")
                guard parts.count == 2, let value = Int(parts[1].trimmingCharacters(in: .whitespaces)) else { continue }
                if parts[0] == "voluntary_ctxt_switches" { counters.voluntarySwitches += value }
                if parts[0] == "nonvoluntary_ctxt_switches" { counters.involuntarySwitches += value }
            }
        }
        // minflt (field 10) of /proc/PID/stat covers every thread of the process.
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 7, let faults = Int(fields[7]) { counters.minorFaults = faults }
        }
        return children(of: pid).reduce(counters) { $0 + of($1) }
    }

    static func + (a: KernelCounters, b: KernelCounters) -> KernelCounters {
        KernelCounters(voluntarySwitches: a.voluntarySwitches + b.voluntarySwitches, involuntarySwitches: a.involuntarySwitches + b.involuntarySwitches,
                       minorFaults: a.minorFaults + b.minorFaults, threads: a.threads + b.threads)
    }

    static func - (a: KernelCounters, b: KernelCounters) -> KernelCounters {
        KernelCounters(voluntarySwitches: a.voluntarySwitches - b.voluntarySwitches, involuntarySwitches: a.involuntarySwitches - b.involuntarySwitches,
                       minorFaults: a.minorFaults - b.minorFaults, threads: a.threads)
    }
}

struct ServerUnderTest {
    var name: String
    var pid: Int32
    var ntpPort: UInt16
    var kePort: UInt16
}

// MARK: NTS-KE load

struct KEResult {
    var completed = 0
    var failed = 0
    var firstError: String?
    var seconds = 0.0
    var serverCPU = 0.0
    var serverUserCPU = 0.0
    var generatorCPU = 0.0
    var otherCPU = 0.0
    var kernel = KernelCounters()
    var sessionsPerSecond: Double { seconds > 0 ? Double(completed) / seconds : 0 }
    var serverCPUPerSession: Double { completed > 0 ? serverCPU / Double(completed) : .infinity }
}

let keRequest: [UInt8] = [NTSKERecord.nextProtocol([0]), .aeadAlgorithms([AEADAlgorithm.aesSIVCMAC256]), .endOfMessage()].encoded()
let ciphers = NettleCipherFactory()

struct LightClientError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One NTS-KE client session driven by the light client's poll loop.
final class LightSession {
    let fd: Int32
    let tls: TLSConnection
    let started: UInt64
    var reader = NTSKEMessageReader(maximumMessageLength: 65_536)
    var pending: [UInt8] = []
    var connected = false

    init(fd: Int32, tls: TLSConnection, started: UInt64) {
        self.fd = fd
        self.tls = tls
        self.started = started
    }

    /// Feeds bytes from the server (none to start the handshake); true once the response is complete and
    /// the keys are exported (the same work as NTSKEClient per session).
    func advance(_ incoming: [UInt8]) throws -> Bool {
        var progress = try tls.receive(incoming)
        while true {
            switch progress {
            case .needMore:
                pending += tls.takeOutbound()
                return false
            case .handshakeCompleted:
                guard tls.applicationProtocol == NTSKEServer.alpn else { throw LightClientError("no ALPN ntske/1") }
                try tls.send(keRequest)
                pending += tls.takeOutbound()
                progress = try tls.readApplicationData()
            case .data(let bytes):
                if let message = try reader.append(bytes) {
                    let response = try NTSKEResponse(parsing: message, offered: [AEADAlgorithm.aesSIVCMAC256])
                    let aead = response.aeadAlgorithm
                    guard !response.cookies.isEmpty,
                          tls.exportKeyingMaterial(label: NTSKEExporter.label,
                                                   context: NTSKEExporter.context(protocol: 0, aead: aead, serverToClient: false), length: 32) != nil,
                          tls.exportKeyingMaterial(label: NTSKEExporter.label,
                                                   context: NTSKEExporter.context(protocol: 0, aead: aead, serverToClient: true), length: 32) != nil
                    else { throw LightClientError("no cookies or key export failed") }
                    tls.close()
                    pending += tls.takeOutbound()
                    return true
                }
                progress = try tls.readApplicationData()
            case .closed:
                throw LightClientError("server closed before the response")
            }
        }
    }

    /// Writes what is pending (a few hundred bytes: it fits the socket buffer).
    func flush() throws {
        while !pending.isEmpty {
            let n = pending.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                throw LightClientError("write: errno \(errno)")
            }
            pending.removeFirst(n)
        }
    }
}

func connectNonBlocking(port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
    guard fd >= 0 else { return -1 }
    var one: Int32 = 1
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    if rc != 0 && errno != EINPROGRESS {
        close(fd)
        return -1
    }
    return fd
}

/// The light client: `concurrency` sessions kept open at all times on one thread, poll(2) over
/// non-blocking sockets, TLS through the project's TLSConnection (memory BIOs), no event loop or tasks.
func runLightClient(port: UInt16, seconds: Double, concurrency: Int, trust: TLSContext, report: Bool) -> (completed: Int, failed: Int, error: String?) {
    var durations: [UInt64] = []
    var sessions = [LightSession?](repeating: nil, count: concurrency)
    var completed = 0
    var failed = 0
    var firstError: String?
    var buffer = [UInt8](repeating: 0, count: 16_384)
    let end = cfs_monotonic_ns() + UInt64(seconds * 1e9)
    let sessionTimeout: UInt64 = 5_000_000_000

    func fail(_ slot: Int, _ why: String) {
        if let session = sessions[slot] { close(session.fd) }
        sessions[slot] = nil
        failed += 1
        if firstError == nil { firstError = why }
    }

    var fds: [pollfd] = []
    var slots: [Int] = []
    while true {
        let now = cfs_monotonic_ns()
        if now < end {
            for slot in 0..<concurrency where sessions[slot] == nil {
                let fd = connectNonBlocking(port: port)
                guard fd >= 0 else {
                    failed += 1
                    if firstError == nil { firstError = "connect: errno \(errno)" }
                    continue
                }
                do {
                    sessions[slot] = LightSession(fd: fd, tls: try TLSConnection(context: trust, isServer: false, serverName: "localhost"), started: now)
                } catch {
                    close(fd)
                    failed += 1
                    if firstError == nil { firstError = "\(error)" }
                }
            }
        }
        fds.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        for slot in 0..<concurrency {
            guard let session = sessions[slot] else { continue }
            if now - session.started > sessionTimeout {
                fail(slot, "session timed out")
                continue
            }
            var events = Int16(POLLIN)
            if !session.connected || !session.pending.isEmpty { events |= Int16(POLLOUT) }
            fds.append(pollfd(fd: session.fd, events: events, revents: 0))
            slots.append(slot)
        }
        if fds.isEmpty {
            if now >= end { break }
            continue
        }
        _ = poll(&fds, nfds_t(fds.count), 50)
        for (index, entry) in fds.enumerated() where entry.revents != 0 {
            let slot = slots[index]
            guard let session = sessions[slot] else { continue }
            do {
                if !session.connected {
                    var error: Int32 = 0
                    var length = socklen_t(MemoryLayout<Int32>.size)
                    _ = getsockopt(session.fd, SOL_SOCKET, SO_ERROR, &error, &length)
                    if error != 0 { throw LightClientError("connect: errno \(error)") }
                    if entry.revents & Int16(POLLOUT) == 0 && entry.revents & Int16(POLLIN) == 0 { continue }
                    session.connected = true
                    _ = try session.advance([])  // the ClientHello
                }
                var finished = false
                if entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                    while !finished {
                        let n = buffer.withUnsafeMutableBytes { read(session.fd, $0.baseAddress, $0.count) }
                        if n > 0 {
                            finished = try session.advance(Array(buffer[0..<n]))
                        } else if n == 0 {
                            throw LightClientError("server closed the connection")
                        } else if errno == EAGAIN || errno == EWOULDBLOCK {
                            break
                        } else {
                            throw LightClientError("read: errno \(errno)")
                        }
                    }
                }
                try session.flush()
                if finished {
                    close(session.fd)
                    sessions[slot] = nil
                    completed += 1
                    durations.append(cfs_monotonic_ns() - session.started)
                }
            } catch {
                fail(slot, "\(error)")
            }
        }
    }
    if report, environment["KE_DEBUG"] != nil, !durations.isEmpty {
        durations.sort()
        let q = { (f: Double) in Double(durations[min(durations.count - 1, Int(Double(durations.count) * f))]) / 1e6 }
        say(String(format: "    session ms: p10 %.2f p50 %.2f p90 %.2f p99 %.2f max %.2f", q(0.1), q(0.5), q(0.9), q(0.99), q(1.0)))
    }
    return (completed, failed, firstError)
}

/// The project's own client, `concurrency` tasks each running NTSKEClient.establish back to back.
func runNIOClient(port: UInt16, seconds: Double, concurrency: Int, trust: TLSContext) -> (completed: Int, failed: Int, error: String?) {
    let result = try? blocking { () async -> (Int, Int, String?) in
        let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        return await withTaskGroup(of: (Int, Int, String?).self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var ok = 0
                    var bad = 0
                    var firstError: String?
                    while ContinuousClock.now < end {
                        do {
                            _ = try await NTSKEClient.establish(host: "127.0.0.1", port: port, serverName: "localhost", trust: trust, ciphers: ciphers)
                            ok += 1
                        } catch {
                            bad += 1
                            if firstError == nil { firstError = "\(error)" }
                        }
                    }
                    return (ok, bad, firstError)
                }
            }
            var total = (0, 0, String?.none)
            for await (ok, bad, error) in group {
                total.0 += ok
                total.1 += bad
                total.2 = total.2 ?? error
            }
            return total
        }
    }
    return result.map { (completed: $0.0, failed: $0.1, error: $0.2) } ?? (0, 0, "task failed")
}

func measureKE(_ server: ServerUnderTest, trust: TLSContext) -> KEResult {
    let run = { (seconds: Double, report: Bool) in
        keClientKind == "nio"
            ? runNIOClient(port: server.kePort, seconds: seconds, concurrency: keConcurrency, trust: trust)
            : runLightClient(port: server.kePort, seconds: seconds, concurrency: keConcurrency, trust: trust, report: report)
    }
    _ = run(0.5, false)  // warm-up, not counted
    usleep(300_000)
    let serverBefore = treeCPUTimes(of: server.pid)
    let kernelBefore = KernelCounters.of(server.pid)
    let ownBefore = cpuSeconds(of: getpid())
    let machineBefore = machineBusySeconds()
    let start = cfs_monotonic_ns()
    let counts = run(keSeconds, true)
    let kernelAfter = KernelCounters.of(server.pid)
    var result = KEResult()
    result.seconds = Double(cfs_monotonic_ns() - start) / 1e9
    let serverAfter = treeCPUTimes(of: server.pid)
    result.serverUserCPU = serverAfter.user - serverBefore.user
    result.serverCPU = result.serverUserCPU + serverAfter.system - serverBefore.system
    result.generatorCPU = cpuSeconds(of: getpid()) - ownBefore
    result.otherCPU = max(0, machineBusySeconds() - machineBefore - result.serverCPU - result.generatorCPU)
    result.completed = counts.completed
    result.failed = counts.failed
    result.firstError = counts.error
    result.kernel = kernelAfter - kernelBefore
    say(String(format: "  %-9@ NTS-KE  %6d sessions in %.2f s = %6.0f/s, %d failed; server CPU %.3f ms/session (user %.3f, system %.3f; %3.0f%% of its core, %d processes); generator CPU %3.0f%%",
                 server.name, result.completed, result.seconds, result.sessionsPerSecond, result.failed,
                 result.serverCPUPerSession * 1e3, result.serverUserCPU / Double(max(1, result.completed)) * 1e3,
                 (result.serverCPU - result.serverUserCPU) / Double(max(1, result.completed)) * 1e3,
                 result.serverCPU / result.seconds * 100, processCount(of: server.pid),
                 result.generatorCPU / result.seconds * 100))
    let perSession = { (count: Int) in Double(count) / Double(max(1, result.completed)) }
    say(String(format: "            per session: %.2f voluntary + %.2f involuntary context switches, %.2f minor page faults; %d threads",
                 perSession(result.kernel.voluntarySwitches), perSession(result.kernel.involuntarySwitches),
                 perSession(result.kernel.minorFaults), result.kernel.threads))
    if let error = result.firstError { say("            first failure: \(error)") }
    warnIfBusy(result.otherCPU, seconds: result.seconds)
    return result
}

/// Datagrams dropped so far by the sockets bound to 127.0.0.1:`port` (the last column of /proc/net/udp):
/// requests lost because the server's receive buffer was full, as opposed to answers lost on our side.
func socketDrops(port: UInt16) -> Int {
    guard let table = try? String(contentsOfFile: "/proc/net/udp", encoding: .utf8) else { return 0 }
    let local = String(format: "0100007F:%04X", port)
    return table.split(separator: "\n").reduce(0) { total, line in
        let fields = line.split(separator: " ")
        guard fields.count > 2, fields[1] == local, let drops = Int(fields.last!) else { return total }
        return total + drops
    }
}

/// Other processes' CPU during a measurement, beyond a little noise: say so next to the figures.
func warnIfBusy(_ other: Double, seconds: Double) {
    if other > 0.1 * seconds {
        say(String(format: "            WARNING: other processes used %.0f%% of a CPU during this measurement: figures perturbed", other / seconds * 100))
    }
}

// MARK: NTS-protected NTP load

struct Step {
    var offered: Int
    var sent: Int
    var received: Int
    var cpuSeconds: Double
    var userSeconds = 0.0
    var otherCPU = 0.0
    var seconds = 0.0
    /// How long the step was meant to send.
    var plannedSeconds = 0.0
    var serverSocketDrops = 0
    var loss: Double { sent == 0 ? 1 : 1 - Double(received) / Double(sent) }
    /// At most 1 % lost, and the generator offered what it meant to.
    var passed: Bool { loss <= 0.01 && Double(sent) >= 0.97 * Double(offered) * plannedSeconds }
    var microsecondsPerResponse: Double { received == 0 ? .infinity : cpuSeconds / Double(received) * 1e6 }
    var userMicrosecondsPerResponse: Double { received == 0 ? .infinity : userSeconds / Double(received) * 1e6 }
    /// The server's share of its one core during the step.
    var coreShare: Double { seconds > 0 ? cpuSeconds / seconds : 0 }
}

/// Valid NTS requests of one length, laid out back to back for cfs_send_many.
struct RequestPool {
    var bytes: [UInt8]
    var length: Int
    var count: Int
}

/// Collects cookies with `cookieSessions` NTS-KE sessions and builds one request per cookie, each checked
/// once against the server (the response must authenticate with the session's S2C key).
///
/// The pool is then replayed in a loop for the whole ladder: an NTS server keeps no per-client state and
/// detects no replays (RFC 8915 §5.7 leaves that to the client, through the unique identifier), so an
/// old request costs it exactly the work of a fresh one: open the cookie, verify the authenticator, mint a
/// cookie, seal the response.
func buildPool(_ server: ServerUnderTest, trust: TLSContext) throws -> RequestPool {
    var sessions: [NTSKEClientResult] = []
    for _ in 0..<cookieSessions {
        let port = server.kePort
        sessions.append(try blocking {
            try await NTSKEClient.establish(host: "127.0.0.1", port: port, serverName: "localhost", trust: trust, ciphers: ciphers)
        })
    }
    var random = SystemRandomNumberGenerator()
    var requests: [(packet: [UInt8], uniqueIdentifier: [UInt8], keys: NTSKeys, transmit: NTPTimestamp)] = []
    for session in sessions {
        for cookie in session.cookies {
            let transmit = NTPTimestamp(rawValue: random.next())
            let (packet, identifier) = NTSClientRequest.build(
                header: ClientExchange.request(transmit: transmit), cookie: cookie, placeholders: placeholders,
                keys: session.keys, ciphers: ciphers, using: &random)
            requests.append((packet, identifier, session.keys, transmit))
        }
    }
    // cfs_send_many sends fixed-length slices: keep the most common length (all of them, as both servers
    // make cookies of one length per AEAD).
    var lengths: [Int: Int] = [:]
    for request in requests { lengths[request.packet.count, default: 0] += 1 }
    guard let length = lengths.max(by: { $0.value < $1.value })?.key else { throw LightClientError("no cookies from \(server.name)") }
    let usable = requests.filter { $0.packet.count == length }
    let client = NTPQueryClient(server: .init(host: "127.0.0.1", port: server.ntpPort), timeoutMilliseconds: 1000)
    for request in usable {
        let exchange = try client.exchange(request.packet) { (try? NTPHeader(parsing: $0))?.originTimestamp == request.transmit }
        let verdict = NTSClient.verify(response: exchange.response, uniqueIdentifier: request.uniqueIdentifier, keys: request.keys, ciphers: ciphers)
        guard case .authenticated(let fresh) = verdict, !fresh.isEmpty else {
            throw LightClientError("\(server.name) did not authenticate a pool request: \(verdict)")
        }
    }
    say("  \(server.name): \(usable.count) NTS requests of \(length) bytes (\(placeholders) placeholders) from \(sessions.count) NTS-KE sessions, each verified once; replayed in a loop")
    return RequestPool(bytes: usable.flatMap(\.packet), length: length, count: usable.count)
}

/// Offers `rate` NTS requests per second for `seconds`, from several source ports, and counts the answers.
func offer(rate: Int, seconds: Double, to server: ServerUnderTest, pool: RequestPool) -> Step {
    let sockets: [Int32] = (0..<8).map { _ in
        var mode: Int32 = 0
        var message = [CChar](repeating: 0, count: 128)
        let fd = cfs_udp_connect("127.0.0.1", server.ntpPort, &mode, &message, message.count)
        _ = cfs_set_buffers(fd, 8 << 20)
        return fd
    }
    defer { sockets.forEach { cfs_close($0) } }
    let batch = 64
    let cpuBefore = treeCPUTimes(of: server.pid)
    let ownBefore = cpuSeconds(of: getpid())
    let machineBefore = machineBusySeconds()
    let dropsBefore = socketDrops(port: server.ntpPort)
    let start = cfs_monotonic_ns()
    let end = start + UInt64(seconds * 1e9)
    var sent = 0
    var received = 0
    var next = 0
    var cursor = 0
    pool.bytes.withUnsafeBufferPointer { bytes in
        while true {
            let now = cfs_monotonic_ns()
            if now >= end { break }
            var due = Int(Double(rate) * Double(now - start) / 1e9) - sent
            while due > 0 {
                let count = cbs_send_many(sockets[next], bytes.baseAddress! + cursor * pool.length, Int32(pool.length),
                                          Int32(min(due, batch, pool.count - cursor)))
                next = (next + 1) % sockets.count
                if count <= 0 { break }
                sent += Int(count)
                due -= Int(count)
                cursor = (cursor + Int(count)) % pool.count
            }
            let got = receiveReplies(sockets)
            received += got
            if got == 0 && due <= 0 { usleep(100) }
        }
    }
    received += drainReplies(sockets)
    let cpuAfter = treeCPUTimes(of: server.pid)
    let serverCPU = cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system
    let other = machineBusySeconds() - machineBefore - serverCPU - (cpuSeconds(of: getpid()) - ownBefore)
    return Step(offered: rate, sent: sent, received: received, cpuSeconds: serverCPU, userSeconds: cpuAfter.user - cpuBefore.user,
                otherCPU: max(0, other),
                seconds: Double(cfs_monotonic_ns() - start) / 1e9, plannedSeconds: seconds, serverSocketDrops: socketDrops(port: server.ntpPort) - dropsBefore)
}

func measureNTP(_ server: ServerUnderTest, pool: RequestPool) -> [Step] {
    // What the server burns with no load at all (timers, idle loops), for reading the low rungs.
    let idleBefore = treeCPUSeconds(of: server.pid)
    usleep(1_000_000)
    say(String(format: "  %-9@ idle: server CPU %.1f%% of its core", server.name, (treeCPUSeconds(of: server.pid) - idleBefore) * 100))
    var steps: [Step] = []
    for rate in rates {
        let step = offer(rate: rate, seconds: stepSeconds, to: server, pool: pool)
        steps.append(step)
        say(String(format: "  %-9@ NTS NTP offered %7d/s  sent %8d  answered %8d  loss %6.2f%% (%d dropped at the server socket)  server CPU %6.2f us/response (user %5.2f), %3.0f%% of its core",
                     server.name, rate, step.sent, step.received, step.loss * 100, step.serverSocketDrops,
                     step.microsecondsPerResponse, step.userMicrosecondsPerResponse, step.coreShare * 100))
        warnIfBusy(step.otherCPU, seconds: step.seconds)
        usleep(300_000)
        if !step.passed { break }  // no rate above a failed one counts
    }
    // The highest rate below the first failure must hold for SUSTAIN_SECONDS, else the next lower one.
    for candidate in steps.filter(\.passed).map(\.offered).reversed() {
        let step = offer(rate: candidate, seconds: sustainSeconds, to: server, pool: pool)
        say(String(format: "  %-9@ NTS NTP sustained %5.0f s at %7d/s: loss %6.2f%%  server CPU %6.2f us/response (user %5.2f) %@",
                     server.name, sustainSeconds, candidate, step.loss * 100, step.microsecondsPerResponse, step.userMicrosecondsPerResponse,
                     step.passed ? "pass" : "FAIL"))
        usleep(300_000)
        if step.passed {
            sustained[server.name] = step
            break
        }
    }
    return steps
}

/// Each server's sustained rate: the highest ladder rate below its first failure that a sustained run held.
nonisolated(unsafe) var sustained: [String: Step] = [:]

// MARK: Servers

/// The servers started, stopped by PID on every way out (a top-level `defer` does not run on exit()).
nonisolated(unsafe) var launched: [Process] = []

func stopServers() {
    for process in launched where process.isRunning {
        process.terminate()
        process.waitUntilExit()
    }
    launched = []
}

func bail(_ message: String) -> Never {
    say(message)
    for log in ["chronyd.log", "fleetnode.log"] {
        say("--- \(log)\n" + ((try? String(contentsOfFile: work.appendingPathComponent(log).path, encoding: .utf8)) ?? ""))
    }
    stopServers()
    try? FileManager.default.removeItem(at: work)
    exit(1)
}

guard let chronyd = which("chronyd"), let setpriv = which("setpriv"), let taskset = which("taskset"), let openssl = which("openssl") else {
    say("needs chronyd (chrony), setpriv and taskset (util-linux), openssl")
    exit(1)
}
let fleetnodePath = binDirectory.appendingPathComponent("fleetnode").path
guard FileManager.default.isExecutableFile(atPath: fleetnodePath) else {
    say("no \(fleetnodePath): build it first (swift build -c release --product fleetnode)")
    exit(1)
}
let chronyPort: UInt16 = 21133
let chronyKEPort: UInt16 = 21460
let nodePort: UInt16 = 21134
let nodeKEPort: UInt16 = 21461

// One P-256 self-signed certificate for both servers, made now in the temporary directory.
let certificate = work.appendingPathComponent("cert.pem").path
let privateKey = work.appendingPathComponent("key.pem").path
let certificateRun = try launch(openssl, [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
    "-keyout", privateKey, "-out", certificate, "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
], log: work.appendingPathComponent("openssl.log").path)
certificateRun.waitUntilExit()
guard certificateRun.terminationStatus == 0 else {
    say("openssl could not make the certificate: \((try? String(contentsOfFile: work.appendingPathComponent("openssl.log").path, encoding: .utf8)) ?? "")")
    exit(1)
}
let trust = try TLSContext.client(trustedCertificates: certificate, alpn: NTSKEServer.alpn)

// chronyd: a loopback NTS server, never touching the clock (-x, no CAP_SYS_TIME), pinned to CPU 1. Its
// NTS-KE helper processes (`ntsprocesses`, 1 by default in chrony 4.3; left at the default, as deployed)
// are forked by the pinned process and stay on CPU 1; their CPU time is counted with chronyd's.
// maxntsconnections (100 per process) is also left at its default. chronyd has no per-source budget; the
// node's (`max_connections_per_source`, 8 by default) would refuse most of the generator's KE_CONCURRENCY
// sessions from 127.0.0.1, so it is raised to KE_CONCURRENCY here.
let chronyDir = work.appendingPathComponent("chrony").path
try FileManager.default.createDirectory(atPath: chronyDir, withIntermediateDirectories: true)
let chronyConf = work.appendingPathComponent("chrony.conf").path
try """
    port \(chronyPort)
    ntsport \(chronyKEPort)
    bindaddress 127.0.0.1
    allow 127.0.0.0/8
    local stratum 1
    ntsserverkey \(privateKey)
    ntsservercert \(certificate)
    ntsdumpdir \(chronyDir)
    cmdport 0
    pidfile \(chronyDir)/chronyd.pid
    """.write(toFile: chronyConf, atomically: true, encoding: .utf8)
let chrony = try launch(setpriv, ["--bounding-set=-sys_time", taskset, "-c", "1", chronyd, "-x", "-d", "-u", "root", "-f", chronyConf],
                        log: work.appendingPathComponent("chronyd.log").path)
launched.append(chrony)
defer { stopServers() }

let nodeConf = work.appendingPathComponent("fleetnode.toml").path
try """
    [node]
    name = "bench"
    log_level = "warning"
    status_socket = "\(work.path)/status.sock"
    [local]
    stratum = 1
    [ntp]
    listen = ["127.0.0.1:\(nodePort)"]
    threads = 1
    socket_buffer = \(nodeSocketBuffer)
    [nts]
    listen = ["127.0.0.1:\(nodeKEPort)"]
    certificate = "\(certificate)"
    private_key = "\(privateKey)"
    key_file = "\(work.path)/nts-cookie-keys"
    threads = 1
    max_connections_per_source = \(max(keConcurrency, 8))
    """.write(toFile: nodeConf, atomically: true, encoding: .utf8)
let node = try launch(taskset, ["-c", "1", fleetnodePath, "run", "--config", nodeConf], log: work.appendingPathComponent("fleetnode.log").path)
launched.append(node)

func waitForNTSKE(port: UInt16) -> Bool {
    for _ in 0..<100 {
        let ok = (try? blocking {
            try await NTSKEClient.establish(host: "127.0.0.1", port: port, serverName: "localhost", trust: trust, ciphers: ciphers)
        }) != nil
        if ok { return true }
        usleep(50_000)
    }
    return false
}

guard waitForNTSKE(port: chronyKEPort), waitForNTSKE(port: nodeKEPort) else {
    bail("a server did not answer NTS-KE")
}

let servers = [
    ServerUnderTest(name: "chronyd", pid: chrony.processIdentifier, ntpPort: chronyPort, kePort: chronyKEPort),
    ServerUnderTest(name: "fleetnode", pid: node.processIdentifier, ntpPort: nodePort, kePort: nodeKEPort),
]

say("")
say("NTS-KE on loopback: \(keRounds) rounds of \(keSeconds) s per server, alternating, \(keConcurrency) concurrent sessions, \(keClientKind) client on CPU 0, server on CPU 1, P-256 certificate")
var keRuns: [[KEResult]] = servers.map { _ in [] }
for _ in 0..<keRounds {
    for (index, server) in servers.enumerated() { keRuns[index].append(measureKE(server, trust: trust)) }
}
/// Each server's round with the median CPU per session (its other figures come from the same round).
let keResults = keRuns.map { runs in runs.sorted { $0.serverCPUPerSession < $1.serverCPUPerSession }[runs.count / 2] }

if !keOnly {
    say("")
    say("NTS-protected NTP on loopback: \(stepSeconds) s per step up to the first failure, then \(sustainSeconds) s sustained, generator on CPU 0, server on CPU 1")
    say("receive buffers: chronyd the kernel default (net.core.rmem_default), fleetnode socket_buffer = \(nodeSocketBuffer)\(nodeSocketBuffer == 0 ? " (the same: equal buffers)" : "")")
}
var ntpSteps: [[Step]] = []
for server in servers where !keOnly {
    do {
        ntpSteps.append(measureNTP(server, pool: try buildPool(server, trust: trust)))
    } catch {
        bail("cannot build the NTS request pool for \(server.name): \(error)")
    }
}

// MARK: Summary

say("")
let (chronyKE, nodeKE) = (keResults[0], keResults[1])
say(String(format: "NTS-KE sessions/s (median round): chronyd %.0f, fleetnode %.0f; ratio fleetnode/chronyd: %.2f",
             chronyKE.sessionsPerSecond, nodeKE.sessionsPerSecond, nodeKE.sessionsPerSecond / chronyKE.sessionsPerSecond))
let generatorBound = keResults.contains { $0.generatorCPU / $0.seconds > 0.9 }
if generatorBound {
    say("  (the generator used more than 90 % of CPU 0 in at least one run: it may be the limit, compare CPU per session)")
}
say(String(format: "NTS-KE server CPU per session (median of %d rounds): chronyd %.3f ms, fleetnode %.3f ms; ratio fleetnode/chronyd (lower is better): %.2f",
             keRounds, chronyKE.serverCPUPerSession * 1e3, nodeKE.serverCPUPerSession * 1e3, nodeKE.serverCPUPerSession / chronyKE.serverCPUPerSession))
if keRounds > 1 {
    let ratios = keRuns[0].indices.map { keRuns[1][$0].serverCPUPerSession / keRuns[0][$0].serverCPUPerSession }
    say("  per round: " + ratios.map { String(format: "%.2f", $0) }.joined(separator: ", "))
}
say(String(format: "  (sessions per second of server CPU, i.e. one core's capacity if the load generator were not the limit: chronyd %.0f, fleetnode %.0f)",
             1 / chronyKE.serverCPUPerSession, 1 / nodeKE.serverCPUPerSession))

if keOnly {
    stopServers()
    try? FileManager.default.removeItem(at: work)
    exit(0)
}

let chronyBest = sustained["chronyd"]
let nodeBest = sustained["fleetnode"]
say("Sustained NTS NTP rate (<= 1 % loss, every lower step passed, \(sustainSeconds) s held): chronyd \(chronyBest.map { "\($0.offered)/s" } ?? "none"), fleetnode \(nodeBest.map { "\($0.offered)/s" } ?? "none")")
if let chronyBest, let nodeBest {
    let capped = nodeBest.offered == rates.last! || chronyBest.offered == rates.last!
    say(String(format: "ratio fleetnode/chronyd, NTS sustained rate (higher is better): %.2f%@", Double(nodeBest.offered) / Double(chronyBest.offered),
                 capped ? " (at least one server reached the top of the ladder: the generator may be the limit)" : ""))
}
func cpuAt(_ steps: [Step], rate: Int) -> Double? { steps.first { $0.offered == rate && $0.passed }?.microsecondsPerResponse }
if let common = rates.filter({ cpuAt(ntpSteps[0], rate: $0) != nil && cpuAt(ntpSteps[1], rate: $0) != nil }).last,
   let ours = cpuAt(ntpSteps[1], rate: common), let theirs = cpuAt(ntpSteps[0], rate: common) {
    say(String(format: "server CPU per NTS response at %d/s: chronyd %.2f us, fleetnode %.2f us; ratio fleetnode/chronyd (lower is better): %.2f",
                 common, theirs, ours, ours / theirs))
}
// And each at its own sustained rate (the low common rungs carry more per-wakeup overhead).
if let chronyBest, let nodeBest {
    say(String(format: "server CPU per NTS response at each one's sustained rate: chronyd %.2f us at %d/s, fleetnode %.2f us at %d/s; ratio fleetnode/chronyd (lower is better): %.2f",
                 chronyBest.microsecondsPerResponse, chronyBest.offered, nodeBest.microsecondsPerResponse, nodeBest.offered,
                 nodeBest.microsecondsPerResponse / chronyBest.microsecondsPerResponse))
}

// CPU per response on the rungs where neither server was saturated (each used less than 90 % of its core
// and answered at least 90 % of what was sent): the per-response cost itself, apart from how each copes
// with bursts (a receive buffer that overflows drops requests with CPU to spare).
let comparable = rates.compactMap { rate -> (chrony: Step, node: Step)? in
    guard let chrony = ntpSteps[0].first(where: { $0.offered == rate }), let node = ntpSteps[1].first(where: { $0.offered == rate }),
          [chrony, node].allSatisfy({ $0.coreShare < 0.9 && $0.loss <= 0.1 })
    else { return nil }
    return (chrony, node)
}
if let total = median(comparable.map { $0.node.microsecondsPerResponse / $0.chrony.microsecondsPerResponse }),
   let user = median(comparable.map { $0.node.userMicrosecondsPerResponse / $0.chrony.userMicrosecondsPerResponse }) {
    say(String(format: "server CPU per NTS response where neither was saturated (%@/s): median ratio fleetnode/chronyd (lower is better) %.2f; user space alone %.2f",
                 comparable.map { "\($0.chrony.offered)" }.joined(separator: ", "), total, user))
}
