import TOMLKit

/// A table of a parsed TOML file that reports every problem as `FILE:LINE: key: message`: unknown keys, wrong
/// types and out-of-range values. The node's configuration and fleetctl's inventory are both read through it.
public struct ConfigTable {
    public struct Context: Sendable {
        public var file: String
        public var locator: ConfigLineLocator
        public init(file: String, locator: ConfigLineLocator) {
            self.file = file
            self.locator = locator
        }
    }

    public let table: TOMLTable
    public let path: String
    public let context: Context

    public init(table: TOMLTable, path: String, context: Context) {
        self.table = table
        self.path = path
        self.context = context
    }

    /// The root table of `text`; a TOML syntax error is reported with its line.
    public init(parsing text: String, file: String) throws(ConfigError) {
        if let problem = TOMLPreflight.firstProblem(text) {
            throw ConfigError(file: file, line: problem.line, key: nil, message: problem.message)
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError(file: file, line: error.source.begin.line, key: nil, message: "TOML syntax: \(error.description)")
        } catch {
            throw ConfigError(file: file, line: nil, key: nil, message: "TOML syntax: \(error)")
        }
        self.init(table: root, path: "", context: Context(file: file, locator: ConfigLineLocator(text: text)))
    }

    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func error(_ key: String?, _ message: String) -> ConfigError {
        let located = key.map(keyPath) ?? path
        return ConfigError(
            file: context.file, line: context.locator.line(of: located), key: located.isEmpty ? nil : located,
            message: message)
    }

    public func allowOnly(_ keys: Set<String>) throws(ConfigError) {
        for key in table.keys.sorted() where !keys.contains(key) {
            let known = keys.sorted().joined(separator: ", ")
            let place = path.isEmpty ? "at the top level" : "in [\(path)]"
            throw error(key, "unknown key \(place) (known: \(known))")
        }
    }

    private func value(_ key: String, _ type: TOMLType) throws(ConfigError) -> TOMLValueConvertible? {
        guard let value = table[key] else { return nil }
        guard value.type == type else {
            throw error(key, "expected type \(type.description), found \(value.type.description)")
        }
        return value
    }

    public func table(_ key: String) throws(ConfigError) -> ConfigTable? {
        guard let value = try value(key, .table), let table = value.table else { return nil }
        return ConfigTable(table: table, path: keyPath(key), context: context)
    }

    public func string(_ key: String) throws(ConfigError) -> String? { try value(key, .string)?.string }

    /// The tables of an array of tables (`[[key]]`), addressed as `key[N]` for errors.
    public func tables(_ key: String) throws(ConfigError) -> [ConfigTable] {
        guard let value = try value(key, .array), let array = value.array else { return [] }
        var result: [ConfigTable] = []
        for index in 0..<array.count {
            guard array[index].type == .table, let table = array[index].table else {
                throw error(key, "item \(index + 1) must be a table ([[\(key)]])")
            }
            result.append(ConfigTable(table: table, path: keyPath("\(key)[\(index + 1)]"), context: context))
        }
        return result
    }

    /// A reader addressing element `index` (0-based) of the array of tables `key`, for errors.
    public func element(_ key: String, _ index: Int) -> ConfigTable {
        ConfigTable(table: TOMLTable(), path: keyPath("\(key)[\(index + 1)]"), context: context)
    }

    public func bool(_ key: String) throws(ConfigError) -> Bool? { try value(key, .bool)?.bool }

    public func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let number = try value(key, .int)?.int else { return nil }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    /// An integer or floating-point number in `range`.
    public func number(_ key: String, in range: ClosedRange<Double>) throws(ConfigError) -> Double? {
        guard let value = table[key] else { return nil }
        let number: Double
        switch value.type {
        case .int: number = Double(value.int ?? 0)
        case .double: number = value.double ?? 0
        default: throw error(key, "expected a number, found \(value.type.description)")
        }
        guard range.contains(number) else {
            throw error(key, "must be between \(range.lowerBound) and \(range.upperBound), got \(number)")
        }
        return number
    }

    public func ints(_ key: String) throws(ConfigError) -> [Int]? {
        guard let array = try value(key, .array)?.array else { return nil }
        var result: [Int] = []
        for (index, item) in array.enumerated() {
            guard item.type == .int, let number = item.int else {
                throw error(key, "item \(index + 1) must be an integer, found \(item.type.description)")
            }
            result.append(number)
        }
        return result
    }

    public func strings(_ key: String) throws(ConfigError) -> [String]? {
        guard let array = try value(key, .array)?.array else { return nil }
        var result: [String] = []
        for (index, item) in array.enumerated() {
            guard item.type == .string, let text = item.string else {
                throw error(key, "item \(index + 1) must be a string, found \(item.type.description)")
            }
            result.append(text)
        }
        return result
    }
}
