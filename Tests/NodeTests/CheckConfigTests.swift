import ConfigFile
import Foundation
import NTPCore
import Node
import XCTest

/// `fleetnode check-config` and the configuration loader: every mistake named with file, line and key.
final class CheckConfigTests: XCTestCase {
    func parse(_ text: String) throws(ConfigError) -> NodeConfig {
        try ConfigLoader.parse(text: text, file: "test.toml")
    }

    func assertError(_ text: String, line: Int?, key: String?, contains fragment: String, file: StaticString = #filePath, lineNumber: UInt = #line) {
        do {
            _ = try parse(text)
            XCTFail("accepted: \(text)", file: file, line: lineNumber)
        } catch {
            XCTAssertEqual(error.line, line, "\(error)", file: file, line: lineNumber)
            XCTAssertEqual(error.key, key, "\(error)", file: file, line: lineNumber)
            XCTAssertTrue(error.description.contains(fragment), "\(error)", file: file, line: lineNumber)
        }
    }

    func testDefaultsAndExampleFile() throws {
        let config = try parse("")
        XCTAssertEqual(config.ntp.listen.map(\.description), ["0.0.0.0:123", "[::]:123"])
        XCTAssertNil(config.localStratum)
        XCTAssertNil(config.policy.rateLimit)
        XCTAssertTrue(config.policy.access.permits(IPAddress("192.0.2.1")!))

        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("deploy/examples/fleetnode.toml")
        let loaded = try ConfigLoader.load(file: example.path)
        XCTAssertEqual(loaded.name, "time01")
        XCTAssertEqual(loaded.user, "fleetnode", "started as root, the example node drops to fleetnode")
        XCTAssertNil(config.user, "no privilege drop unless a user is named")
        XCTAssertEqual(loaded.policy.rateLimit, try RateLimitPolicy(interval: 3, burst: 8, leak: 2, kod: 0))
    }

    func testFullConfig() throws {
        let config = try parse("""
            [node]
            name = "t1"
            log_level = "debug"
            status_socket = "/tmp/x.sock"
            [clock]
            driver = "software"
            [local]
            stratum = 7
            [ntp]
            listen = ["127.0.0.1:11123", "[::1]:11123", "10.0.0.1"]
            threads = 3
            batch = 64
            [access]
            allow = ["10.0.0.0/8", "::1"]
            deny = ["10.1.0.0/16"]
            [ratelimit]
            interval = 2
            burst = 16
            leak = 3
            kod = 2
            clients = 1024
            """)
        XCTAssertEqual(config.localStratum, 7)
        XCTAssertEqual(config.ntp.listen.map(\.description), ["127.0.0.1:11123", "[::1]:11123", "10.0.0.1:123"])
        XCTAssertEqual(config.ntp.threads, 3)
        XCTAssertEqual(config.ntp.batch, 64)
        XCTAssertEqual(config.rateLimitClients, 1024)
        XCTAssertEqual(config.policy.rateLimit, try RateLimitPolicy(interval: 2, burst: 16, leak: 3, kod: 2))
        XCTAssertTrue(config.policy.access.permits(IPAddress("10.2.0.1")!))
        XCTAssertFalse(config.policy.access.permits(IPAddress("10.1.0.1")!))
        XCTAssertFalse(config.policy.access.permits(IPAddress("192.0.2.1")!))
        XCTAssertEqual(try parse("[ratelimit]\nenabled = false\n").policy.rateLimit, nil)
        XCTAssertEqual(try parse("").ntp.socketBuffer, 4 << 20)
        XCTAssertEqual(try parse("[ntp]\nsocket_buffer = 0\n").ntp.socketBuffer, 0)
        XCTAssertTrue(try parse("").policy.interleaved, "interleaved mode on by default, as chrony")
        XCTAssertFalse(try parse("[ntp]\ninterleaved = false\n").policy.interleaved)
        XCTAssertTrue(try parse("").ntp.predictTransmit)
        XCTAssertFalse(try parse("[ntp]\npredict_transmit = false\n").ntp.predictTransmit)
        XCTAssertEqual(try parse("").ntp.send, .each)
        XCTAssertEqual(try parse("[ntp]\nsend = \"batch\"\n").ntp.send, .batch)
        assertError("[ntp]\nsend = \"all\"\n", line: 2, key: "ntp.send", contains: "must be \"each\"")
        XCTAssertEqual(try parse("").policy.maximumQueueDelay, NTPDuration(seconds: 0.002), "load shedding on by default (2 ms)")
        XCTAssertEqual(try parse("[ntp]\nmax_queue_delay = 5\n").policy.maximumQueueDelay, NTPDuration(seconds: 0.005))
        XCTAssertNil(try parse("[ntp]\nmax_queue_delay = 0\n").policy.maximumQueueDelay)
        let nts = "[nts]\ncertificate = \"/c.pem\"\nprivate_key = \"/k.pem\"\n"
        XCTAssertEqual(try parse(nts).nts?.keyCache, 1024, "NTS clients' key ciphers cached by default")
        XCTAssertEqual(try parse(nts + "key_cache = 0\n").nts?.keyCache, 0)
        assertError(nts + "key_cache = -1\n", line: 4, key: "nts.key_cache", contains: "between 0 and 65536")
    }

