/// `POST /v1/keys/symmetric/stage|activate|retire`: one step of a sibling key change (see the node's
/// `SiblingRegistry`). `siblings` names the siblings (source names, "192.0.2.12" or "192.0.2.12:1123"); nil
/// means all of them. To stage a key that is not in the node's key file, give its chrony type name and
/// secret (`type` + `hex`); the node keeps it in its state database. Key material is never echoed back.
public struct SymmetricKeyChangeRequest: AdminBody, CustomStringConvertible {
    public var id: UInt32
    public var siblings: [String]?
    /// chrony's type name (MD5, SHA1, SHA256, SHA384, SHA512, AES128, AES256), with `hex`.
    public var type: String?
    /// The secret in hex, with `type`.
    public var hex: String?

    public init(id: UInt32, siblings: [String]? = nil, type: String? = nil, hex: String? = nil) {
        self.id = id
        self.siblings = siblings
        self.type = type
        self.hex = hex
    }

    /// Never the secret.
    public var description: String {
        "SymmetricKeyChangeRequest(id: \(id), siblings: \(siblings ?? ["all"]), key: \(hex == nil ? "from the key file" : "given"))"
    }
}

/// The siblings' key sets after the operation (ids only).
public struct SymmetricKeyChangeResult: AdminBody {
    /// false when every named sibling was already in the requested state (a repeated request).
    public var changed: Bool
    public var siblings: [NodeStatus.Sibling]

    public init(changed: Bool, siblings: [NodeStatus.Sibling]) {
        self.changed = changed
        self.siblings = siblings
    }
}
