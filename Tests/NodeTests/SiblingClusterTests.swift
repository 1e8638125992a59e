import Admin
import NetworkEdges
import NodeModels
import FleetCrypto
import NTSKE
import Foundation
import GPSTestSupport
import NTPCore
import TimeCore
import XCTest

/// Three real `fleetnode`s on three loopback addresses (127.0.0.11-13, one port), each with its own "GPS" (an
/// NTP shared-memory segment written by the test, as gpsd writes it, with microsecond precision), peering
/// with each other over MAC-authenticated NTP.
final class SiblingClusterTests: XCTestCase {
    static let addresses = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
    /// SHM units of the three nodes' GPS (0 and 1 are gpsd's root-only units).
    static let units = [5, 6, 7]

    /// The cluster agrees; a node that loses its GPS follows a sibling at stratum 2 (and the sibling it
    /// follows does not follow it back), then returns to stratum 1; a node whose GPS is 5 ms off is outvoted
    /// by its siblings and stops serving it.
    func testClusterSurvivesLostGPSAndCatchesALyingOne() async throws {
        let cluster = try await SiblingCluster.start(testCase: self)
        defer { cluster.stop() }
        let (a, b, c) = (cluster.nodes[0], cluster.nodes[1], cluster.nodes[2])

        // All agree: stratum 1 on their own GPS, both siblings reachable, within a millisecond.
        for (index, node) in cluster.nodes.enumerated() {
            try await waitFor(node, seconds: 30) { status in
                guard status.serving.stratum == 1, status.serving.referenceID == "GPS",
                      let sources = status.timekeeping?.sources else { return false }
                let siblings = sources.filter { $0.kind == .sibling }
                return siblings.count == 2 && siblings.allSatisfy { $0.reach != 0 && abs($0.offset ?? 1) < 0.001 && $0.state == .notCombined }
            }
            let status = try await node.status()
            XCTAssertEqual(status.siblings.count, 2, "node \(index)")
            for sibling in status.siblings {
                XCTAssertGreaterThan(sibling.replies, 0, "node \(index) → \(sibling.name)")
                XCTAssertEqual(sibling.rejected, 0)
                XCTAssertEqual(sibling.lastReplyKey, 1)
            }
            let gps = try XCTUnwrap(status.timekeeping?.sources.first { $0.id.name == "GPS" })
            XCTAssertEqual(gps.state, .selected, "the node's own GPS, not an average with its siblings")
        }

        // C loses its GPS: it follows a sibling at stratum 2, and that sibling sees the loop.
        cluster.feeders[2].setRunning(false)
        try await waitFor(c, seconds: 30) { $0.serving.stratum == 2 && ["127.0.0.11", "127.0.0.12"].contains($0.serving.referenceID) }
        let followed = try await c.status().serving.referenceID
        let leader = followed == "127.0.0.11" ? a : b
        try await waitFor(leader, seconds: 20) { status in
            status.serving.stratum == 1
                && status.timekeeping?.sources.first { $0.id.name.hasPrefix("127.0.0.13") }?.note?.contains("follows this node") == true
        }
        // C's answers stay authenticated and its time within a millisecond of the others.
        let cOffsets = try await c.status().timekeeping?.sources.filter { $0.kind == .sibling && $0.state != .unusable }.compactMap(\.offset) ?? []
        XCTAssertFalse(cOffsets.isEmpty)
        XCTAssertTrue(cOffsets.allSatisfy { abs($0) < 0.001 }, "\(cOffsets)")

        // GPS back: stratum 1 again.
        cluster.feeders[2].setRunning(true)
        try await waitFor(c, seconds: 30) { $0.serving.stratum == 1 && $0.serving.referenceID == "GPS" }

        // B's GPS now lies by 5 ms: its siblings outvote it, and B says why.
        cluster.feeders[1].setOffset(nanoseconds: 5_000_000)
        try await waitFor(b, seconds: 40) { status in
            guard let gps = status.timekeeping?.sources.first(where: { $0.id.name == "GPS" }) else { return false }
            return gps.state == .falseticker && status.serving.stratum == 2
        }
        let bStatus = try await b.status()
        let gps = try XCTUnwrap(bStatus.timekeeping?.sources.first { $0.id.name == "GPS" })
        let note = try XCTUnwrap(gps.note)
        XCTAssertTrue(note.contains("reference clock disagrees with the majority"), note)
        XCTAssertTrue(note.contains("127.0.0.11") || note.contains("127.0.0.13"), note)
        XCTAssertTrue(b.log.contains("reference clock outvoted"), "logged")
        // What B serves follows the majority, not the lying GPS: the others see B within a millisecond.
        try await waitFor(a, seconds: 30) { status in
            guard let bSource = status.timekeeping?.sources.first(where: { $0.id.name.hasPrefix("127.0.0.12") }), let offset = bSource.offset else { return false }
            return abs(offset) < 0.001 && bSource.lastSampleAge ?? 99 < 3
        }
    }

