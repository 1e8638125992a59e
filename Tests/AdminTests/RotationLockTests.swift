import Admin
import Foundation
import XCTest

/// The rotation lock: a second holder is refused with the first one's PID; the lock goes with its holder.
final class RotationLockTests: XCTestCase {
    func testSecondHolderIsRefusedUntilTheFirstLetsGo() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rotation-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try AdminHostStore(path: directory.appendingPathComponent("fleet.sqlite").path)

        var first: RotationLock? = try RotationLock(for: store)
        XCTAssertNotNil(first)
        XCTAssertThrowsError(try RotationLock(for: store)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("another fleetctl (PID \(getpid())) is running a rotation"), text)
        }
        first = nil
        let second = try RotationLock(for: store)
        XCTAssertEqual(second.path, RotationLock.path(for: store))
        let mode = try FileManager.default.attributesOfItem(atPath: second.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }
}
