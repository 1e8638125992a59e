@testable import ConfigFile
import XCTest

/// Errors name the line a key was set on, however the key was written.
final class ConfigLineLocatorTests: XCTestCase {
    func testPlainDottedAndQuotedKeys() {
        let text = """
            # comment = 1
            top = 1
            [ntp]
            listen = ["a",
              "b"]
            threads = 2
            [nts.ratelimit]
            interval = 3
            [admin]
            "quoted key" = 4
            sub . inner = 5
            'single.dotted' = 6
            [[sibling]]
            address = "x # not a comment"
            [[sibling]]
            address = "y"
            [ "spaced" . table ]
            key="a=b"
            """
        let locator = ConfigLineLocator(text: text)
        XCTAssertEqual(locator.line(of: "top"), 2)
        XCTAssertEqual(locator.line(of: "ntp.listen"), 4)
        XCTAssertEqual(locator.line(of: "ntp.threads"), 6, "a multi-line array does not hide the key after it")
        XCTAssertEqual(locator.line(of: "nts.ratelimit.interval"), 8)
        XCTAssertEqual(locator.line(of: "admin.quoted key"), 10)
        XCTAssertEqual(locator.line(of: "admin.sub.inner"), 11)
        XCTAssertEqual(locator.line(of: "admin.single.dotted"), 12)
        XCTAssertEqual(locator.line(of: "sibling[1].address"), 14)
        XCTAssertEqual(locator.line(of: "sibling[2].address"), 16)
        XCTAssertEqual(locator.line(of: "spaced.table.key"), 18)
        XCTAssertEqual(locator.line(of: "ntp.unknown"), 3, "an unknown key falls back to its table")
        XCTAssertNil(locator.line(of: "nowhere.at.all"))
    }

    func testKeyPaths() {
        XCTAssertEqual(ConfigLineLocator.keyPath(" a . \"b.c\" . 'd' "), "a.b.c.d")
        XCTAssertEqual(ConfigLineLocator.keyPath("\"with \\\" quote\""), "with \" quote")
        XCTAssertEqual(ConfigLineLocator.firstUnquoted("=", in: "\"a=b\" = 1").map { "\"a=b\" = 1".distance(from: "\"a=b\" = 1".startIndex, to: $0) }, 6)
    }
}
