import Foundation
import Logging
import NTPCore
import Node
import XCTest

/// The node's cookie master-key file: created 0600, rotated on schedule with a history window, reloaded,
/// and never replaced by a broken file.
final class CookieKeyStoreTests: XCTestCase {
    /// Nodes that share one key file and start together agree on the keys: the first file written wins
    /// (seen with ten sites of five nodes started at once, where each node had made its own key).
    func testNodesStartingTogetherAgreeOnOneKeySet() async throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("cookie-keys").path
        let stores = try await withThrowingTaskGroup(of: CookieKeySet.self) { group in
            for _ in 0..<8 {
                group.addTask { try CookieKeyStore(path: path, history: 2, now: 1_000, logger: Logger(label: "test")).current }
            }
            return try await group.reduce(into: [CookieKeySet]()) { $0.append($1) }
        }
        XCTAssertEqual(Set(stores.map { $0.keys.map(\.key) }).count, 1, "one key set for all")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [], "no temporary file left behind")
    }

    func testCreateRotateReload() throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("state/cookie-keys").path
        let logger = Logger(label: "test")

        let store = try CookieKeyStore(path: path, history: 2, now: 1_000, logger: logger)
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue
        XCTAssertEqual(mode, 0o600)
        XCTAssertEqual(store.current.keys.map(\.id), [1])

        XCTAssertNil(try store.rotateIfDue(now: 1_500, interval: 1_000), "not due yet")
        XCTAssertNil(try store.rotateIfDue(now: 5_000, interval: 0), "0 means never")
        XCTAssertEqual(try store.rotateIfDue(now: 2_000, interval: 1_000)?.keys.map(\.id), [1, 2])
        XCTAssertEqual(try store.rotateIfDue(now: 3_000, interval: 1_000)?.keys.map(\.id), [2, 3], "history 2 keeps the newest two")

        // A restart (a new store on the same file) has the same keys: clients' cookies survive.
        let restarted = try CookieKeyStore(path: path, history: 2, now: 3_001, logger: logger)
        XCTAssertEqual(restarted.current, store.current)

        // A broken file is refused and the keys in use are kept.
        try "timefleet-cookie-keys 1\n7 0 not-hex\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        XCTAssertThrowsError(try store.reload(history: 2)) { XCTAssertTrue("\($0)".contains("line 2"), "\($0)") }
        XCTAssertEqual(store.current.keys.map(\.id), [2, 3])
        XCTAssertThrowsError(try CookieKeyStore(path: path, history: 2, now: 0, logger: logger))
    }
}
