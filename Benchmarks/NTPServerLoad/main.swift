// NTP server load: fleetnode against chronyd, measured in the same run on the same machine (issue 18).
//
// Each server runs alone on CPU 1 with one receive loop; this generator runs on CPU 0 (see `make bench`).
// Three servers in every round: chronyd (the kernel's default receive buffer: chrony never sets one),
// fleetnode with `socket_buffer = 0` (the kernel's default too: EQUAL buffers, nothing changed system-wide)
// and fleetnode with its defaults (a 4 MiB buffer). Rounds alternate the order of the servers.
//
// The load: `CLIENTS` virtual clients (default 1024) take turns, request i belonging to client i mod CLIENTS,
// so each client polls every CLIENTS/rate seconds, open loop, in sendmmsg batches of 16 from 8 sockets (a
// client always uses the same one). Every request carries its index in its transmit timestamp (and, in the
// interleaved form, in its receive timestamp), which the server echoes as the origin, so every answer is
// matched to its request. A share `XLEAVE` of the clients (default 0.5) speaks interleaved mode as chrony's
// `xleave` client does (draft-ietf-ntp-interleaved-modes / RFC 9769 §2): after a first basic exchange each
// request names the server's receive timestamp of the client's last answer as its origin, and carries a
// receive timestamp different from its transmit timestamp.
//
// Per step and server it reports: the share of requests answered; the share answered LATE (after the same
// client's next request was sent: the client no longer waits for it); transmit timestamp error, basic mode
// (the generator's kernel receive timestamp minus the answer's T3: loopback shares one clock, so this is how
// early T3 was plus the loopback delivery) and interleaved mode (the generator's kernel receive timestamp of
// the previous answer minus the T3 of the interleaved answer that names it); the server's CPU per answer,
// user and system separately, from /proc; and the response time (kernel receive stamp minus the time just
// before the sendmmsg that carried the request) p50/p99/p99.9.
//
// A rate PASSES only if loss + late answers stay under 1 % and the generator offered what it meant to. The
// ladder (`RATES`, `STEP_SECONDS` each, default 2 s) stops at its first failing step; the highest step below
// it must then hold for a sustained `SUSTAIN_SECONDS` run (default 8 s), else the next lower one is tried:
// that is the server's sustained rate. Then twice that rate is offered for `SUSTAIN_SECONDS` (overload: what
// matters is that answers are not late). Every ratio is node / chronyd: lower is better for costs and
// errors, higher for rates. Absolute numbers depend on the machine and on its load (printed); compare ratios.
import BenchSupport
import CBenchShim
import CFleetShim
import Foundation
import NetworkEdges

let environment = ProcessInfo.processInfo.environment
let arguments = CommandLine.arguments
let binDirectory = URL(fileURLWithPath: arguments[0]).deletingLastPathComponent()
let stepSeconds = Double(environment["STEP_SECONDS"] ?? "") ?? 2
let sustainSeconds = max(Double(environment["SUSTAIN_SECONDS"] ?? "") ?? 8, 1)
let rounds = max(Int(environment["ROUNDS"] ?? "") ?? 3, 1)
let rates = (environment["RATES"] ?? "10000,20000,40000,60000,80000,100000,125000,150000,200000,250000,300000")
    .split(separator: ",").compactMap { Int($0) }
let batch = 16
let socketCount = 8
/// Clients: a multiple of batch × sockets, so that a client always sends from the same socket.
let clients = max(((Int(environment["CLIENTS"] ?? "") ?? 1024) + batch * socketCount - 1) / (batch * socketCount), 1) * batch * socketCount
let xleaveShare = min(max(Double(environment["XLEAVE"] ?? "") ?? 0.5, 0), 1)
let interleavedClients = Int(Double(clients) * xleaveShare)
let passLimit = 0.01
let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ntp-bench-\(getpid())")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }

/// Mean, standard deviation and percentiles of nanosecond samples, in microseconds.
struct Stats {
    var count = 0
    var mean = Double.nan
    var sd = Double.nan
    var p50 = Double.nan
    var p99 = Double.nan
    var p999 = Double.nan

    init() {}
    init(_ values: [Int64]) {
        guard !values.isEmpty else { return }
        count = values.count
        let m = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(values.count)
        let sorted = values.sorted()
        func at(_ q: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) / 1000 }
        mean = m / 1000
        sd = variance.squareRoot() / 1000
        p50 = at(0.5)
        p99 = at(0.99)
        p999 = at(0.999)
    }
}

