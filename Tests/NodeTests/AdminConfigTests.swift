import ConfigFile
import Foundation
import Node
import XCTest

/// `[admin]` in the configuration: defaults and every mistake located by key.
final class AdminConfigTests: XCTestCase {
    func parse(_ text: String) throws(ConfigError) -> NodeConfig {
        try ConfigLoader.parse(text: text, file: "test.toml")
    }

    func testDefaultsToLoopback() throws {
        XCTAssertNil(try parse("").admin)
        let config = try parse("""
            [admin]
            certificate = "/etc/fleetnode/admin.pem"
            private_key = "/etc/fleetnode/admin-key.pem"
            client_ca = "/etc/fleetnode/admin-ca.pem"
            """)
        XCTAssertEqual(config.admin?.listen.description, "127.0.0.1:9124")
        XCTAssertEqual(config.admin?.clientCA, "/etc/fleetnode/admin-ca.pem")
        XCTAssertEqual(try parse("[admin]\nlisten = \"[::1]\"\ncertificate = \"/a\"\nprivate_key = \"/b\"\nclient_ca = \"/c\"").admin?.listen.description, "[::1]:9124")
    }

    func testMistakesAreLocated() {
        let cases: [(String, Int?, String, String)] = [
            ("[admin]\ncertificate = \"/a\"\nprivate_key = \"/b\"", 1, "admin.client_ca", "is required"),
            ("[admin]\ncertificate = \"a.pem\"\nprivate_key = \"/b\"\nclient_ca = \"/c\"", 2, "admin.certificate", "absolute path"),
            ("[admin]\nlisten = \"localhost:1\"\ncertificate = \"/a\"\nprivate_key = \"/b\"\nclient_ca = \"/c\"", 2, "admin.listen", "numeric"),
            ("[admin]\nport = 1", 2, "admin.port", "unknown key in [admin]"),
        ]
        for (text, line, key, fragment) in cases {
            do {
                _ = try parse(text)
                XCTFail("accepted: \(text)")
            } catch {
                XCTAssertEqual(error.line, line, "\(error)")
                XCTAssertEqual(error.key, key, "\(error)")
                XCTAssertTrue(error.description.contains(fragment), "\(error)")
            }
        }
    }
}
