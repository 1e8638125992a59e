// `make bench-fleet`: how long `fleetctl health` takes to sweep 50 healthy nodes, and what the sweeping process
// costs. Starts 50 real fleetnode processes on 127.0.0.21-70 (ten sites of five siblings each, every node with
// an SHM "GPS" written here as gpsd writes it, NTS with shared cookie keys per site, the admin API with mutual
// TLS), then runs the real fleetctl executable several times and reports wall time, CPU and peak memory.
// There is no peer to compare with (no other tool sweeps a fleet of NTS servers from inside and outside);
// the issue's target is under 2 s on this 2-core machine. Everything lives in one temporary folder, removed
// at the end with every process it started (by PID).
import Foundation
import GPSTestSupport

let nodeCount = Int(ProcessInfo.processInfo.environment["FLEET_NODES"] ?? "") ?? 50
let siteSize = 5
let sweeps = Int(ProcessInfo.processInfo.environment["FLEET_SWEEPS"] ?? "") ?? 7
let firstUnit = 100

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("fleet-sweep: \(message)\n".utf8))
    exit(1)
}

let bin = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
let fleetnode = bin.appendingPathComponent("fleetnode").path
let fleetctl = bin.appendingPathComponent("fleetctl").path
guard FileManager.default.isExecutableFile(atPath: fleetnode), FileManager.default.isExecutableFile(atPath: fleetctl) else {
    fail("build fleetnode and fleetctl first (make bench-fleet does)")
}
let directory = FileManager.default.temporaryDirectory.appendingPathComponent("timefleet-bench-\(UUID().uuidString.prefix(8))")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

@discardableResult
func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do { try process.run() } catch { fail("cannot run \(executable): \(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

// Certificates made here at run time (never committed): one CA for admin and NTS, a server certificate for
// localhost, the operator's client certificate.
let openssl = "/usr/bin/openssl"
func openSSL(_ arguments: [String]) {
    let result = run(openssl, arguments)
    if result.status != 0 { fail("openssl \(arguments.prefix(2).joined(separator: " ")): \(result.output)") }
}
openSSL(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30", "-keyout", path("ca-key.pem"),
         "-out", path("ca.pem"), "-subj", "/CN=bench CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"])
for (name, usage) in [("server", "serverAuth\nsubjectAltName = DNS:localhost"), ("operator", "clientAuth")] {
    openSSL(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path("\(name)-key.ec")])
    openSSL(["pkcs8", "-topk8", "-nocrypt", "-in", path("\(name)-key.ec"), "-out", path("\(name)-key.pem")])
    openSSL(["req", "-new", "-key", path("\(name)-key.pem"), "-out", path("\(name).csr"), "-subj", "/CN=\(name)"])
    try "basicConstraints = CA:FALSE\nextendedKeyUsage = \(usage)\n".write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
    openSSL(["x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca-key.pem"), "-CAcreateserial", "-days", "30",
             "-out", path("\(name).pem"), "-extfile", path("\(name).ext")])
}
for file in ["ca-key.pem", "server-key.pem", "operator-key.pem"] { chmod(path(file), 0o600) }
let hex = (0..<16).map { _ in String(format: "%02X", UInt8.random(in: 0...255)) }.joined()
try "1 AES128 HEX:\(hex)\n".write(toFile: path("ntp.keys"), atomically: true, encoding: .utf8)
chmod(path("ntp.keys"), 0o600)

// Ports: one free base, the same on every node's own address (NTP, NTS-KE, admin).
let base = UInt16.random(in: 20_000...50_000)
let address = { (index: Int) in "127.0.0.\(21 + index)" }
var feeders: [SHMFeeder] = []
var nodes: [Process] = []
@MainActor func cleanUp() {
    for node in nodes where node.isRunning { kill(node.processIdentifier, SIGTERM) }
    for node in nodes { node.waitUntilExit() }
    for feeder in feeders { feeder.stop() }
    try? FileManager.default.removeItem(at: directory)
}

var inventory = """
    [fleetctl]
    database = "\(path("fleet.sqlite"))"
    [credentials]
    certificate = "\(path("operator.pem"))"
    private_key = "\(path("operator-key.pem"))"
    admin_ca = "\(path("ca.pem"))"
    nts_trust_anchors = "\(path("ca.pem"))"
    [thresholds]
    sweep_deadline = 5

    """
