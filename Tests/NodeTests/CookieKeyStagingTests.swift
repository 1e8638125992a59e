import NodeModels
import Foundation
import Logging
import NTPCore
import Node
import XCTest

/// CookieKeyStore's staging on its own: what the NTP server opens with, idempotence, the files.
final class CookieKeyStagingTests: XCTestCase {
    func testStagedKeysOpenButDoNotSealAndRecoverFromAnInterruptedActivation() throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys").path
        let store = try CookieKeyStore(path: path, history: 3, now: 1_000, logger: Logger(label: "test"))

        let staged = try store.stage(id: 5, hexKey: String(repeating: "11", count: 32), createdAt: nil, now: 1_100)
        XCTAssertTrue(staged.changed)
        XCTAssertEqual(store.current.keys.map(\.id), [1], "the key file holds no staged key")
        XCTAssertEqual(store.serving.keys.map(\.id), [5, 1], "opened with, but the current key stays last")
        XCTAssertEqual(store.serving.current.id, 1, "seals with the current key")
        XCTAssertEqual(try store.stage(id: 5, hexKey: nil, createdAt: nil, now: 1_200).changed, false)
        XCTAssertThrowsError(try store.stage(id: 1, hexKey: String(repeating: "22", count: 32), createdAt: nil, now: 1_200)) {
            XCTAssertEqual(($0 as? CookieKeyChangeError)?.kind, .conflict)
        }

        // A crash after the key file was written but before the staged file was: key 5 in both files.
        let activated = try store.activate(id: 5, now: 1_300)
        XCTAssertEqual(activated.keys.map(\.state), [.previous, .current])
        let leftover = try CookieKeySet(keys: [CookieKey(id: 5, key: Array(repeating: 0x11, count: 32), createdAt: 1_100)], history: 1)
        try leftover.serialized().write(toFile: path + ".staged", atomically: true, encoding: .utf8)
        chmod(path + ".staged", 0o600)
        let restarted = try CookieKeyStore(path: path, history: 3, now: 1_400, logger: Logger(label: "test"))
        XCTAssertEqual(restarted.info(now: 1_400).map { "\($0.id) \($0.state.rawValue)" }, ["1 previous", "5 current"])

        XCTAssertEqual(try restarted.retire(id: 1, now: 1_500).keys.map(\.id), [5])
        XCTAssertEqual(try restarted.retire(id: 1, now: 1_500).changed, false)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count, 2, "header and key 5")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".staged") && restarted.info(now: 0).contains { $0.state == .staged })
    }
}
