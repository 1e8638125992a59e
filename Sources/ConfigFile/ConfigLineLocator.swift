import NodeModels

/// Finds the line on which a TOML key is set, so errors about unknown keys and bad values can name it.
///
/// Written by hand because TOMLKit (the TOML library we use) reports positions for syntax errors only, not
/// for the keys of a parsed document. The document has already parsed when this runs, so a simple line
/// scan suffices: it follows `[table]` headers, skips strings and comments, and ignores lines inside
/// multi-line arrays.
public struct ConfigLineLocator: Sendable {
    private var lines: [String: Int] = [:]
    private var tables: [String: Int] = [:]

    public init(text: String) {
        var table = ""
        var depth = 0
        var arrayCounts: [String: Int] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = Self.stripComment(String(rawLine))
            let trimmed = line.trimmingASCIIWhitespace()
            if depth == 0, trimmed.hasPrefix("[["), trimmed.hasSuffix("]]") {
                // An array of tables: the Nth `[[name]]` is addressed as `name[N]` (1-based).
                let name = Self.keyPath(String(trimmed.dropFirst(2).dropLast(2)))
                arrayCounts[name, default: 0] += 1
                table = "\(name)[\(arrayCounts[name]!)]"
                tables[table] = lineNumber
                if tables[name] == nil { tables[name] = lineNumber }
                continue
            }
            if depth == 0, trimmed.hasPrefix("["), !trimmed.hasPrefix("[["), trimmed.hasSuffix("]") {
                table = Self.keyPath(String(trimmed.dropFirst().dropLast()))
                if tables[table] == nil { tables[table] = lineNumber }
                continue
            }
            if depth == 0, let equals = Self.firstUnquoted("=", in: trimmed) {
                let key = Self.keyPath(String(trimmed[..<equals]))
                let path = table.isEmpty ? key : "\(table).\(key)"
                if lines[path] == nil { lines[path] = lineNumber }
            }
            depth += Self.bracketBalance(line)
            if depth < 0 { depth = 0 }
        }
    }

    /// The line of `path` (`table.key`), or of its table, or nil.
    public func line(of path: String) -> Int? {
        if let line = lines[path] { return line }
        if let line = tables[path] { return line }
        if let dot = path.lastIndex(of: ".") { return tables[String(path[..<dot])] }
        return nil
    }

    /// A TOML key as a path: dotted keys (`a.b`) joined with dots, quoted parts (`"a.b"`, `'x y'`) unquoted,
    /// spaces around the dots dropped (TOML 1.0 §Keys), so `site . "name"` and `site.name` name one key.
    static func keyPath(_ text: String) -> String {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        var escaped = false
        for character in text {
            if let open = quote {
                if escaped {
                    current.append(character)
                    escaped = false
                } else if character == "\\" && open == "\"" {
                    escaped = true
                } else if character == open {
                    quote = nil
                } else {
                    current.append(character)
                }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "." {
                parts.append(current)
                current = ""
            } else if character != " " && character != "\t" {
                current.append(character)
            }
        }
        parts.append(current)
        return parts.joined(separator: ".")
    }

    /// The first `target` outside quotes.
    static func firstUnquoted(_ target: Character, in text: String) -> String.Index? {
        var quote: Character?
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == target {
                return index
            }
            index = text.index(after: index)
        }
        return nil
    }

    private static func stripComment(_ line: String) -> String {
        var inString: Character?
        var result = ""
        var escaped = false
        for character in line {
            if let quote = inString {
                if escaped { escaped = false } else if character == "\\" && quote == "\"" { escaped = true } else if character == quote {
                    inString = nil
                }
            } else if character == "\"" || character == "'" {
                inString = character
            } else if character == "#" {
                break
            }
            result.append(character)
        }
        return result
    }

    private static func bracketBalance(_ line: String) -> Int {
        var balance = 0
        var inString: Character?
        for character in line {
            if let quote = inString {
                if character == quote { inString = nil }
            } else if character == "\"" || character == "'" {
                inString = character
            } else if character == "[" {
                balance += 1
            } else if character == "]" {
                balance -= 1
            }
        }
        // A table header line balances to zero; only array values spanning lines leave it positive.
        return balance
    }
}
