/// Checks a TOML text for what the toml++ bundled with TOMLKit does not survive, before the text reaches it:
/// a table header whose first key does not start with a bare-key character or a quote (`[é]`, `[.a]`,
/// `[[#x]]`, `[` then a control character) trips an assertion in its `parse_key` (an abort in a debug
/// build, `__builtin_assume(false)`, undefined behaviour, in a release build; found by fuzz-config). Such a
/// file is invalid TOML, so it gets a located error here instead. So does a date followed by `T` and no
/// time (`1979-05-27T[...`: an assertion in its parse_time when what follows looks like a date-time), and a
/// `}` where an array expects a value (`[1, }]`: an assertion in its parse_value).
/// Characters beyond ASCII outside strings and comments are refused as well: TOML 1.0 keys are ASCII
/// (A-Z, a-z, 0-9, `_`, `-`) or quoted.
enum TOMLPreflight {
    /// The first problem, with its 1-based line, nil if there is none.
    static func firstProblem(_ text: String) -> (line: Int, message: String)? {
        let bytes = Array(text.utf8)
        let quote = UInt8(ascii: "\""), apostrophe = UInt8(ascii: "'"), newline = UInt8(ascii: "\n")
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        var line = 1
        var index = 0
        var atLineStart = true
        // Open [ and { of values (arrays, inline tables), which may span lines: a [ inside one is not a header.
        var brackets: [UInt8] = []
        // Right after an array's [ or a , in it: a value (or the closing ]) must come next.
        var expectElement = false
        func starts(_ delimiter: UInt8, count: Int, at position: Int) -> Bool {
            position + count <= bytes.count && bytes[position..<(position + count)].allSatisfy { $0 == delimiter }
        }
        func digit(_ position: Int) -> Bool {
            position < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position])
        }
        /// `dddd-dd-ddT` (or `t`) at `position` not followed by a digit.
        func dateWithoutTime(at position: Int) -> Bool {
            guard position + 11 <= bytes.count else { return false }
            for offset in [0, 1, 2, 3, 5, 6, 8, 9] where !digit(position + offset) { return false }
            return bytes[position + 4] == UInt8(ascii: "-") && bytes[position + 7] == UInt8(ascii: "-")
                && (bytes[position + 10] == UInt8(ascii: "T") || bytes[position + 10] == UInt8(ascii: "t")) && !digit(position + 11)
        }
        func startsKey(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "-"), quote, apostrophe:
                true
            default: false
            }
        }
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case newline:
                line += 1
                index += 1
                atLineStart = true
            case space, tab, UInt8(ascii: "\r"):
                index += 1
            case UInt8(ascii: "#"):
                while index < bytes.count, bytes[index] != newline { index += 1 }
            case UInt8(ascii: "[") where atLineStart && brackets.isEmpty:
                // A table header: its first key must start like a key. The rest of the line is toml++'s.
                index += starts(byte, count: 2, at: index) ? 2 : 1
                while index < bytes.count, bytes[index] == space || bytes[index] == tab { index += 1 }
                guard index < bytes.count, startsKey(bytes[index]) else {
                    return (line, "TOML syntax: a table header must start with a key (A-Z, a-z, 0-9, _ and -, or quoted)")
                }
                while index < bytes.count, bytes[index] != newline { index += 1 }
            case quote, apostrophe:
                atLineStart = false
                expectElement = false
                // A string: basic ("...", with escapes) or literal ('...'), single- or multi-line; an
                // unterminated one runs to the end of its line (single) or of the text (multi-line), where
                // toml++ reports it.
                let multiline = starts(byte, count: 3, at: index)
                index += multiline ? 3 : 1
                while index < bytes.count {
                    let current = bytes[index]
                    if current == newline {
                        if !multiline { break }
                        line += 1
                    } else if current == UInt8(ascii: "\\"), byte == quote {
                        index += 1
                        if index < bytes.count, bytes[index] == newline { line += 1 }
                    } else if current == byte, !multiline || starts(byte, count: 3, at: index) {
                        index += multiline ? 3 : 1
                        // A multi-line string may end with up to two more quotes of its kind (TOML 1.0).
                        while multiline, index < bytes.count, bytes[index] == byte { index += 1 }
                        break
                    }
                    index += 1
                }
            default:
                atLineStart = false
                if byte >= 0x80 {
                    return (line, "TOML syntax: a character beyond ASCII outside a string or comment (keys are A-Z, a-z, 0-9, _ and -, or quoted)")
                }
                if dateWithoutTime(at: index) {
                    return (line, "TOML syntax: a date and T must be followed by a time (1979-05-27T07:32:00Z)")
                }
                if expectElement, byte == UInt8(ascii: "}") {
                    return (line, "TOML syntax: a value is missing in an array")
                }
                expectElement = false
                if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
                    brackets.append(byte)
                    expectElement = byte == UInt8(ascii: "[")
                } else if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") {
                    _ = brackets.popLast()
                } else if byte == UInt8(ascii: ","), brackets.last == UInt8(ascii: "[") {
                    expectElement = true
                }
                index += 1
            }
        }
        return nil
    }
}
