import FleetCrypto
import Logging
import NTPCore
import XCTest
@testable import Node

/// A receive loop keeps its rules and cookie keys by reference and reads them again only when a change was
/// counted: a policy reload, a symmetric key reload, NTS switched on, and a rotation of the site's cookie
/// keys each make the loop's copy stale, and the fresh one carries the change.
final class LoopRulesTests: XCTestCase {
    private func makeShared() -> ServerShared {
        ServerShared(
            rules: NTPServerRules(policy: ServerPolicy()), rateLimitCapacity: 16,
            serving: ServingState(source: .local(stratum: 3), precision: -20), clock: SoftwareClock(),
            statistics: ServerStatistics(), logger: Logger(label: "test"))
    }

    func testEveryKindOfChangeMakesTheLoopReadAgain() throws {
        let shared = makeShared()
        var rules = LoopRules(from: shared)
        XCTAssertFalse(rules.isStale(shared))
        XCTAssertTrue(rules.rules.policy.interleaved)
        XCTAssertNil(rules.rules.nts)
        XCTAssertNil(rules.mac)

        // A reloaded policy.
        shared.updateRules { $0.policy.interleaved = false }
        XCTAssertTrue(rules.isStale(shared))
        rules = LoopRules(from: shared)
        XCTAssertFalse(rules.isStale(shared))
        XCTAssertFalse(rules.rules.policy.interleaved)

        // Symmetric keys, with a sibling's key set.
        let key = try SymmetricKey(id: 7, type: .aes128, secret: [UInt8](repeating: 1, count: 16))
        shared.updateRules {
            $0.symmetric = SymmetricServerConfiguration(
                keys: [key], computer: OpenSSLMACComputer(), restrictions: [IPAddress("127.0.0.9")!: [7]])
        }
        XCTAssertTrue(rules.isStale(shared))
        rules = LoopRules(from: shared)
        XCTAssertNotNil(rules.mac)
        XCTAssertTrue(rules.recordsSiblings)

        // NTS switched on, then the site's keys rotated in the provider (no call on the server).
        var random = SecureRandomGenerator()
        var site = try CookieKeySet(keys: [CookieKey.generate(id: 1, createdAt: 1_700_000_000, using: &random)])
        let provider = CookieKeyProvider(keySet: site, ciphers: NettleCipherFactory())
        shared.serveNTS(from: provider)
        XCTAssertTrue(rules.isStale(shared))
        rules = LoopRules(from: shared)
        XCTAssertEqual(rules.rules.nts?.keySet.current.id, 1)
        XCTAssertFalse(rules.isStale(shared))
        try site.rotate(to: CookieKey.generate(id: site.nextID, createdAt: 1_700_086_400, using: &random))
        provider.publish(site)
        XCTAssertTrue(rules.isStale(shared), "a rotation in the provider reaches the loop")
        rules = LoopRules(from: shared)
        XCTAssertEqual(rules.rules.nts?.keySet.current.id, 2)
        XCTAssertFalse(rules.isStale(shared))

        // NTS switched off.
        shared.serveNTS(from: nil)
        XCTAssertTrue(rules.isStale(shared))
        rules = LoopRules(from: shared)
        XCTAssertNil(rules.rules.nts)
    }
}