    /// A node that starts with a GPS already 5 ms off (spoofed before it booted) never serves it: it waits
    /// for its siblings to cross-check the GPS, and they outvote it.
    func testNodeStartingWithALyingGPSNeverServesIt() async throws {
        let cluster = try await SiblingCluster.start(testCase: self, gpsOffsets: [0, 5_000_000, 0], notStarted: [1])
        defer { cluster.stop() }
        for node in cluster.nodes {
            try await waitFor(node, seconds: 30) { $0.serving.stratum == 1 }
        }
        let liar = try await cluster.startNode(1)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let status = try await liar.status()
            XCTAssertNotEqual(status.serving.stratum, 1, "the lying GPS was served")
            if status.timekeeping?.sources.first(where: { $0.id.name == "GPS" })?.state == .falseticker, status.serving.stratum == 2 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let status = try await liar.status()
        XCTAssertEqual(status.serving.stratum, 2)
        XCTAssertEqual(status.timekeeping?.sources.first { $0.id.name == "GPS" }?.state, .falseticker)
    }

    /// A sibling polling under a key the node does not accept from it gets no answer; both ends report it.
    func testWrongKeyIsRejectedAndReported() async throws {
        // Node 0 polls node 1 under key 3, which node 1 does not accept from node 0 (it accepts key 1).
        let cluster = try await SiblingCluster.start(testCase: self, count: 2, keys: { index, sibling in
            index == 0 ? (key: 3, accept: [1]) : (key: 1, accept: [1])
        }, extra: { index in index == 1 ? "[metrics]\nlisten = \"127.0.0.1:0\"\n" : "" })
        defer { cluster.stop() }
        try await waitFor(cluster.nodes[1], seconds: 15) { status in
            status.siblings.first?.rejected ?? 0 >= 2
        }
        let server = try await cluster.nodes[1].status()
        let fromZero = try XCTUnwrap(server.siblings.first)
        XCTAssertEqual(fromZero.lastRejection, "key 3 is not accepted from this sibling (accepted: 1)")
        XCTAssertGreaterThanOrEqual(server.ntp.dropped["authenticationFailed"] ?? 0, 2)
        let client = try await cluster.nodes[0].status()
        let toOne = try XCTUnwrap(client.siblings.first)
        XCTAssertEqual(toOne.replies, 0)
        XCTAssertGreaterThanOrEqual(toOne.failures, 2)
        XCTAssertNotNil(toOne.lastFailure)
        let source = try XCTUnwrap(client.timekeeping?.sources.first { $0.kind == .sibling })
        XCTAssertEqual(source.reach, 0, "never reached under the wrong key")
        // The other direction, under the right key, is answered (unsynchronised: node 0 waits up to a minute
        // for a sibling to cross-check its GPS, and its only sibling does not answer it).
        try await waitFor(cluster.nodes[0], seconds: 10) { $0.siblings.first?.answeredByKey["1"] ?? 0 > 0 }
        // And the rejections are in the metrics, read by prometheus_client.
        try await Task.sleep(for: .seconds(2.5))  // the control-plane sample runs every 2 s
        let metricsStatus = try await cluster.nodes[1].status()
        let listener = try XCTUnwrap(metricsStatus.metricsListener)
        let lines = try PrometheusScrape.scrape("http://\(listener)/metrics")
        let sibling = "127.0.0.11:\(cluster.port)"
        XCTAssertGreaterThanOrEqual(PrometheusScrape.value(lines, "fleetnode_sibling_requests_rejected_total{sibling=\(sibling)}") ?? 0, 2, lines.joined(separator: "\n"))
        XCTAssertGreaterThan(PrometheusScrape.value(lines, "fleetnode_sibling_failures_total{sibling=\(sibling)}") ?? 0, 0)
        XCTAssertEqual(PrometheusScrape.value(lines, "fleetnode_sibling_send_key{sibling=\(sibling)}"), 1)
    }