struct Step {
    var phase: String
    var offered: Int
    var seconds: Double
    var sent = 0
    var answered = 0
    var late = 0
    var userSeconds = 0.0
    var systemSeconds = 0.0
    var basic = Stats()
    var interleaved = Stats()
    var responseTime = Stats()

    var generatorLimited: Bool { Double(sent) < 0.97 * Double(offered) * seconds }
    var answeredShare: Double { sent == 0 ? 0 : Double(answered) / Double(sent) }
    var lateShare: Double { sent == 0 ? 0 : Double(late) / Double(sent) }
    /// Lost or late: what a client does not get in time.
    var failedShare: Double { 1 - answeredShare + lateShare }
    var passed: Bool { !generatorLimited && failedShare < passLimit }
    var userPerAnswer: Double { answered == 0 ? .nan : userSeconds / Double(answered) * 1e6 }
    var systemPerAnswer: Double { answered == 0 ? .nan : systemSeconds / Double(answered) * 1e6 }
    var cpuPerAnswer: Double { userPerAnswer + systemPerAnswer }
}

struct ServerUnderTest {
    var name: String
    var pid: Int32
    var port: UInt16
}

/// The outcome of one round for one server.
struct ServerRun {
    var ladder: [Step] = []
    var sustained: Step?
    var overload: Step?
    func ladderStep(at rate: Int) -> Step? { ladder.first { $0.offered == rate } }
}

func waitForAnswer(port: UInt16) -> Bool {
    for _ in 0..<100 {
        if (try? NTPQueryClient(server: .init(host: "127.0.0.1", port: port), timeoutMilliseconds: 100).query()) != nil { return true }
        usleep(50_000)
    }
    return false
}

