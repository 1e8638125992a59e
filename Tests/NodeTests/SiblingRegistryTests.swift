import ConfigFile
import NodeModels
import Foundation
import NTPCore
@testable import Node
@testable import TimeCore
import XCTest

/// The sibling key sets and their operations (stage, activate, retire), the configuration that declares
/// them, and the NTS steering rule.
final class SiblingRegistryTests: XCTestCase {
    func siblings() -> [NodeConfig.Sibling] {
        [NodeConfig.Sibling(host: "192.0.2.11", key: 1), NodeConfig.Sibling(host: "192.0.2.12", port: 1123, key: 1, accept: [1, 5])]
    }

    func testKeyOperationsAreValidatedAndIdempotent() throws {
        let registry = SiblingRegistry(siblings())
        XCTAssertEqual(registry.restrictions, [.v4(0xC000_020B): [1], .v4(0xC000_020C): [1, 5]])
        let known: Set<UInt32> = [1, 2]
        XCTAssertThrowsError(try registry.change(.stage(9), knownKeys: known)) { XCTAssertEqual($0 as? SiblingKeyError, .keyNotInKeyFile(9)) }
        XCTAssertThrowsError(try registry.change(.stage(2), siblings: ["nope"], knownKeys: known)) {
            XCTAssertEqual($0 as? SiblingKeyError, .unknownSibling("nope"))
        }
        XCTAssertTrue(try registry.change(.stage(2), knownKeys: known))
        XCTAssertFalse(try registry.change(.stage(2), knownKeys: known), "repeating changes nothing")
        XCTAssertEqual(registry.sendKey(for: "192.0.2.11"), 1)
        XCTAssertThrowsError(try registry.change(.retire(1), knownKeys: known)) {
            XCTAssertEqual($0 as? SiblingKeyError, .retiringSendKey(1, sibling: "192.0.2.11"))
        }
        XCTAssertTrue(try registry.change(.activate(2), siblings: ["192.0.2.11"], knownKeys: known))
        XCTAssertEqual(registry.sendKey(for: "192.0.2.11"), 2)
        XCTAssertEqual(registry.sendKey(for: "192.0.2.12:1123"), 1, "only the named sibling switched")
        XCTAssertThrowsError(try registry.change(.retire(1), knownKeys: known), "still sent to the other sibling")
        XCTAssertTrue(try registry.change(.retire(1), siblings: ["192.0.2.11"], knownKeys: known))
        XCTAssertEqual(registry.restrictions[.v4(0xC000_020B)], [2])
        XCTAssertFalse(try registry.change(.retire(1), siblings: ["192.0.2.11"], knownKeys: known))
    }

    func testReloadAppliesKeysAndNamesSiblingsThatNeedARestart() {
        let registry = SiblingRegistry(siblings())
        var next = siblings()
        next[0].key = 2
        next[0].accept = [1, 2]
        next.append(NodeConfig.Sibling(host: "192.0.2.13", key: 1))
        let (changed, needRestart, managed) = registry.applyKeys(from: next)
        XCTAssertEqual(managed, [])
        XCTAssertEqual(changed, ["192.0.2.11"])
        XCTAssertEqual(needRestart, ["192.0.2.13"])
        XCTAssertEqual(registry.sendKey(for: "192.0.2.11"), 2)
    }