    /// Stage, switch and retire a key by configuration reload while both nodes poll each other every second:
    /// not one exchange fails, and the new key is in use at the end.
    func testSendKeySwitchLosesNoExchange() async throws {
        let cluster = try await SiblingCluster.start(testCase: self, count: 2)
        defer { cluster.stop() }
        func sent(_ node: Int) async throws -> NodeStatus.Sibling { try await cluster.firstSibling(of: node) }
        let failuresBefore = try await cluster.failuresOncePeering()

        // 1. Stage key 2 on both (accepted, not sent). 2. Switch both to key 2, one after the other, with
        // polling in between. 3. Retire key 1.
        for step in [(key: 1, accept: [1, 2]), (key: 2, accept: [1, 2]), (key: 2, accept: [2])] {
            for node in 0..<2 {
                try cluster.reconfigure(node, key: step.key, accept: step.accept)
                let reloads = try await cluster.nodes[node].status().configReloads
                cluster.nodes[node].signal(SIGHUP)
                try await waitFor(cluster.nodes[node], seconds: 10) { $0.configReloads > reloads }
                let replies = try await sent(node).replies
                try await waitFor(cluster.nodes[node], seconds: 10) { $0.siblings.first?.replies ?? 0 >= replies + 2 }
            }
        }
        for node in 0..<2 {
            let sibling = try await sent(node)
            XCTAssertEqual(sibling.failures, failuresBefore[node], "no exchange lost: \(sibling.lastFailure ?? "")")
            XCTAssertEqual(sibling.rejected, 0)
            XCTAssertEqual(sibling.sendKey, 2)
            XCTAssertEqual(sibling.acceptedKeys, [2])
            XCTAssertEqual(sibling.lastReplyKey, 2)
            XCTAssertGreaterThan(sibling.answeredByKey["1"] ?? 0, 0)
            XCTAssertGreaterThan(sibling.answeredByKey["2"] ?? 0, 0)
        }
        // Key 1 is retired: a request under it is now refused.
        let serverPort = cluster.port
        let keys = try SymmetricKeyFile.parse(String(contentsOfFile: cluster.keyFile, encoding: .utf8))
        let old = try XCTUnwrap(keys.first { $0.id == 1 })
        // From 127.0.0.12 (node 1's address), which node 0 knows as a sibling.
        let query = NTPQueryClient(server: SocketEndpoint(host: Self.addresses[0], port: serverPort), localAddress: Self.addresses[1])
        XCTAssertThrowsError(try query.query(key: old, computer: OpenSSLMACComputer()))
        try await waitFor(cluster.nodes[0], seconds: 5) { $0.siblings.first?.rejected ?? 0 >= 1 }
    }

    /// The same three steps through the admin API, with a new key that is in no key file (given with the
    /// request and kept in the state database): no exchange fails, repeating a step changes nothing, bad
    /// requests are refused, and a restarted node comes back with the new key from its database.
    func testKeyRotationThroughTheAdminAPI() async throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let access = try AdminAccess(pki: try TestPKI(directory: directory))
        let cluster = try await SiblingCluster.start(testCase: self, count: 2, extra: { index in
            """
            [state]
            database = "\(directory.path)/state-\(index).sqlite"
            \(access.table)
            """
        })
        defer { cluster.stop() }
        func sibling(_ node: Int) async throws -> NodeStatus.Sibling { try await cluster.firstSibling(of: node) }
        let failuresBefore = try await cluster.failuresOncePeering()
        var admins: [AdminClient] = []
        for node in cluster.nodes { admins.append(try AdminClient(node: try await node.adminListener(), credentials: access.credentials)) }