/// Offers `rate` requests per second for `seconds` to `server` and matches every answer to its request.
/// `tag` (16 bits, not 0) marks this step's requests: answers to an earlier step's are not counted.
func offer(rate: Int, seconds: Double, phase: String, tag stepTag: UInt64, to server: ServerUnderTest) -> Step {
    var step = Step(phase: phase, offered: rate, seconds: seconds)
    let sockets: [Int32] = (0..<socketCount).map { _ in
        var mode: Int32 = 0
        var message = [CChar](repeating: 0, count: 128)
        let fd = cfs_udp_connect("127.0.0.1", server.port, &mode, &message, message.count)
        _ = cfs_set_buffers(fd, 8 << 20)
        return fd
    }
    defer { sockets.forEach { cfs_close($0) } }
    let tag = (stepTag & 0xFFFF) << 48
    let planned = Int(Double(rate) * seconds) + 4 * batch
    // Per request: when it was sent (CLOCK_REALTIME), when its answer came (kernel stamp; 0 = none), and for
    // a request in the interleaved form the kernel stamp of the earlier answer it named (0 = basic form).
    var sentAt = [Int64](repeating: 0, count: planned)
    var answeredAt = [Int64](repeating: 0, count: planned)
    var namedAt = [Int64](repeating: 0, count: planned)
    // Per client: the server's receive timestamp of its latest answer, our receive stamp of it, its request.
    var lastServerReceive = [UInt64](repeating: 0, count: clients)
    var lastStamp = [Int64](repeating: 0, count: clients)
    var lastIndex = [Int](repeating: -1, count: clients)
    var basicErrors: [Int64] = []
    var interleavedErrors: [Int64] = []
    basicErrors.reserveCapacity(planned)
    interleavedErrors.reserveCapacity(planned / 2)
    var packets = [UInt8](repeating: 0, count: batch * 48)
    var replies = [cbs_reply](repeating: cbs_reply(), count: 256)

    func put(_ value: UInt64, at offset: Int, in buffer: UnsafeMutableBufferPointer<UInt8>) {
        for byte in 0..<8 { buffer[offset + byte] = UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64(byte))) }
    }
    func collect() -> Int {
        var got = 0
        for fd in sockets {
            let count = Int(replies.withUnsafeMutableBufferPointer { cbs_recv_replies(fd, 256, $0.baseAddress) })
            got += count
            for reply in replies.prefix(count) where reply.length >= 48 && reply.origin & 0xFFFF_0000_0000_0000 == tag {
                let index = Int((reply.origin & 0x0000_FFFF_FFFF_FFFF) >> 1)
                guard index < step.sent, answeredAt[index] == 0 else { continue }
                let stamp = reply.rx_ns != 0 ? reply.rx_ns : cbs_realtime_ns()
                answeredAt[index] = stamp
                if reply.origin & 1 == 1 {
                    // Interleaved: T3 is the transmit time of the earlier answer this request named.
                    if namedAt[index] != 0 && reply.rx_ns != 0 { interleavedErrors.append(namedAt[index] - reply.transmit_ns) }
                } else if reply.rx_ns != 0 {
                    basicErrors.append(reply.rx_ns - reply.transmit_ns)
                }
                let client = index % clients
                if index > lastIndex[client] {
                    lastIndex[client] = index
                    lastServerReceive[client] = reply.receive
                    lastStamp[client] = reply.rx_ns
                }
            }
        }
        return got
    }

    let cpuBefore = cpuTimes(of: server.pid)
    let start = cfs_monotonic_ns()
    let end = start + UInt64(seconds * 1e9)
    while true {
        let now = cfs_monotonic_ns()
        if now >= end { break }
        var due = Int(Double(rate) * Double(now - start) / 1e9) - step.sent
        var batches = 0
        while due >= batch && step.sent + batch <= planned && batches < 16 {
            batches += 1
            let first = step.sent
            packets.withUnsafeMutableBufferPointer { buffer in
                for slot in 0..<batch {
                    let index = first + slot
                    let client = index % clients
                    let base = slot * 48
                    for byte in 0..<48 { buffer[base + byte] = 0 }
                    buffer[base] = 0x23  // LI 0, version 4, mode 3 (client)
                    buffer[base + 2] = 6
                    buffer[base + 3] = 0xEC  // precision 2^-20
                    let transmit = tag | UInt64(index) << 1
                    if client < interleavedClients && lastServerReceive[client] != 0 {
                        // Interleaved form, as chrony's xleave client: origin = the server's receive timestamp of
                        // our latest answer, receive (here: our second cookie) != transmit.
                        put(lastServerReceive[client], at: base + 24, in: buffer)
                        put(transmit | 1, at: base + 32, in: buffer)
                        namedAt[index] = lastStamp[client]
                    }
                    put(transmit, at: base + 40, in: buffer)
                }
            }
            let socket = sockets[(first / batch) % socketCount]
            let stamp = cbs_realtime_ns()
            let count = Int(packets.withUnsafeBufferPointer { cbs_send_many(socket, $0.baseAddress, 48, Int32(batch)) })
            if count <= 0 {
                for slot in 0..<batch { namedAt[first + slot] = 0 }
                break
            }
            for slot in 0..<count { sentAt[first + slot] = stamp }
            for slot in count..<batch { namedAt[first + slot] = 0 }
            step.sent += count
            due -= count
        }
        let got = collect()
        if got == 0 && due < batch { usleep(100) }
    }
    // Late answers still count as answered (and as late): collect for 500 ms after the sending ends.
    let drainEnd = cfs_monotonic_ns() + 500_000_000
    while cfs_monotonic_ns() < drainEnd {
        if collect() == 0 { usleep(1000) }
    }
    let cpuAfter = cpuTimes(of: server.pid)
    step.userSeconds = cpuAfter.user - cpuBefore.user
    step.systemSeconds = cpuAfter.system - cpuBefore.system

    let intervalNs = Int64(Double(clients) / Double(rate) * 1e9)
    var responseTimes: [Int64] = []
    responseTimes.reserveCapacity(step.sent)
    for index in 0..<step.sent where answeredAt[index] != 0 {
        step.answered += 1
        responseTimes.append(answeredAt[index] - sentAt[index])
        // The client's next request: sent, or (after the step's end) when it would have been.
        let next = index + clients < step.sent ? sentAt[index + clients] : sentAt[index] + intervalNs
        if answeredAt[index] > next { step.late += 1 }
    }
    step.basic = Stats(basicErrors)
    step.interleaved = Stats(interleavedErrors)
    step.responseTime = Stats(responseTimes)
    return step
}

