/// `PUT /v1/certificates/nts`: a new NTS-KE certificate chain (PEM, leaf first) and its private key (PEM).
/// Checked before anything changes: PEM parses, the chain links up, the key matches the leaf, the leaf is
/// valid now, and its SANs cover `requiredNames` (default: the names the certificate in service covers,
/// so clients that verify today keep verifying).
public struct CertificateInstallRequest: AdminBody, CustomStringConvertible {
    public var certificateChain: String
    public var privateKey: String
    public var requiredNames: [String]?

    public init(certificateChain: String, privateKey: String, requiredNames: [String]? = nil) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.requiredNames = requiredNames
    }

    /// Never the key.
    public var description: String { "CertificateInstallRequest(chain: \(certificateChain.utf8.count) bytes, requiredNames: \(requiredNames ?? []))" }
}

public struct CertificateInstallResult: AdminBody {
    /// false when this certificate and key were already in service (a repeated request).
    public var changed: Bool
    public var certificate: CertificateDetails
    public init(changed: Bool, certificate: CertificateDetails) {
        self.changed = changed
        self.certificate = certificate
    }
}

/// `POST /v1/keys/cookie/stage`: add master key `id` as staged (opens cookies, seals none). `key` (64 hex
/// digits) is the site's key, the same on every node, so a cookie from one node opens on another; without
/// it the node draws one (a single-node site). Repeating the request changes nothing; the same id with a
/// different key is a conflict.
public struct CookieKeyStageRequest: AdminBody, CustomStringConvertible {
    public var id: UInt32
    public var key: String?
    /// Unix seconds; default: now.
    public var createdAt: Int64?

    public init(id: UInt32, key: String? = nil, createdAt: Int64? = nil) {
        self.id = id
        self.key = key
        self.createdAt = createdAt
    }

    /// Never the key.
    public var description: String { "CookieKeyStageRequest(id: \(id), key: \(key == nil ? "drawn by the node" : "given"))" }
}

/// `POST /v1/keys/cookie/activate` (a staged key starts sealing; the current one becomes previous) and
/// `POST /v1/keys/cookie/retire` (a staged or previous key is removed; the current key cannot be).
public struct CookieKeyRequest: AdminBody {
    public var id: UInt32
    public init(id: UInt32) { self.id = id }
}

public struct CookieKeyResult: AdminBody {
    /// false when the keys were already in the requested state (a repeated request).
    public var changed: Bool
    public var keys: [CookieKeyInfo]
    public init(changed: Bool, keys: [CookieKeyInfo]) {
        self.changed = changed
        self.keys = keys
    }
}

/// `POST /v1/config/reload`: the configuration was read again and applied, as on SIGHUP.
public struct ConfigReloadResult: AdminBody {
    /// Reloads since start, this one included.
    public var reloads: Int
    public init(reloads: Int) { self.reloads = reloads }
}