        let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let steps: [(String, SymmetricKeyChangeRequest)] = [
            (AdminPath.symmetricKeyStage, SymmetricKeyChangeRequest(id: 9, type: "AES256", hex: secret)),
            (AdminPath.symmetricKeyActivate, SymmetricKeyChangeRequest(id: 9)),
            (AdminPath.symmetricKeyRetire, SymmetricKeyChangeRequest(id: 1)),
        ]
        for (path, body) in steps {
            for node in 0..<2 {
                let first = try await admins[node].send("POST", path, body: body, as: SymmetricKeyChangeResult.self)
                XCTAssertTrue(first.changed, "\(path) on node \(node)")
                let again = try await admins[node].send("POST", path, body: body, as: SymmetricKeyChangeResult.self)
                XCTAssertFalse(again.changed, "repeating \(path) changes nothing")
                XCTAssertEqual(again.siblings.map(\.sendKey), first.siblings.map(\.sendKey))
                let replies = try await sibling(node).replies
                try await waitFor(cluster.nodes[node], seconds: 10) { $0.siblings.first?.replies ?? 0 >= replies + 2 }
            }
        }
        for node in 0..<2 {
            let state = try await sibling(node)
            XCTAssertEqual(state.failures, failuresBefore[node], "no exchange lost: \(state.lastFailure ?? "")")
            XCTAssertEqual(state.rejected, 0)
            XCTAssertEqual(state.sendKey, 9)
            XCTAssertEqual(state.acceptedKeys, [9])
            XCTAssertEqual(state.lastReplyKey, 9)
        }

        // Refusals: each names its reason and changes nothing.
        func refusal(_ path: String, _ body: SymmetricKeyChangeRequest) async -> Int? {
            do {
                _ = try await admins[0].send("POST", path, body: body, as: SymmetricKeyChangeResult.self)
                return nil
            } catch {
                return error.status
            }
        }
        let retireSendKey = await refusal(AdminPath.symmetricKeyRetire, SymmetricKeyChangeRequest(id: 9))
        XCTAssertEqual(retireSendKey, 409, "the send key")
        let unknownKey = await refusal(AdminPath.symmetricKeyStage, SymmetricKeyChangeRequest(id: 77))
        XCTAssertEqual(unknownKey, 404, "no material and not in the key file")
        let badHex = await refusal(AdminPath.symmetricKeyStage, SymmetricKeyChangeRequest(id: 78, type: "AES128", hex: "xyz"))
        XCTAssertEqual(badHex, 400)
        let shortAES = await refusal(AdminPath.symmetricKeyStage, SymmetricKeyChangeRequest(id: 78, type: "AES128", hex: "00ff"))
        XCTAssertEqual(shortAES, 400, "an AES128 key is 16 bytes")
        let clash = await refusal(AdminPath.symmetricKeyStage, SymmetricKeyChangeRequest(id: 9, type: "AES256", hex: String(repeating: "00", count: 32)))
        XCTAssertEqual(clash, 409, "key ids are never reused for another secret")
        let unknownSibling = await refusal(AdminPath.symmetricKeyStage, SymmetricKeyChangeRequest(id: 2, siblings: ["192.0.2.99"]))
        XCTAssertEqual(unknownSibling, 404)
        let stillNine = try await sibling(0)
        XCTAssertEqual(stillNine.acceptedKeys, [9])
        // GET /v1/keys: the sibling's set with its stored history, never the material.
        let keyView = try await admins[0].get(AdminPath.keys, as: AdminKeys.self)
        let set = try XCTUnwrap(keyView.siblings?.first)
        XCTAssertEqual(set.sendKey, 9)
        XCTAssertEqual(set.acceptedKeys, [9])
        XCTAssertEqual(set.stored.map { "\($0.id) \($0.type) \($0.state)" }.sorted(), ["1 AES128 retired", "9 AES256 active"])
        let raw = try await admins[0].request("GET", AdminPath.keys)
        XCTAssertFalse(String(decoding: raw.body, as: UTF8.self).lowercased().contains(secret), "no key material")