func report(_ server: ServerUnderTest, _ step: Step) {
    say(String(format: "  %-13@ %-8@ %7d/s  answered %6.2f%%  late %6.2f%%  %@  CPU/answer %5.2f us (user %5.2f sys %5.2f)  TX error basic %7.2f sd %7.2f p99 %8.2f us, xleave %6.2f sd %7.2f us (n %d)  response p50/p99/p99.9 %.0f/%.0f/%.0f us",
                 server.name, step.phase, step.offered, step.answeredShare * 100, step.lateShare * 100,
                 step.passed ? "pass" : (step.generatorLimited ? "GEN!" : "FAIL"),
                 step.cpuPerAnswer, step.userPerAnswer, step.systemPerAnswer,
                 step.basic.mean, step.basic.sd, step.basic.p99, step.interleaved.mean, step.interleaved.sd, step.interleaved.count,
                 step.responseTime.p50, step.responseTime.p99, step.responseTime.p999))
}

/// Prints a line at once (the output may go to a pipe or a file).
func say(_ line: String = "") { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

func measure(_ server: ServerUnderTest, firstTag: UInt64) -> ServerRun {
    var run = ServerRun()
    var tag = firstTag
    func nextTag() -> UInt64 {
        tag = tag % 0xFFFF + 1
        return tag
    }
    for rate in rates {
        let step = offer(rate: rate, seconds: stepSeconds, phase: "ladder", tag: nextTag(), to: server)
        report(server, step)
        run.ladder.append(step)
        usleep(300_000)
        if !step.passed { break }  // no rate above a failed one counts
    }
    // The highest ladder rate below the first failure must hold for a sustained run; else the next lower one.
    for candidate in run.ladder.filter(\.passed).map(\.offered).reversed() {
        let step = offer(rate: candidate, seconds: sustainSeconds, phase: "sustain", tag: nextTag(), to: server)
        report(server, step)
        usleep(300_000)
        if step.passed {
            run.sustained = step
            break
        }
    }
    let saturation = run.sustained?.offered ?? rates[0]
    run.overload = offer(rate: 2 * saturation, seconds: sustainSeconds, phase: "2x", tag: nextTag(), to: server)
    report(server, run.overload!)
    usleep(300_000)
    return run
}

guard let chronyd = which("chronyd"), let setpriv = which("setpriv"), let taskset = which("taskset") else {
    say("needs chronyd (chrony), setpriv and taskset (util-linux)")
    exit(1)
}
// FLEETNODE=path measures another build (a before/after comparison in one run of this generator).
let fleetnodePath = environment["FLEETNODE"] ?? binDirectory.appendingPathComponent("fleetnode").path
let chronyPort: UInt16 = 21123
let equalPort: UInt16 = 21124
let defaultPort: UInt16 = 21125
// SERVER_CPUS: where the servers run (default CPU 1, the generator on CPU 0).
let serverCPUs = environment["SERVER_CPUS"] ?? "1"

// chronyd: a plain loopback server, never touching the clock (-x, no CAP_SYS_TIME), pinned to CPU 1.
let chronyConf = work.appendingPathComponent("chrony.conf").path
try """
    port \(chronyPort)
    bindaddress 127.0.0.1
    allow 127.0.0.0/8
    local stratum 1
    cmdport 0
    pidfile \(work.path)/chronyd.pid
    """.write(toFile: chronyConf, atomically: true, encoding: .utf8)
let chrony = try launch(setpriv, ["--bounding-set=-sys_time", taskset, "-c", serverCPUs, chronyd, "-x", "-d", "-u", "root", "-f", chronyConf],
                        log: work.appendingPathComponent("chronyd.log").path)
defer { chrony.terminate(); chrony.waitUntilExit() }

/// Whether `[ntp]` lines set `threads` (then the one-loop default is left out: TOML refuses a key twice).
func setsThreads(_ lines: String) -> Bool {
    lines.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("threads") }
}

