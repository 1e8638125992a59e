/// The two keys exported from the NTS-KE TLS session (RFC 8915 §5.1) and the AEAD they are for.
///
/// `description` never shows key material, so a value can be logged safely.
public struct NTSKeys: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The negotiated AEAD algorithm (IANA id; 15 = AEAD_AES_SIV_CMAC_256).
    public var algorithm: UInt16
    /// C2S: seals client requests.
    public var clientToServer: [UInt8]
    /// S2C: seals server responses.
    public var serverToClient: [UInt8]

    public init(algorithm: UInt16 = AEADAlgorithm.aesSIVCMAC256, clientToServer: [UInt8], serverToClient: [UInt8]) {
        self.algorithm = algorithm
        self.clientToServer = clientToServer
        self.serverToClient = serverToClient
    }

    public var description: String {
        "NTSKeys(algorithm: \(algorithm), c2s: \(clientToServer.count) bytes, s2c: \(serverToClient.count) bytes)"
    }

    public var debugDescription: String { description }
}