    func testErrorsNameFileLineAndKey() {
        assertError("[ntp]\nlisen = [\"127.0.0.1\"]\n", line: 2, key: "ntp.lisen", contains: "unknown key in [ntp] (known: batch, interleaved, listen, max_queue_delay, predict_transmit, send, socket_buffer, threads)")
        assertError("[nttp]\n", line: 1, key: "nttp", contains: "unknown key at the top level")
        assertError("[ntp]\nsocket_buffer = -1\n", line: 2, key: "ntp.socket_buffer", contains: "must be between 0 and 268435456, got -1")
        assertError("\n\n[ntp]\nthreads = \"two\"\n", line: 4, key: "ntp.threads", contains: "expected type integer, found string")
        assertError("[ntp]\nthreads = 500\n", line: 2, key: "ntp.threads", contains: "between 0 and 64, got 500")
        assertError("[ntp]\nlisten = [\"127.0.0.1:99999\"]\n", line: 2, key: "ntp.listen", contains: "item 1")
        assertError("[ntp]\nlisten = [\n  \"127.0.0.1\",\n  \"time.example:123\",\n]\n", line: 2, key: "ntp.listen", contains: "not a numeric IPv4 or IPv6 address")
        assertError("[ntp]\nlisten = []\n", line: 2, key: "ntp.listen", contains: "at least one address")
        assertError("[access]\nallow = [\"10.1.2.3/8\"]\n", line: 2, key: "access.allow", contains: "host bits")
        assertError("[access]\ndeny = [\"300.1.1.1\"]\n", line: 2, key: "access.deny", contains: "item 1")
        assertError("[ratelimit]\nleak = 9\n", line: 2, key: "ratelimit.leak", contains: "between 1 and 4")
        assertError("[local]\n", line: 1, key: "local.stratum", contains: "required")
        assertError("[local]\nstratum = 16\n", line: 2, key: "local.stratum", contains: "between 1 and 15")
        assertError("[node]\nlog_level = \"loud\"\n", line: 2, key: "node.log_level", contains: "not one of")
        assertError("[clock]\ndriver = \"kernel\"\n", line: 2, key: "clock.driver", contains: "not one of software, system")
        assertError("[ntp\nlisten = 1", line: 1, key: nil, contains: "TOML syntax")
        assertError("# a comment = 1\n[ntp] # x = 2\nbatch = 0 # y\n", line: 3, key: "ntp.batch", contains: "between 1 and 1024")
    }

