import ConfigFile
import Foundation

extension ConfigLoader {
    /// Reads and parses the node's configuration file (`fleetnode run` and `check-config`); the parsing itself
    /// is `ConfigLoader.parse(text:file:)`, which does no I/O.
    public static func load(file: String) throws(ConfigError) -> NodeConfig {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw ConfigError(file: file, line: nil, key: nil, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(text: text, file: file)
    }
}
