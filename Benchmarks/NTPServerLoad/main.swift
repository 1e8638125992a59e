// NTP server throughput: fleetnode against chronyd, measured in the same run on the same machine.
//
// Each server runs alone on CPU 1 with one receive loop; this generator runs on CPU 0 (see `make bench`).
// For a ladder of offered rates it sends client requests for a few seconds (open loop, sendmmsg batches)
// and counts responses, and it reads the server's CPU time from /proc. It prints, per server, the highest
// rate answered with at most 1 % loss and the server CPU per answered request, and then our/chrony ratios.
// Absolute numbers depend on the machine; only the ratios are meant to be compared between runs.
import BenchSupport
import CBenchShim
import CFleetShim
import NetworkEdges
import NodeModels
import Foundation
import NTPCore

struct Step {
    var offered: Int
    var sent: Int
    var received: Int
    var cpuSeconds: Double
    /// Generator's kernel receive timestamp minus the reply's T3, nanoseconds (loopback: one clock).
    var transmitErrors: [Int64] = []
    var loss: Double { sent == 0 ? 1 : 1 - Double(received) / Double(sent) }
    var microsecondsPerResponse: Double { received == 0 ? .infinity : cpuSeconds / Double(received) * 1e6 }
}

struct ServerUnderTest {
    var name: String
    var pid: Int32
    var port: UInt16
}

let arguments = CommandLine.arguments
let binDirectory = URL(fileURLWithPath: arguments[0]).deletingLastPathComponent()
let stepSeconds = Double(ProcessInfo.processInfo.environment["STEP_SECONDS"] ?? "") ?? 2
let rates = (ProcessInfo.processInfo.environment["RATES"] ?? "20000,40000,60000,80000,100000,125000,150000,200000,250000,300000")
    .split(separator: ",").compactMap { Int($0) }
let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("ntp-bench-\(getpid())")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }

func waitForAnswer(port: UInt16) -> Bool {
    for _ in 0..<100 {
        if (try? NTPQueryClient(server: .init(host: "127.0.0.1", port: port), timeoutMilliseconds: 100).query()) != nil { return true }
        usleep(50_000)
    }
    return false
}

/// Offers `rate` requests per second for `seconds`, from several source ports, and counts the answers.
func offer(rate: Int, seconds: Double, to server: ServerUnderTest) -> Step {
    let sockets: [Int32] = (0..<8).map { _ in
        var mode: Int32 = 0
        var message = [CChar](repeating: 0, count: 128)
        let fd = cfs_udp_connect("127.0.0.1", server.port, &mode, &message, message.count)
        _ = cfs_set_buffers(fd, 8 << 20)
        return fd
    }
    defer { sockets.forEach { cfs_close($0) } }
    let batch = 64
    var random = SystemRandomNumberGenerator()
    var payload: [UInt8] = []
    for _ in 0..<batch {
        payload += NTPPacket(header: ClientExchange.request(transmit: NTPTimestamp(rawValue: random.next()))).serialized()
    }
    let cpuBefore = cpuSeconds(of: server.pid)
    let start = cfs_monotonic_ns()
    let end = start + UInt64(seconds * 1e9)
    var sent = 0
    var received = 0
    var next = 0
    var errors: [Int64] = []
    errors.reserveCapacity(Int(Double(rate) * seconds) + 1024)
    while true {
        let now = cfs_monotonic_ns()
        if now >= end { break }
        var due = Int(Double(rate) * Double(now - start) / 1e9) - sent
        while due > 0 {
            let count = payload.withUnsafeBufferPointer { cbs_send_many(sockets[next], $0.baseAddress, 48, Int32(min(due, batch))) }
            next = (next + 1) % sockets.count
            if count <= 0 { break }
            sent += Int(count)
            due -= Int(count)
        }
        let got = receiveStamped(sockets, into: &errors)
        received += got
        if got == 0 && due <= 0 { usleep(100) }
    }
    let drainEnd = cfs_monotonic_ns() + 300_000_000
    while cfs_monotonic_ns() < drainEnd {
        let got = receiveStamped(sockets, into: &errors)
        received += got
        if got == 0 { usleep(1000) }
    }
    return Step(offered: rate, sent: sent, received: received, cpuSeconds: cpuSeconds(of: server.pid) - cpuBefore, transmitErrors: errors)
}

/// Replies waiting now, with (kernel receive stamp - T3) of each kept in `errors`.
func receiveStamped(_ sockets: [Int32], into errors: inout [Int64]) -> Int {
    var got = 0
    var buffer = [Int64](repeating: 0, count: 256)
    for fd in sockets {
        var count: Int32 = 0
        got += Int(buffer.withUnsafeMutableBufferPointer { cbs_recv_many_stamped(fd, 256, $0.baseAddress, &count) })
        errors.append(contentsOf: buffer.prefix(Int(count)))
    }
    return got
}

/// Mean, standard deviation and p99 in microseconds.
func summary(_ values: [Int64]) -> (mean: Double, sd: Double, p99: Double) {
    guard !values.isEmpty else { return (.nan, .nan, .nan) }
    let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
    let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
    let sorted = values.sorted()
    let p99 = Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))])
    return (mean / 1000, variance.squareRoot() / 1000, p99 / 1000)
}