func startNode(_ name: String, port: UInt16, extra: String) throws -> Process {
    let conf = work.appendingPathComponent("\(name).toml").path
    try """
        [node]
        name = "\(name)"
        log_level = "warning"
        status_socket = "\(work.path)/\(name).sock"
        [local]
        stratum = 1
        [ntp]
        listen = ["127.0.0.1:\(port)"]
        \(setsThreads(extra + "\n" + (environment["NTP_EXTRA"] ?? "")) ? "" : "threads = 1")
        \(extra)
        \(environment["NTP_EXTRA"] ?? "")
        """.write(toFile: conf, atomically: true, encoding: .utf8)
    return try launch(taskset, ["-c", serverCPUs, fleetnodePath, "run", "--config", conf], log: work.appendingPathComponent("\(name).log").path)
}
let equalNode = try startNode("node-equal", port: equalPort, extra: "socket_buffer = 0")
defer { equalNode.terminate(); equalNode.waitUntilExit() }
// `VARIANT='[ntp] lines'`: the third server is the node at equal buffers with these lines instead of the node
// with its defaults: two settings compared in the same run (e.g. VARIANT='send = "batch"').
let variant = environment["VARIANT"]
let thirdName = variant == nil ? "node-default" : "node-variant"
let thirdLabel = variant.map { "node, equal buffers, \($0.replacingOccurrences(of: "\n", with: "; "))" } ?? "node, defaults"
let defaultNode = try startNode(thirdName, port: defaultPort, extra: variant.map { "socket_buffer = 0\n\($0)" } ?? "")
defer { defaultNode.terminate(); defaultNode.waitUntilExit() }

