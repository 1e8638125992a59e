/// The keys a server accepts on client requests authenticated with a MAC (RFC 5905 §7.5, RFC 8573), and the
/// MAC implementation. A request under one of these keys is answered with a MAC under the same key.
public struct SymmetricServerConfiguration: Sendable {
    public var keys: [UInt32: SymmetricKey]
    public var computer: any MACComputer

    public init(keys: [SymmetricKey], computer: any MACComputer) {
        var byID: [UInt32: SymmetricKey] = [:]
        for key in keys { byID[key.id] = key }
        self.keys = byID
        self.computer = computer
    }
}
