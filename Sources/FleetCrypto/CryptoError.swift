/// Why a key could not be made. Sealing, MACs and randomness do not throw: once a key exists they can
/// only fail if OpenSSL itself fails (out of memory, a broken provider), and then they trap; opening
/// returns nil for anything that is not authentic.
public enum CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The key has a length the algorithm does not take (the length is given).
    case invalidKeyLength(Int)
    /// OpenSSL refused (its message, e.g. an algorithm missing from the loaded providers).
    case openSSL(String)

    public var description: String {
        switch self {
        case .invalidKeyLength(let length): "invalid key length \(length)"
        case .openSSL(let message): "OpenSSL: \(message)"
        }
    }
}