// Interrupted (Ctrl-C, SIGTERM): stop the three servers by PID and remove the work directory, as the defers would.
let serverPIDs = [chrony.processIdentifier, equalNode.processIdentifier, defaultNode.processIdentifier]
let workPath = work.path
var signalSources: [any DispatchSourceSignal] = []
for number in [SIGINT, SIGTERM] {
    signal(number, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
    source.setEventHandler {
        for pid in serverPIDs { kill(pid, SIGTERM) }
        try? FileManager.default.removeItem(atPath: workPath)
        exit(1)
    }
    source.resume()
    signalSources.append(source)
}

guard waitForAnswer(port: chronyPort), waitForAnswer(port: equalPort), waitForAnswer(port: defaultPort) else {
    say("a server did not answer; logs in \(work.path)")
    exit(1)
}

let servers = [
    ServerUnderTest(name: "chronyd", pid: chrony.processIdentifier, port: chronyPort),
    ServerUnderTest(name: "node-equal", pid: equalNode.processIdentifier, port: equalPort),
    ServerUnderTest(name: thirdName, pid: defaultNode.processIdentifier, port: defaultPort),
]
func sysctl(_ name: String) -> String {
    (try? String(contentsOfFile: "/proc/sys/net/core/\(name)", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
}
func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}
say("""
    NTP server load on loopback: generator on CPU 0, servers on CPU \(serverCPUs), one receive loop each.
    chronyd 4.3: kernel-default receive buffer (net.core.rmem_default = \(sysctl("rmem_default")) bytes);
    node-equal: fleetnode with socket_buffer = 0, the same kernel default (EQUAL buffers);
    \(variant.map { "node-variant: fleetnode with socket_buffer = 0 and \($0)" } ?? "node-default: fleetnode with its defaults (socket_buffer 4 MiB, net.core.rmem_max = \(sysctl("rmem_max")))").
    \(clients) clients (\(interleavedClients) in interleaved mode), each polling every clients/rate s; a step passes with
    loss + late < 1 %; ladder \(stepSeconds) s a step up to its first failure, then a sustained \(sustainSeconds) s run, then 2x that.
    """)

var runs: [[ServerRun]] = []
for round in 0..<rounds {
    let order = round % 2 == 0 ? Array(servers.indices) : Array(servers.indices.reversed())
    say("\nRound \(round + 1) of \(rounds), load average \(loadAverage()) (order: \(order.map { servers[$0].name }.joined(separator: ", ")))")
    var results = [ServerRun](repeating: ServerRun(), count: servers.count)
    // Each server's steps get their own tags (answers to one step are never counted in another).
    for index in order { results[index] = measure(servers[index], firstTag: UInt64(round * servers.count + index) * 100) }
    say("  load average at the end of the round: \(loadAverage())")
    runs.append(results)
}

// The node's own view over the whole run: kernel transmit timestamp minus the T3 it wrote, queueing delay.
for name in ["node-equal", thirdName] {
    let output = Pipe()
    let status = Process()
    status.executableURL = URL(fileURLWithPath: fleetnodePath)
    status.arguments = ["status", "--socket", "\(work.path)/\(name).sock"]
    status.standardOutput = output
    if (try? status.run()) != nil {
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        status.waitUntilExit()
        for line in text.split(separator: "\n") where line.hasPrefix("TX stamp") || line.hasPrefix("Queueing") || line.hasPrefix("NTP interleaved") || line.contains("too old") {
            say("\(name) status: \(line)")
        }
    }
}

// Figures per round; ratios node / chronyd from the same round.
/// The highest ladder rate that every server passed in a round: the common rate for costs and errors.
func commonRate(_ round: [ServerRun]) -> Int? {
    rates.filter { rate in round.allSatisfy { $0.ladderStep(at: rate)?.passed == true } }.last
}
func median(_ values: [Double]) -> Double {
    let sorted = values.filter { !$0.isNaN }.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

let lowRate = rates[0]
typealias Pick = (ServerRun, Int?) -> Double?
let figures: [(label: String, better: String, pick: Pick)] = [
    ("sustained rate (loss + late < 1 %, every lower step passed), /s", "higher", { run, _ in run.sustained.map { Double($0.offered) } ?? 0 }),
    ("late answers at 2x own sustained rate, %", "lower", { run, _ in run.overload.map { $0.lateShare * 100 } }),
    ("lost answers at 2x own sustained rate, %", "lower", { run, _ in run.overload.map { (1 - $0.answeredShare) * 100 } }),
    ("CPU per answer at the common rate, us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.cpuPerAnswer } }),
    ("  user space, us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.userPerAnswer } }),
    ("  system (kernel), us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.systemPerAnswer } }),
    ("basic TX error mean at \(lowRate / 1000)k/s, us", "lower", { run, _ in run.ladderStep(at: lowRate)?.basic.mean }),
    ("basic TX error sd at \(lowRate / 1000)k/s, us", "lower", { run, _ in run.ladderStep(at: lowRate)?.basic.sd }),
    ("basic TX error mean at the common rate, us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.basic.mean } }),
    ("basic TX error sd at the common rate, us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.basic.sd } }),
    ("basic TX error p99 at the common rate, us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.basic.p99 } }),
    ("interleaved TX error mean at \(lowRate / 1000)k/s, us", "lower", { run, _ in run.ladderStep(at: lowRate)?.interleaved.mean }),
    ("interleaved TX error sd at \(lowRate / 1000)k/s, us", "lower", { run, _ in run.ladderStep(at: lowRate)?.interleaved.sd }),
    ("interleaved TX error mean at the common rate, us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.interleaved.mean } }),
    ("interleaved TX error sd at the common rate, us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.interleaved.sd } }),
    ("response time p50 at the common rate, us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.responseTime.p50 } }),
    ("response time p99 at the common rate, us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.responseTime.p99 } }),
    ("response time p99.9 at the common rate, us", "lower", { run, rate in rate.flatMap { run.ladderStep(at: $0)?.responseTime.p999 } }),
    ("max late answers on the ladder up to saturation, %", "lower", { run, _ in
        run.ladder.filter { $0.offered <= (run.sustained?.offered ?? 0) }.map { $0.lateShare * 100 }.max() }),
]

say("\nCommon rate per round (highest ladder rate all three passed): \(runs.map { commonRate($0).map { "\($0)/s" } ?? "none" }.joined(separator: ", "))")
say("Medians over \(rounds) round(s); ratios are node / chronyd per round (median and range); 'better' says which way is better.\n")
say("| figure | better | chronyd | node, equal buffers | ratio | \(thirdLabel) | ratio |")
say("| --- | --- | --- | --- | --- | --- | --- |")
for figure in figures {
    var values: [[Double]] = Array(repeating: [], count: servers.count)
    var ratios: [[Double]] = [[], []]
    for round in runs {
        let rate = commonRate(round)
        let picked = round.map { figure.pick($0, rate) ?? .nan }
        for (index, value) in picked.enumerated() { values[index].append(value) }
        for node in 1...2 where !picked[0].isNaN && !picked[node].isNaN && picked[0] != 0 { ratios[node - 1].append(picked[node] / picked[0]) }
    }
    func value(_ index: Int) -> String {
        let m = median(values[index])
        return m.isNaN ? "-" : (abs(m) >= 100 ? String(format: "%.0f", m) : String(format: "%.2f", m))
    }
    func ratio(_ index: Int) -> String {
        let r = ratios[index].sorted()
        guard !r.isEmpty else { return "-" }
        return r.count == 1 ? String(format: "%.2f", r[0]) : String(format: "%.2f (%.2f-%.2f)", median(r), r.first!, r.last!)
    }
    say("| \(figure.label) | \(figure.better) | \(value(0)) | \(value(1)) | \(ratio(0)) | \(value(2)) | \(ratio(1)) |")
}
