import FleetCrypto
import Foundation
import Logging
import NTPCore
import Node
import XCTest

/// The key store as the one owner of the cookie master keys: every change reaches the provider that the NTP
/// server and NTS-KE read (RFC 8915 §6), with nobody calling either of them.
final class CookieKeyProviderTests: XCTestCase {
    func testTheStorePublishesEveryChangeToItsProvider() throws {
        let directory = try NodeProcess.makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("keys").path
        let provider = CookieKeyProvider(ciphers: NettleCipherFactory())
        XCTAssertNil(provider.current, "nothing before the store has loaded")
        func served() -> [UInt32] { provider.current?.keySet.keys.map(\.id) ?? [] }

        let store = try CookieKeyStore(path: path, history: 3, now: 1_000, logger: Logger(label: "test"), publishingTo: provider)
        XCTAssertEqual(served(), [1], "published at start")

        _ = try store.stage(id: 5, hexKey: String(repeating: "11", count: 32), createdAt: nil, now: 1_100)
        XCTAssertEqual(served(), [5, 1], "a staged key opens cookies; the current one still seals")
        _ = try store.activate(id: 5, now: 1_200)
        XCTAssertEqual(served(), [1, 5])
        XCTAssertEqual(provider.current?.keySet.current.id, 5, "the activated key seals")
        try store.rotateIfDue(now: 9_000, interval: 1_000)
        XCTAssertEqual(served(), [1, 5, 6])
        _ = try store.retire(id: 1, now: 9_100)
        XCTAssertEqual(served(), [5, 6])
        XCTAssertEqual(served(), store.serving.keys.map(\.id), "the provider holds what the store serves")

        // Another store (the fleet tool's write, seen here as a file change) and a reload: published too.
        let other = try CookieKeyStore(path: path, history: 3, now: 9_200, logger: Logger(label: "test"))
        try other.rotateIfDue(now: 20_000, interval: 1_000)
        XCTAssertEqual(served(), [5, 6], "not published until this store reloads")
        try store.reload(history: 3)
        XCTAssertEqual(served(), [5, 6, 7])
    }
}
