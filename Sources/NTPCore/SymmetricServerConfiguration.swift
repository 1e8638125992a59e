/// The keys a server accepts on client requests authenticated with a MAC (RFC 5905 §7.5, RFC 8573), and the
/// MAC implementation. A request under one of these keys is answered with a MAC under the same key.
public struct SymmetricServerConfiguration: Sendable {
    public var keys: [UInt32: SymmetricKey]
    public var computer: any MACComputer
    /// Per-address key sets (the node's siblings): a request from one of these addresses is answered only
    /// under a key of its set, so a retired sibling key stops working for that sibling even while the key
    /// file still holds it. Other addresses may use any key in `keys` (what chrony does for every client).
    public var restrictions: [IPAddress: Set<UInt32>]

    public init(keys: [SymmetricKey], computer: any MACComputer, restrictions: [IPAddress: Set<UInt32>] = [:]) {
        var byID: [UInt32: SymmetricKey] = [:]
        for key in keys { byID[key.id] = key }
        self.keys = byID
        self.computer = computer
        self.restrictions = restrictions
    }

    /// The key to answer `keyID` from `client` under, or nil when that key is unknown or not accepted from it.
    public func key(_ keyID: UInt32, from client: IPAddress?) -> SymmetricKey? {
        if let client, let allowed = restrictions[client], !allowed.contains(keyID) { return nil }
        return keys[keyID]
    }
}
