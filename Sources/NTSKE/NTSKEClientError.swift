/// Why an NTS-KE client exchange failed (transport, ALPN, or a key export), for logs and the operator.
public struct NTSKEClientError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