        // Node 0 restarts with its configuration still saying key 1: the database decides.
        cluster.nodes[0].stop()
        let restarted = try await cluster.startNode(0)
        try await waitFor(restarted, seconds: 20) { status in
            status.siblings.first?.lastReplyKey == 9 && status.siblings.first?.replies ?? 0 >= 2
        }
        XCTAssertTrue(restarted.log.contains("sibling keys restored from the state database"))
        let after = try await sibling(0)
        XCTAssertEqual(after.sendKey, 9)
        XCTAssertEqual(after.acceptedKeys, [9])
        try await waitFor(cluster.nodes[1], seconds: 10) { $0.siblings.first?.rejected == 0 && ($0.siblings.first?.answeredByKey["9"] ?? 0) > 0 }
    }

    /// An unsynchronised node points new NTS-KE clients at its synchronised sibling; the sibling opens the
    /// cookies (shared cookie keys) and answers with NTS-authenticated stratum-1 time.
    func testNTSSteeringToAHealthySibling() async throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = try TestCertificate.make(in: directory)
        let cookieKeys = directory.appendingPathComponent("cookie-keys").path
        // Node 0: no GPS, and min_sources = 2 with a single sibling: never synchronised, so it steers.
        // Node 1: a GPS; it serves NTS with the same cookie key file.
        let cluster = try await SiblingCluster.start(testCase: self, count: 2, extra: { index in
            return (index == 0 ? "[clock]\nmin_sources = 2\n" : "") + """
                [nts]
                listen = ["127.0.0.1:0"]
                certificate = "\(certificate.certificate)"
                private_key = "\(certificate.privateKey)"
                key_file = "\(cookieKeys)"
                """
        }, gps: [false, true])
        defer { cluster.stop() }
        let steering = cluster.nodes[0]
        try await waitFor(steering, seconds: 30) { $0.ntsSteeredTo == "\(Self.addresses[1]):\(cluster.port)" }
        let steeringStatus = try await steering.status()
        XCTAssertFalse(steeringStatus.serving.synchronized)
        XCTAssertTrue(steering.log.contains("pointing new NTS clients at a sibling"))

        let trust = try TLSContext.client(trustedCertificates: certificate.certificate, alpn: "ntske/1")
        let client = NTSTimeClient(configuration: .init(
            host: "127.0.0.1", kePort: try await steering.ntsKEPort(), serverName: "localhost", trust: trust,
            ciphers: NettleCipherFactory()))
        let result = try await client.query()
        XCTAssertEqual(result.server, SocketEndpoint(host: Self.addresses[1], port: cluster.port))
        XCTAssertEqual(result.measurement.stratum, 1)
        let healthy = try await cluster.nodes[1].status()
        XCTAssertGreaterThanOrEqual(healthy.ntp.ntsAuthenticated, 1)
        XCTAssertNil(healthy.ntsSteeredTo, "a synchronised node serves its own clients")
    }
}

/// Nodes on 127.0.0.11... with one port, a shared key file, SHM "GPS" units, and every node a sibling of
/// every other one.
final class SiblingCluster {
    private var started: [Int: NodeProcess]
    /// The running nodes, by index.
    var nodes: [NodeProcess] { started.keys.sorted().compactMap { started[$0] } }
    let feeders: [SHMFeeder]
    let port: UInt16
    let keyFile: String
    let directory: URL
    private let configs: (Int, Int?, [Int]?) -> String

    typealias KeyChoice = (Int, String) -> (key: Int, accept: [Int])

    init(nodes: [Int: NodeProcess], feeders: [SHMFeeder], port: UInt16, keyFile: String, directory: URL, configs: @escaping (Int, Int?, [Int]?) -> String) {
        self.started = nodes
        self.feeders = feeders
        self.port = port
        self.keyFile = keyFile
        self.directory = directory
        self.configs = configs
    }