for site in 0..<(nodeCount + siteSize - 1) / siteSize { inventory += "[[site]]\nname = \"site\(site)\"\n" }
do {
    for index in 0..<nodeCount {
        let site = index / siteSize
        let members = (site * siteSize..<min(nodeCount, (site + 1) * siteSize)).filter { $0 != index }
        feeders.append(try SHMFeeder(unit: firstUnit + index))
        var config = """
            [node]
            name = "node\(index)"
            log_level = "warning"
            status_socket = "\(path("node\(index).sock"))"
            [ntp]
            listen = ["\(address(index)):\(base)"]
            threads = 1
            socket_buffer = 0
            [keys]
            file = "\(path("ntp.keys"))"
            [[refclock]]
            name = "GPS"
            driver = "shm"
            unit = \(firstUnit + index)
            poll = 2
            [nts]
            listen = ["\(address(index)):\(base + 1)"]
            certificate = "\(path("server.pem"))"
            private_key = "\(path("server-key.pem"))"
            key_file = "\(path("cookie-keys-site\(site)"))"
            ntp_server = "\(address(index))"
            ntp_port = \(base)
            threads = 1
            [admin]
            listen = "\(address(index)):\(base + 2)"
            certificate = "\(path("server.pem"))"
            private_key = "\(path("server-key.pem"))"
            client_ca = "\(path("ca.pem"))"

            """
        for other in members {
            config += "[[sibling]]\naddress = \"\(address(other)):\(base)\"\nkey = 1\naccept = [1]\nminpoll = 1\nmaxpoll = 2\n"
        }
        try config.write(toFile: path("node\(index).toml"), atomically: true, encoding: .utf8)
        inventory += """
            [[node]]
            name = "node\(index)"
            site = "site\(site)"
            admin = "\(address(index)):\(base + 2)"
            admin_server_name = "localhost"
            ntp = "\(address(index)):\(base)"
            nts_ke = "\(address(index)):\(base + 1)"
            nts_server_name = "localhost"
            siblings = [\(members.map { "\"node\($0)\"" }.joined(separator: ", "))]

            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: fleetnode)
        process.arguments = ["run", "--config", path("node\(index).toml")]
        _ = FileManager.default.createFile(atPath: path("node\(index).log"), contents: nil)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: path("node\(index).log"))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        nodes.append(process)
    }
} catch {
    cleanUp()
    fail("cannot start the fleet: \(error)")
}
try inventory.write(toFile: path("fleet.toml"), atomically: true, encoding: .utf8)
print("fleet-sweep: \(nodeCount) fleetnode processes started on 127.0.0.21-\(20 + nodeCount) (\((nodeCount + siteSize - 1) / siteSize) sites of \(siteSize)); waiting until a sweep says OK")

// Healthy first: every node stratum 1 on its GPS, siblings answering.
let ready = Date().addingTimeInterval(120)
var last = ""
while true {
    let result = run(fleetctl, ["health", "--inventory", path("fleet.toml")])
    if result.status == 0 { break }
    last = result.output
    if Date() > ready || nodes.allSatisfy({ !$0.isRunning }) {
        let log = (try? String(contentsOfFile: path("node0.log"), encoding: .utf8)) ?? ""
        cleanUp()
        FileHandle.standardError.write(Data("node0's log:\n\(log.suffix(2000))\n".utf8))
        fail("the fleet did not become healthy within 120 s; last sweep:\n\(last)")
    }
    sleep(3)
}

struct Sample {
    var wall: Double
    var cpu: Double
    var maxRSS: Int
}
var samples: [Sample] = []
for _ in 0..<sweeps {
    var before = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &before)
    let start = Date()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: fleetctl)
    process.arguments = ["health", "--json", "--inventory", path("fleet.toml")]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let wall = Date().timeIntervalSince(start)
    var after = rusage()
    getrusage(RUSAGE_CHILDREN.rawValue, &after)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
    let cpu = seconds(after.ru_utime) + seconds(after.ru_stime) - seconds(before.ru_utime) - seconds(before.ru_stime)
    let verdict = (try? JSONSerialization.jsonObject(with: output) as? [String: Any])?["verdict"] as? String ?? "?"
    samples.append(Sample(wall: wall, cpu: cpu, maxRSS: after.ru_maxrss))
    print("fleet-sweep: sweep \(samples.count): \(String(format: "%.3f", wall)) s wall, \(String(format: "%.3f", cpu)) s CPU, verdict \(verdict)")
}
cleanUp()
let walls = samples.map(\.wall).sorted()
let cpus = samples.map(\.cpu).sorted()
let median = { (values: [Double]) in values[values.count / 2] }
print("")
print("fleet-sweep: \(nodeCount) nodes, \(sweeps) sweeps of `fleetctl health` (process start to exit, each node: one admin read over mutual TLS,")
print("             an NTP exchange, NTS-KE + an NTS exchange, cookies presented to its 4 site siblings)")
print("  wall time   median \(String(format: "%.3f", median(walls))) s, min \(String(format: "%.3f", walls.first!)) s, max \(String(format: "%.3f", walls.last!)) s   (target < 2 s)")
print("  CPU         median \(String(format: "%.3f", median(cpus))) s (user + system of the fleetctl process)")
print("  peak memory \(samples.map(\.maxRSS).max()! / 1024) MiB resident (fleetctl)")
