import Foundation
import FuzzHarness
import XCTest

/// Replays every committed seed (Fuzz/seeds/<target>/*, regression inputs of fixed bugs included) through
/// its fuzz target's entry point, the same function libFuzzer runs (Tests/FuzzHarness): an input that
/// breaks a promise stops the run with the target's precondition message. Quick (about a second), so every
/// `make test` replays them without the sanitizer build.
final class FuzzSeedTests: XCTestCase {
    static let seeds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/seeds")

    func testEveryTargetHasSeedsAndEverySeedFolderATarget() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.seeds.path).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(Set(folders), Set(fuzzTargets.keys), "Fuzz/seeds folders and fuzz targets differ")
    }

    func testSeedsReplay() throws {
        var replayed = 0
        for (target, entry) in fuzzTargets.sorted(by: { $0.key < $1.key }) {
            let folder = Self.seeds.appendingPathComponent(target)
            let files = (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.filter { !$0.hasPrefix(".") }.sorted() ?? []
            XCTAssertFalse(files.isEmpty, "\(target) has no seeds")
            for file in files {
                let bytes = try [UInt8](Data(contentsOf: folder.appendingPathComponent(file)))
                let result = bytes.withUnsafeBufferPointer { entry($0.baseAddress, $0.count) }
                XCTAssertEqual(result, 0, "\(target)/\(file)")
                replayed += 1
            }
        }
        XCTAssertGreaterThan(replayed, 100)
    }
}