func measure(_ server: ServerUnderTest) -> [Step] {
    var steps: [Step] = []
    var failures = 0
    for rate in rates {
        let step = offer(rate: rate, seconds: stepSeconds, to: server)
        steps.append(step)
        let error = summary(step.transmitErrors)
        print(String(format: "  %-9@ offered %7d/s  sent %8d  answered %8d  loss %6.2f%%  server CPU %6.2f us/response  T3 error mean %7.2f sd %7.2f p99 %8.2f us",
                     server.name, rate, step.sent, step.received, step.loss * 100, step.microsecondsPerResponse,
                     error.mean, error.sd, error.p99))
        if step.loss > 0.05 { failures += 1 }
        if failures >= 2 { break }
        usleep(300_000)
    }
    return steps
}

func lossless(_ steps: [Step]) -> Step? {
    steps.filter { $0.loss <= 0.01 && Double($0.sent) >= 0.97 * Double($0.offered) * stepSeconds }.max { $0.offered < $1.offered }
}

guard let chronyd = which("chronyd"), let setpriv = which("setpriv"), let taskset = which("taskset") else {
    print("needs chronyd (chrony), setpriv and taskset (util-linux)")
    exit(1)
}
// FLEETNODE=path measures another build (a before/after comparison in one run of this generator).
let fleetnodePath = ProcessInfo.processInfo.environment["FLEETNODE"] ?? binDirectory.appendingPathComponent("fleetnode").path
let chronyPort: UInt16 = 21123
let nodePort: UInt16 = 21124

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
// SERVER_CPUS: where the servers run (default CPU 1, the generator on CPU 0).
let serverCPUs = ProcessInfo.processInfo.environment["SERVER_CPUS"] ?? "1"
let chrony = try launch(setpriv, ["--bounding-set=-sys_time", taskset, "-c", serverCPUs, chronyd, "-x", "-d", "-u", "root", "-f", chronyConf],
                        log: work.appendingPathComponent("chronyd.log").path)
defer { chrony.terminate(); chrony.waitUntilExit() }

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
    \(ProcessInfo.processInfo.environment["NTP_EXTRA"] ?? "")
    """.write(toFile: nodeConf, atomically: true, encoding: .utf8)
let node = try launch(taskset, ["-c", serverCPUs, fleetnodePath, "run", "--config", nodeConf], log: work.appendingPathComponent("fleetnode.log").path)
defer { node.terminate(); node.waitUntilExit() }

guard waitForAnswer(port: chronyPort), waitForAnswer(port: nodePort) else {
    print("a server did not answer; logs in \(work.path)")
    exit(1)
}

print("NTP server throughput on loopback: \(stepSeconds) s per step, generator on CPU 0, server on CPU 1")
let chronySteps = measure(ServerUnderTest(name: "chronyd", pid: chrony.processIdentifier, port: chronyPort))
let nodeSteps = measure(ServerUnderTest(name: "fleetnode", pid: node.processIdentifier, port: nodePort))

// The node's own view over the whole run: kernel transmit timestamp minus the T3 it wrote, and queueing delay.
let statusOutput = Pipe()
let statusProcess = Process()
statusProcess.executableURL = URL(fileURLWithPath: fleetnodePath)
statusProcess.arguments = ["status", "--socket", "\(work.path)/status.sock"]
statusProcess.standardOutput = statusOutput
if (try? statusProcess.run()) != nil {
    statusProcess.waitUntilExit()
    let text = String(decoding: statusOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    for line in text.split(separator: "\n") where line.hasPrefix("TX stamp") || line.hasPrefix("Queueing") || line.hasPrefix("NTP interleaved") {
        print("fleetnode status: \(line)")
    }
}

func cpuAt(_ steps: [Step], rate: Int) -> Double? { steps.first { $0.offered == rate && $0.loss <= 0.01 }?.microsecondsPerResponse }

print("")
let chronyBest = lossless(chronySteps)
let nodeBest = lossless(nodeSteps)
print("Highest offered rate answered with <= 1 % loss: chronyd \(chronyBest.map { "\($0.offered)/s" } ?? "none"), fleetnode \(nodeBest.map { "\($0.offered)/s" } ?? "none")")
if let chronyBest, let nodeBest {
    let capped = nodeBest.offered == rates.last! || chronyBest.offered == rates.last!
    print(String(format: "ratio fleetnode/chronyd, lossless rate: %.2f%@", Double(nodeBest.offered) / Double(chronyBest.offered),
                 capped ? " (at least one server reached the top of the ladder: the generator may be the limit)" : ""))
}
// CPU per response at the highest rate both answered without loss.
if let common = rates.filter({ cpuAt(chronySteps, rate: $0) != nil && cpuAt(nodeSteps, rate: $0) != nil }).last,
   let ours = cpuAt(nodeSteps, rate: common), let theirs = cpuAt(chronySteps, rate: common) {
    print(String(format: "server CPU per response at %d/s: chronyd %.2f us, fleetnode %.2f us; ratio chronyd/fleetnode (higher is better for us): %.2f",
                 common, theirs, ours, theirs / ours))
}
