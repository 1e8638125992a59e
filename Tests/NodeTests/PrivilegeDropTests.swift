import Foundation
import Node
import NodeModels
import XCTest

/// The privilege drop (`[node] user`, `fleetnode run --user`), through the real executable started as root
/// (as every test here runs): what the kernel says about every thread of the running node (/proc/PID/task/N/status),
/// and that the node still serves NTP, NTS-KE and metrics on privileged ports and still writes its state.
/// The user is `nobody`: it exists on every Debian machine and owns nothing.
final class PrivilegeDropTests: XCTestCase {
    var directory: URL!
    let nobody: UInt32 = 65_534

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw XCTSkip("the privilege drop is tested as root") }
        directory = try NodeProcess.makeDirectory()
    }

    override func tearDownWithError() throws {
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }

    /// Every thread of process `pid`: the drop is per thread in the kernel, so one thread left behind would
    /// keep root's powers.
    func threadCredentials(_ pid: Int32) throws -> [ProcessCredentials] {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        XCTAssertGreaterThan(tasks.count, 2, "a node has several threads (Swift runtime, NIO, receive loops)")
        return try tasks.compactMap { task in
            let text = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            return ProcessCredentials.parse(text)
        }
    }

    func owner(_ path: String) throws -> UInt32 {
        try XCTUnwrap((try FileManager.default.attributesOfItem(atPath: path)[.ownerAccountID] as? NSNumber)?.uint32Value)
    }

    /// A loopback address of this test's own, so port 123 is free on it whatever else runs on the machine.
    func privateLoopbackAddress() -> String {
        "127.\(Int.random(in: 64...126)).\(Int.random(in: 0...255)).\(Int.random(in: 2...254))"
    }

    /// Software clock (the default) with `[node] user = "nobody"`: NTP on port 123, NTS-KE on 446 and metrics
    /// on 923 are bound as root, then every thread runs as nobody with no capability at all (effective,
    /// permitted, inheritable, ambient and bounding sets empty, no_new_privs), and the node still answers a
    /// chrony NTS client and a Prometheus scrape, follows chronyd, writes its state database, and writes its
    /// drift file and removes its status socket at shutdown as nobody.
    func testSoftwareClockNodeDropsEverythingAndKeepsServing() async throws {
        let chronyd = try ExternalTool.require("chronyd", package: "chrony")
        let setpriv = try ExternalTool.require("setpriv", package: "util-linux")
        let openssl = try ExternalTool.require("openssl", package: "openssl")
        let address = privateLoopbackAddress()
        // A certificate for the node's own address (chrony checks it against the server it was given).
        let certificate = directory.appendingPathComponent("cert.pem").path
        let privateKey = directory.appendingPathComponent("key.pem").path
        let made = try ExternalTool.run(openssl, [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30",
            "-keyout", privateKey, "-out", certificate, "-subj", "/CN=\(address)", "-addext", "subjectAltName=IP:\(address)",
        ])
        XCTAssertEqual(made.status, 0, made.stderr)
        let upstreamPort = freeLoopbackPort()
        let upstream = try ChronyProcess.server(in: directory, port: upstreamPort)
        defer { upstream.stop() }
        // The state directory does not exist yet: the node creates it for nobody.
        let state = directory.appendingPathComponent("state").path
        let node = try await NodeProcess(config: """
            [ntp]
            listen = ["\(address):123"]
            threads = 2
            [nts]
            listen = ["\(address):446"]
            certificate = "\(certificate)"
            private_key = "\(privateKey)"
            key_file = "\(state)/cookie-keys"
            [metrics]
            listen = "\(address):923"
            [state]
            database = "\(state)/state.sqlite"
            flush_interval = 0.2
            [clock]
            drift_file = "\(state)/drift"
            [[server]]
            address = "127.0.0.1:\(upstreamPort)"
            minpoll = -1
            maxpoll = -1
            """, nodeSettings: #"user = "nobody""#)
        let pid = node.process.processIdentifier

        for thread in try threadCredentials(pid) {
            XCTAssertEqual(thread.uids, [nobody, nobody, nobody, nobody], "\(thread)")
            XCTAssertEqual(thread.gids, [nobody, nobody, nobody, nobody], "\(thread)")
            XCTAssertEqual(thread.effective, 0, "\(thread)")
            XCTAssertEqual(thread.permitted, 0, "\(thread)")
            XCTAssertEqual(thread.inheritable, 0, "\(thread)")
            XCTAssertEqual(thread.ambient, 0, "\(thread)")
            XCTAssertEqual(thread.bounding, 0, "\(thread)")
            XCTAssertTrue(thread.noNewPrivileges, "\(thread)")
        }
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        XCTAssertTrue(status.contains("Groups:\t65534 \n") || status.contains("Groups:\t65534\n"), "supplementary groups are nobody's own")
        XCTAssertTrue(node.log.contains("root privileges dropped"), node.log)

        // Bound before the drop, serving after it.
        try await waitFor(node, seconds: 30) {
            ($0.timekeeping?.tracking.updates ?? 0) >= 4 && ($0.stateStore?.measurementsWritten ?? 0) > 0
                && $0.stateStore?.lastWrite != nil
        }
        let chrony = try ExternalTool.run(setpriv, [
            "--bounding-set=-sys_time", chronyd, "-Q", "-t", "10", "-u", "root", "-f", "/dev/null",
            "server \(address) nts ntsport 446 iburst minpoll -6 maxpoll -6 maxsamples 2",
            "ntstrustedcerts \(certificate)", "pidfile \(directory.path)/chronyd-client.pid",
        ], timeout: 30)
        XCTAssertEqual(chrony.status, 0, "\(chrony.stderr)\n\(node.log)")
        let served = try await node.status()
        XCTAssertEqual(served.nts?.ntske.keysEstablished, 1)
        XCTAssertGreaterThan(served.ntp.ntsAuthenticated, 0)
        XCTAssertEqual(served.stateStore?.writeFailures, 0)
        let metrics = try PrometheusScrape.scrape("http://\(address):923/metrics")
        XCTAssertFalse(metrics.isEmpty)

        // Its state belongs to nobody: the directory it made, the database, the cookie keys made as root.
        for path in [state, "\(state)/state.sqlite", "\(state)/cookie-keys"] {
            XCTAssertEqual(try owner(path), nobody, path)
        }
        // Written and removed as nobody at shutdown.
        XCTAssertEqual(node.stop(), 0, node.log)
        XCTAssertEqual(try owner("\(state)/drift"), nobody)
        XCTAssertFalse(FileManager.default.fileExists(atPath: node.statusSocket), "the node removed its socket as nobody")
        XCTAssertFalse(node.log.contains("cannot write"), node.log)
    }

    /// `[clock] driver = "system"` with `--user nobody`: every thread keeps CAP_SYS_TIME, and only it, in its
    /// effective, permitted and bounding sets. The node has no time source, so it never steers the kernel
    /// clock (the driver steers only after a discipline update from a sample; see TimeService.update):
    /// this test reads capabilities and never lets the clock be touched.
    func testSystemClockNodeKeepsOnlyCapSysTime() async throws {
        let node = try await NodeProcess(config: """
            [clock]
            driver = "system"
            [ntp]
            listen = ["127.0.0.1:0"]
            """, arguments: ["--user", "nobody"])
        for thread in try threadCredentials(node.process.processIdentifier) {
            XCTAssertEqual(thread.uids, [nobody, nobody, nobody, nobody], "\(thread)")
            XCTAssertEqual(thread.effective, 1 << 25, "\(thread)")
            XCTAssertEqual(thread.permitted, 1 << 25, "\(thread)")
            XCTAssertEqual(thread.bounding, 1 << 25, "\(thread)")
            XCTAssertEqual(thread.inheritable, 0, "\(thread)")
            XCTAssertEqual(thread.ambient, 0, "\(thread)")
            XCTAssertEqual(ProcessCredentials.describe(thread.effective), "cap_sys_time")
        }
        XCTAssertEqual(node.stop(), 0, node.log)
        XCTAssertFalse(node.log.contains("kernel clock stepped"), node.log)
    }

    /// A user that does not exist stops the node at start with what to do, and check-config says so too.
    func testUnknownUserIsRefused() throws {
        let config = directory.appendingPathComponent("node.toml")
        try """
            [node]
            status_socket = "\(directory.path)/status.sock"
            user = "fleetnode-no-such-user"
            [ntp]
            listen = ["127.0.0.1:0"]
            """.write(to: config, atomically: true, encoding: .utf8)
        let fleetnode = NodeProcess.binDirectory.appendingPathComponent("fleetnode").path
        let run = try ExternalTool.run(fleetnode, ["run", "--config", config.path], timeout: 20)
        XCTAssertFalse(run.timedOut)
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("[node] user \"fleetnode-no-such-user\": no such user on this machine"), run.stderr)
        let check = try ExternalTool.run(fleetnode, ["check-config", config.path], timeout: 20)
        XCTAssertEqual(check.status, 1)
        XCTAssertTrue(check.stderr.contains("node.user: \"fleetnode-no-such-user\": no such user"), check.stderr)
    }

    /// As the systemd unit starts it: not root, with CAP_NET_BIND_SERVICE as an ambient capability and
    /// nothing else (User=, AmbientCapabilities=, CapabilityBoundingSet=). `[node] user` is then a no-op (no
    /// setuid, which the unit's seccomp filter would refuse); port 123 binds and the node logs what it runs with.
    func testNotRootAsUnderSystemdChangesNothing() throws {
        let setpriv = try ExternalTool.require("setpriv", package: "util-linux")
        let address = privateLoopbackAddress()
        let own = directory.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: own, withIntermediateDirectories: true)
        XCTAssertEqual(chown(own.path, nobody, nobody), 0)
        let config = own.appendingPathComponent("node.toml")
        try """
            [node]
            status_socket = "\(own.path)/status.sock"
            user = "nobody"
            [local]
            stratum = 1
            [ntp]
            listen = ["\(address):123"]
            """.write(to: config, atomically: true, encoding: .utf8)
        let fleetnode = NodeProcess.binDirectory.appendingPathComponent("fleetnode").path
        // Runs until the deadline kills it (by PID): 4 s are enough to start and log.
        let run = try ExternalTool.run(setpriv, [
            "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all,+net_bind_service",
            "--ambient-caps=-all,+net_bind_service", "--bounding-set=-all,+net_bind_service",
            fleetnode, "run", "--config", config.path,
        ], timeout: 4)
        let output = run.stdout + run.stderr
        XCTAssertTrue(run.timedOut, "the node kept running: \(output)")
        XCTAssertTrue(output.contains("not started as root: no privilege drop to user \"nobody\" needed"), output)
        XCTAssertTrue(output.contains("uid 65534 gid 65534, capabilities effective cap_net_bind_service"), output)
        XCTAssertTrue(output.contains("serving NTP") && output.contains("\(address):123"), output)
    }
}
