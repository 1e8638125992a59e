import Foundation
import XCTest

/// The example site under deploy/site (three node configurations and their fleet.toml) is checked as an
/// operator would check it, with the real executables. Its certificate and key paths exist only on real
/// hosts, so the inventory is checked without its files (--syntax-only).
final class ExampleSiteTests: XCTestCase {
    static let site = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/site")

    func testExampleSiteChecks() throws {
        let bin = NodeProcess.binDirectory
        for name in ["ntp1", "ntp2", "ntp3"] {
            let file = Self.site.appendingPathComponent("\(name).toml").path
            let result = try ExternalTool.run(bin.appendingPathComponent("fleetnode").path, ["check-config", "--syntax-only", file])
            XCTAssertEqual(result.status, 0, "\(file): \(result.stdout)\(result.stderr)")
        }
        let inventory = Self.site.appendingPathComponent("fleet.toml").path
        let checked = try ExternalTool.run(bin.appendingPathComponent("fleetctl").path, ["inventory", "check", "--syntax-only", inventory])
        XCTAssertEqual(checked.status, 0, checked.stderr)
        XCTAssertEqual(checked.stdout, "\(inventory): OK (1 site, 3 nodes)\n")
        // Without --syntax-only the credential files are looked for, and their absence is named.
        let full = try ExternalTool.run(bin.appendingPathComponent("fleetctl").path, ["inventory", "check", inventory])
        XCTAssertEqual(full.status, 3)
        XCTAssertTrue(full.stderr.contains("fleet.toml:10: credentials.certificate: /etc/fleetctl/operator.pem: cannot read the file (no such file)"), full.stderr)
    }
}
