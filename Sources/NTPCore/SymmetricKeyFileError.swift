/// Why a key file (or a key) was refused: the 1-based line, when the problem is on one, and a message.
/// Messages never contain key material (nor words that could be key material on a malformed line).
public struct SymmetricKeyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line number in the parsed text, nil when not about a line (e.g. `SymmetricKey.init`).
    public var line: Int?
    public var message: String

    public init(line: Int? = nil, message: String) {
        self.line = line
        self.message = message
    }

    /// `line 3: message`, or the message alone.
    public var description: String {
        if let line { "line \(line): \(message)" } else { message }
    }
}