    /// Key changes persisted in the state database survive a restart and then outrank the configuration.
    func testKeyChangesArePersistedAndRestored() throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state.sqlite").path
        let old = try SymmetricKey(id: 1, type: .aes128, secret: [UInt8](repeating: 1, count: 16))
        let new = try SymmetricKey(id: 7, type: .sha256, secret: [UInt8](repeating: 7, count: 32))
        let material = [UInt32(1): old, 7: new]
        do {
            let store = SiblingKeyStore(store: try NodeStore(path: path))
            let registry = SiblingRegistry(siblings())
            for operation in [SiblingKeyOperation.stage(7), .activate(7)] {
                try registry.change(operation, siblings: ["192.0.2.11"], knownKeys: [1, 7], persistent: true) { sibling throws(SiblingKeyError) in
                    try store.persist(operation, sibling: sibling, lookup: { material[$0] })
                }
            }
            XCTAssertEqual(registry.sendKey(for: "192.0.2.11"), 7)
            // A failing write changes nothing.
            XCTAssertThrowsError(try registry.change(.stage(9), siblings: ["192.0.2.11"], knownKeys: [1, 7, 9], persistent: true) { sibling throws(SiblingKeyError) in
                try store.persist(.stage(9), sibling: sibling, lookup: { material[$0] })
            })
            XCTAssertEqual(registry.restrictions[.v4(0xC000_020B)], [1, 7])
        }
        // "Restart": a new registry from the same configuration, then the store.
        let store = SiblingKeyStore(store: try NodeStore(path: path))
        let registry = SiblingRegistry(siblings())
        let (sets, keys) = try store.load(siblings())
        registry.restore(sets)
        XCTAssertEqual(registry.sendKey(for: "192.0.2.11"), 7)
        XCTAssertEqual(registry.restrictions[.v4(0xC000_020B)], [1, 7])
        XCTAssertEqual(registry.sendKey(for: "192.0.2.12:1123"), 1, "untouched siblings keep their configuration")
        XCTAssertEqual(Set(keys.map(\.id)), [1, 7])
        XCTAssertEqual(keys.first { $0.id == 7 }, new, "the material comes back with it")
        let (_, _, managed) = registry.applyKeys(from: siblings())
        XCTAssertEqual(managed, ["192.0.2.11"], "the configuration no longer decides this sibling's keys")
        try registry.change(.retire(1), siblings: ["192.0.2.11"], knownKeys: [1, 7], persistent: true) { sibling throws(SiblingKeyError) in
            try store.persist(.retire(1), sibling: sibling, lookup: { material[$0] })
        }
        XCTAssertEqual(try store.load(siblings()).sets["192.0.2.11"]?.accept, [7])
    }

    func testSiblingConfiguration() throws {
        let config = try ConfigLoader.parse(text: """
            [keys]
            file = "/etc/fleetnode/ntp.keys"
            [[sibling]]
            address = "192.0.2.11"
            key = 4
            accept = [3]
            minpoll = 2
            maxpoll = 5
            [[sibling]]
            address = "[2001:db8::12]:1123"
            key = 4
            """, file: "test.toml")
        XCTAssertEqual(config.siblings.count, 2)
        XCTAssertEqual(config.siblings[0].accept, [3, 4], "the send key is always accepted")
        XCTAssertEqual(config.siblings[0].minPoll, 2)
        XCTAssertEqual(config.siblings[1].name, "2001:db8::12:1123")
        XCTAssertEqual(config.siblings[1].port, 1123)

        func error(_ text: String) -> String {
            do {
                _ = try ConfigLoader.parse(text: "[keys]\nfile = \"/k\"\n" + text, file: "t.toml")
                return "accepted"
            } catch {
                return "\(error.key ?? "-"): \(error.message)"
            }
        }
        XCTAssertEqual(error("[[sibling]]\naddress = \"192.0.2.11\"\n"), "sibling[1].key: is required: the id of the key (in [keys] file) this node's requests carry")
        XCTAssertTrue(error("[[sibling]]\naddress = \"time.example\"\nkey = 1\n").contains("not a numeric IPv4 or IPv6 address"))
        XCTAssertTrue(error("[[sibling]]\naddress = \"192.0.2.11\"\nkey = 1\naccept = [0]\n").hasPrefix("sibling[1].accept: item 1"))
        XCTAssertTrue(error("[[sibling]]\naddress = \"192.0.2.11\"\nkey = 1\naccept = [\"2\"]\n").contains("must be an integer"))
        XCTAssertTrue(error("[[sibling]]\naddress = \"192.0.2.11\"\nkey = 1\n[[sibling]]\naddress = \"192.0.2.11\"\nkey = 1\n").contains("used twice"))
        XCTAssertTrue(error("[[sibling]]\naddress = \"192.0.2.11\"\nkey = 1\nminpoll = 6\nmaxpoll = 4\n").contains("below minpoll"))
        do {
            _ = try ConfigLoader.parse(text: "[[sibling]]\naddress = \"192.0.2.11\"\nkey = 1\n", file: "t.toml")
            XCTFail("siblings without a key file")
        } catch {
            XCTAssertTrue(error.message.contains("[keys] file"), "\(error)")
        }
    }

    func testSteeringPicksTheBestSynchronisedSibling() {
        func source(_ name: String, stratum: UInt8, state: SourceState, reach: UInt8 = 0o377, distance: Double = 0.001) -> SourceReport {
            SourceReport(
                id: SourceID(name), kind: .sibling, state: state, stratum: stratum, referenceID: 0, reach: reach,
                lastSampleAge: 1, offset: 0, jitter: 0, rootDistance: distance, samples: 4, accepted: 4, dropped: 0)
        }
        func tracking(synchronized: Bool, holdover: Double?) -> TrackingReport {
            TrackingReport(
                selected: nil, referenceID: 0, stratum: 16, leap: 3, synchronized: synchronized, lastOffset: 0, rmsOffset: 0,
                frequencyPPM: 0, skewPPM: 0, rootDelay: 0, rootDispersion: 0, lastUpdateAge: nil, updateInterval: 0,
                holdoverSeconds: holdover, errorBound: nil, updates: 0, steps: 0)
        }
        let siblings = [NodeConfig.Sibling(host: "192.0.2.11", key: 1), NodeConfig.Sibling(host: "192.0.2.12", port: 1123, key: 1)]
        let sources = [
            source("192.0.2.11", stratum: 2, state: .notCombined),
            source("192.0.2.12:1123", stratum: 1, state: .notCombined, distance: 0.002),
        ]
        let unsynchronised = TimekeepingStatus(tracking: tracking(synchronized: false, holdover: nil), sources: sources, refclocks: [], leap: nil)
        XCTAssertEqual(NTSSteering.target(timekeeping: unsynchronised, siblings: siblings, steerHoldover: 3600), SocketEndpoint(host: "192.0.2.12", port: 1123))
        let longHoldover = TimekeepingStatus(tracking: tracking(synchronized: true, holdover: 7200), sources: sources, refclocks: [], leap: nil)
        XCTAssertNotNil(NTSSteering.target(timekeeping: longHoldover, siblings: siblings, steerHoldover: 3600))
        let shortHoldover = TimekeepingStatus(tracking: tracking(synchronized: true, holdover: 60), sources: sources, refclocks: [], leap: nil)
        XCTAssertNil(NTSSteering.target(timekeeping: shortHoldover, siblings: siblings, steerHoldover: 3600), "still serving")
        let bad = TimekeepingStatus(tracking: tracking(synchronized: false, holdover: nil), sources: [
            source("192.0.2.11", stratum: 1, state: .falseticker),
            source("192.0.2.12:1123", stratum: 1, state: .notCombined, reach: 0),
        ], refclocks: [], leap: nil)
        XCTAssertNil(NTSSteering.target(timekeeping: bad, siblings: siblings, steerHoldover: 3600), "no healthy sibling: keep the clients")
        XCTAssertNil(NTSSteering.target(timekeeping: unsynchronised, siblings: [], steerHoldover: 3600))
    }
}
