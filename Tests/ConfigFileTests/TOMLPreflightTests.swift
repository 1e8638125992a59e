import ConfigFile
import XCTest

/// What the bundled toml++ does not survive is a located error before it sees the text (found by
/// fuzz-config: a table header starting with anything but a key, `[[é]]`, `[.a]`, `[` and a control
/// character, tripped an assertion in toml++'s parse_key: `fleetnode check-config` aborted in a debug build,
/// undefined behaviour in a release build; and a date, T and no time, in its parse_time; and a } where an
/// array expects a value, in its parse_value). Characters beyond
/// ASCII outside strings and comments are refused.
final class TOMLPreflightTests: XCTestCase {
    func check(_ text: String, line: Int, says words: String, file: StaticString = #filePath, sourceLine: UInt = #line) {
        XCTAssertThrowsError(try ConfigLoader.parse(text: text, file: "/etc/fleetnode/fleetnode.toml"), text, file: file, line: sourceLine) { error in
            let error = error as? ConfigError
            XCTAssertEqual(error?.line, line, text, file: file, line: sourceLine)
            XCTAssertTrue(error?.message.contains(words) ?? false, "\(String(describing: error))", file: file, line: sourceLine)
        }
    }

    func testTableHeadersThatDoNotStartWithAKey() {
        for header in ["[é]", "[[é]]", "[.a]", "[=a]", "[#a]", "[[ [a]]", "[ \t\u{01}]", "[\u{02}socket_buffer]", "[{a}]"] {
            check("# comment\n" + header + "\nx = 1\n", line: 2, says: "a table header must start with a key")
        }
        check("[\n", line: 1, says: "a table header must start with a key")
    }

    /// A date, T and no time where what follows looks like a date-time tripped toml++'s parse_time assertion.
    func testDateWithoutTime() {
        check("[node]\na = [1979-05-27T[1979-05-27T07:32:00Z]]\n", line: 2, says: "a date and T must be followed by a time")
        check("a = 1979-05-27t\n", line: 1, says: "a date and T must be followed by a time")
        // A string that looks like one is a string.
        check("a = \"1979-05-27T[\"\n", line: 1, says: "unknown key")
    }

    /// A } where an array expects a value tripped toml++'s parse_value assertion.
    func testBraceWhereAnArrayExpectsAValue() {
        check("[access]\nallow = [\"0.0.0.0/0\", }\"\"]\n", line: 2, says: "a value is missing in an array")
        check("a = [\n  # comment\n  }]\n", line: 3, says: "a value is missing in an array")
        check("a = [[}]]\n", line: 1, says: "a value is missing in an array")
        // An inline table in an array is a value; a trailing comma is allowed.
        check("a = [{b = 1}, {c = 2},]\n", line: 1, says: "unknown key")
    }

    func testBeyondASCIIOutsideStrings() {
        check("[node]\nname = \"x\"\nné = 1\n", line: 3, says: "beyond ASCII outside a string or comment")
        check("[node]\nname = x\u{FFFD}\n", line: 2, says: "beyond ASCII outside a string or comment")
    }

    func testValidTextPassesToTheLoader() throws {
        // Beyond ASCII in strings and comments, arrays of arrays over several lines, inline tables.
        let text = """
            # Zürich, été
            [node]
            name = "nœud-1" # café
            [ntp]
            listen = [
              "127.0.0.1:123",  # « un »
              '[::1]:123',
            ]
            [[refclock]]
            driver = "gpsd"
            name = '''GPS «1»'''
            [access]
            allow = ["192.0.2.0/24",
              "2001:db8::/32"]
            """
        let config = try ConfigLoader.parse(text: text, file: "f")
        XCTAssertEqual(config.name, "nœud-1")
        XCTAssertEqual(config.refclocks.first?.name, "GPS «1»")
        XCTAssertEqual(config.ntp.listen.count, 2)
        // TOML errors past the check are still toml++'s, located.
        check("a = [\n  [1, 2],\n  [+3, {b = 1}],\n]\n[\"quoted\".\"é\"]\nx = \"\"\"é\n\\\"é\"\n\"\"\"\n[[ok]]\n", line: 1, says: "unknown key")
    }
}