    static func start(
        testCase: XCTestCase, count: Int = 3, keys: @escaping KeyChoice = { _, _ in (key: 1, accept: [1]) },
        extra: @escaping (Int) -> String = { _ in "" }, gps: [Bool]? = nil, gpsOffsets: [Int64]? = nil,
        notStarted: Set<Int> = [], port chosenPort: UInt16? = nil, siblingOptions: String = ""
    ) async throws -> SiblingCluster {
        let directory = try NodeProcess.makeDirectory()
        let keyFile = directory.appendingPathComponent("ntp.keys").path
        // Test keys made here, never committed: an AES128 key and a SHA256 key, as `chronyc keygen` writes them.
        let hex = { (bytes: Int) in (0..<bytes).map { _ in String(format: "%02X", UInt8.random(in: 0...255)) }.joined() }
        try "1 AES128 HEX:\(hex(16))\n2 SHA256 HEX:\(hex(32))\n3 SHA1 HEX:\(hex(20))\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        let port = chosenPort ?? freeLoopbackPort()
        let addresses = SiblingClusterTests.addresses
        let withGPS = gps ?? Array(repeating: true, count: count)
        func config(_ index: Int, key: Int?, accept: [Int]?) -> String {
            var text = """
                [ntp]
                listen = ["\(addresses[index]):\(port)"]
                threads = 1

                [keys]
                file = "\(keyFile)"

                \(extra(index))

                """
            if withGPS[index] {
                text += """

                    [[refclock]]
                    name = "GPS"
                    driver = "shm"
                    unit = \(SiblingClusterTests.units[index])
                    poll = 2

                    """
            }
            for other in 0..<count where other != index {
                let choice = key.map { (key: $0, accept: accept ?? [$0]) } ?? keys(index, addresses[other])
                text += """

                    [[sibling]]
                    address = "\(addresses[other]):\(port)"
                    key = \(choice.key)
                    accept = [\(choice.accept.map(String.init).joined(separator: ", "))]
                    minpoll = 0
                    maxpoll = 0
                    iburst = false
                    \(siblingOptions)

                    """
            }
            return text
        }
        var feeders: [SHMFeeder] = []
        for index in 0..<count where withGPS[index] {
            feeders.append(try SHMFeeder(unit: SiblingClusterTests.units[index], offsetNanoseconds: gpsOffsets?[index] ?? 0))
        }
        var nodes: [Int: NodeProcess] = [:]
        do {
            for index in 0..<count where !notStarted.contains(index) {
                nodes[index] = try await NodeProcess(config: config(index, key: nil, accept: nil))
            }
        } catch {
            for node in nodes.values { node.stop() }
            for feeder in feeders { feeder.stop() }
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        return SiblingCluster(nodes: nodes, feeders: feeders, port: port, keyFile: keyFile, directory: directory) { index, key, accept in
            config(index, key: key, accept: accept)
        }
    }

    /// Starts node `index` (one left out by `notStarted`).
    func startNode(_ index: Int) async throws -> NodeProcess {
        let node = try await NodeProcess(config: configs(index, nil, nil))
        started[index] = node
        return node
    }

    /// Node `index`, while it runs.
    func node(_ index: Int) -> NodeProcess? { started[index] }

    /// Stops node `index` for good (SIGTERM, then SIGKILL).
    func stopNode(_ index: Int) {
        started[index]?.stop()
        started[index] = nil
    }

    /// Node `index`'s first sibling as it reports it.
    func firstSibling(of index: Int) async throws -> NodeStatus.Sibling {
        let status = try await nodes[index].status()
        return try XCTUnwrap(status.siblings.first)
    }

    /// Waits until every node serves time and has heard its first sibling a few times, then returns each
    /// node's failed exchanges so far: before both ends serve time, replies are "unsynchronised" and count
    /// as failures, so tests of key changes count from here.
    func failuresOncePeering() async throws -> [UInt64] {
        for node in nodes {
            try await waitFor(node, seconds: 20) { $0.serving.stratum == 1 && $0.siblings.first?.replies ?? 0 >= 3 }
        }
        try await Task.sleep(for: .seconds(2))
        var failures: [UInt64] = []
        for index in nodes.indices { failures.append(try await firstSibling(of: index).failures) }
        return failures
    }

    /// Rewrites node `index`'s configuration with this send key and accepted set for every sibling.
    func reconfigure(_ index: Int, key: Int, accept: [Int]) throws {
        try nodes[index].write(config: configs(index, key, accept))
    }

    func stop() {
        for node in nodes { node.stop() }
        for feeder in feeders { feeder.stop() }
        try? FileManager.default.removeItem(at: directory)
    }
}