    /// Time sources: `[clock]`, `[[refclock]]` and `[[server]]`, with errors located in arrays of tables.
    func testTimeSources() throws {
        let config = try parse("""
            [clock]
            drift_file = "/var/lib/fleetnode/drift"
            leap_file = "/usr/share/zoneinfo/leap-seconds.list"
            leap_mode = "smear"
            holdover_rate_ppm = 0.05
            min_sources = 2
            max_first_step = 86400
            [[refclock]]
            driver = "gpsd"
            noselect = true
            offset = 0.12
            [[refclock]]
            name = "PPS"
            driver = "pps"
            device = "/dev/pps1"
            lock = "GPS"
            prefer = true
            offset = 1.2e-6
            [[server]]
            address = "192.0.2.10"
            [[server]]
            address = "time.example.net:4123"
            nts = true
            maxpoll = 8
            xleave = true
            """)
        XCTAssertEqual(config.clock.leapMode, .smear)
        XCTAssertEqual(config.clock.minSources, 2)
        XCTAssertEqual(config.clock.maxFirstStep, 86_400)
        XCTAssertEqual(try parse("").clock.maxFirstStep, 1_000, "ntpd's panic threshold by default")
        XCTAssertEqual(config.refclocks.map(\.name), ["GPS", "PPS"])
        XCTAssertTrue(config.refclocks[0].options.noselect)
        XCTAssertEqual(config.refclocks[1].lock, "GPS")
        XCTAssertEqual(config.refclocks[1].options.offset, 1.2e-6)
        XCTAssertEqual(config.servers.map(\.host), ["192.0.2.10", "time.example.net"])
        XCTAssertEqual(config.servers[1].port, 4123)
        XCTAssertTrue(config.servers[1].nts)
        XCTAssertEqual(config.servers.map(\.xleave), [false, true], "interleaved only when asked, as chrony's xleave")

        assertError("[[refclock]]\nname = \"A\"\n", line: 1, key: "refclock[1].driver", contains: "is required")
        assertError("[[refclock]]\ndriver = \"gpsd\"\n[[refclock]]\ndriver = \"sonar\"\n", line: 4, key: "refclock[2].driver", contains: "not one of gpsd, shm, pps")
        assertError("[[refclock]]\ndriver = \"pps\"\nlock = \"GPS\"\n", line: 3, key: "refclock[1].lock", contains: "not the name of a gpsd or shm refclock")
        assertError("[[refclock]]\ndriver = \"shm\"\nunit = 256\n", line: 3, key: "refclock[1].unit", contains: "between 0 and 255")
        assertError("[[refclock]]\ndriver = \"gpsd\"\n[[refclock]]\nname = \"GPS\"\ndriver = \"shm\"\n", line: 4, key: "refclock[2].name", contains: "used twice")
        assertError("[[server]]\nadress = \"x\"\n", line: 2, key: "server[1].adress", contains: "unknown key")
        assertError("[[server]]\naddress = \"a\"\nxleave = \"yes\"\n", line: 3, key: "server[1].xleave", contains: "expected type")
        assertError("[[server]]\naddress = \"a\"\nminpoll = 9\nmaxpoll = 4\n", line: 4, key: "server[1].maxpoll", contains: "must not be below minpoll")
        assertError("[clock]\nleap_mode = \"jump\"\n", line: 2, key: "clock.leap_mode", contains: "not one of step, smear")
        assertError("[clock]\n\nmax_first_step = -5\n", line: 3, key: "clock.max_first_step", contains: "must be between 0.0 and 4000000000.0, got -5.0")
        assertError("[clock]\nmax_first_step = \"a day\"\n", line: 2, key: "clock.max_first_step", contains: "expected a number, found string")
    }

    func testCheckConfigCommand() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("check-config-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("good.toml")
        let bad = directory.appendingPathComponent("bad.toml")
        try "[ntp]\nlisten = [\"127.0.0.1:11123\"]\n".write(to: good, atomically: true, encoding: .utf8)
        try "[ntp]\nlisten = [\"127.0.0.1:11123\"]\n\n[ratelimit]\nburts = 3\n".write(to: bad, atomically: true, encoding: .utf8)
        let fleetnode = NodeProcess.binDirectory.appendingPathComponent("fleetnode").path

        let ok = try ExternalTool.run(fleetnode, ["check-config", good.path])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("OK"))

        let failed = try ExternalTool.run(fleetnode, ["check-config", bad.path])
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stderr.contains("\(bad.path):5: ratelimit.burts: unknown key in [ratelimit]"), failed.stderr)

        let missing = try ExternalTool.run(fleetnode, ["check-config", directory.appendingPathComponent("nope.toml").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("cannot read the file"), missing.stderr)

        // A node refuses to start on a bad file, and on an address it cannot bind, with the reason.
        let refused = try ExternalTool.run(fleetnode, ["run", "--config", bad.path], timeout: 10)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("ratelimit.burts"), refused.stderr)
        let unbindable = directory.appendingPathComponent("unbindable.toml")
        try "[ntp]\nlisten = [\"192.0.2.1:11123\"]\n".write(to: unbindable, atomically: true, encoding: .utf8)
        let bindFailure = try ExternalTool.run(fleetnode, ["run", "--config", unbindable.path], timeout: 10)
        XCTAssertEqual(bindFailure.status, 1)
        XCTAssertTrue(bindFailure.stderr.contains("cannot listen on 192.0.2.1:11123"), bindFailure.stderr)
    }

    func testVersionReportsLinkedLibraries() throws {
        let fleetnode = NodeProcess.binDirectory.appendingPathComponent("fleetnode").path
        let result = try ExternalTool.run(fleetnode, ["version"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("OpenSSL 3."), result.stdout)
        XCTAssertTrue(result.stdout.contains("AES:     Nettle 3."), result.stdout)
        XCTAssertTrue(result.stdout.contains("libgps API"), result.stdout)
        XCTAssertTrue(result.stdout.contains("SQLite:  3."), result.stdout)
    }
}
