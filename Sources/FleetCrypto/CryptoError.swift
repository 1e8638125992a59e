/// Why a key could not be made. Sealing, MACs and randomness do not throw: once a key exists, sealing and
/// MACs cannot fail (Nettle computes them without allocating), randomness only if OpenSSL's CSPRNG fails,
/// and then it traps; opening returns nil for anything that is not authentic.
public enum CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The key has a length the algorithm does not take (the length is given).
    case invalidKeyLength(Int)
    /// The C layer could not make the key object (its message, e.g. out of memory).
    case keyRefused(String)

    public var description: String {
        switch self {
        case .invalidKeyLength(let length): "invalid key length \(length)"
        case .keyRefused(let message): "key refused: \(message)"
        }
    }
}
