/// An authenticated NTS request: what the server needs to answer it.
///
/// The two keys and the unique identifier are kept inline (`InlineBytes`, no allocation) when they fit, as
/// they do for an AEAD_AES_SIV_CMAC_256 request with a 32-byte unique identifier (chrony's): the packet
/// path makes one of these per NTS response and copies it with its reply, where three arrays cost an
/// allocation, a copy and a release each (issue 18, callgrind). Longer ones live in one array.
public struct NTSRequest: Sendable, Hashable, CustomStringConvertible {
    /// The AEAD of the keys (IANA id).
    public let algorithm: UInt16
    /// The length of one key (both have it).
    let keyByteCount: Int
    let uniqueIdentifierByteCount: Int
    /// C2S || S2C || unique identifier.
    private let inline: InlineBytes
    /// The same when it does not fit inline; nil otherwise.
    private let spilled: [UInt8]?
    /// The body length of the cookie received (padding included, as on the wire).
    public var cookieLength: Int
    /// 1 for the cookie spent plus one per placeholder, clear or encrypted (RFC 8915 §5.5, §5.7).
    public var cookiesRequested: Int

    public init(keys: NTSKeys, uniqueIdentifier: [UInt8], cookieLength: Int, cookiesRequested: Int) {
        // Two keys of different lengths cannot come from NTS-KE; they are kept, truncated to the shorter.
        let length = min(keys.clientToServer.count, keys.serverToClient.count)
        self = keys.clientToServer.withUnsafeBytes { c2s in
            keys.serverToClient.withUnsafeBytes { s2c in
                uniqueIdentifier.withUnsafeBytes { identifier in
                    NTSRequest(
                        algorithm: keys.algorithm, clientToServer: UnsafeRawBufferPointer(rebasing: c2s[0..<length]),
                        serverToClient: UnsafeRawBufferPointer(rebasing: s2c[0..<length]), uniqueIdentifier: identifier,
                        cookieLength: cookieLength, cookiesRequested: cookiesRequested)
                }
            }
        }
    }

    /// No keys and no identifier: a slot that `NTSServer.check(request:header:configuration:into:)` fills (a
    /// receive loop keeps one per datagram of its batch, reused batch after batch). Answers nothing by itself.
    public init() {
        algorithm = 0
        keyByteCount = 0
        uniqueIdentifierByteCount = 0
        inline = InlineBytes()
        spilled = nil
        cookieLength = 0
        cookiesRequested = 0
    }

    /// From bytes where they lie (the opened cookie, the request): copied once, inline when they fit.
    /// `clientToServer` and `serverToClient` have the same length.
    init(
        algorithm: UInt16, clientToServer: UnsafeRawBufferPointer, serverToClient: UnsafeRawBufferPointer,
        uniqueIdentifier: UnsafeRawBufferPointer, cookieLength: Int, cookiesRequested: Int
    ) {
        self.algorithm = algorithm
        keyByteCount = clientToServer.count
        uniqueIdentifierByteCount = uniqueIdentifier.count
        self.cookieLength = cookieLength
        self.cookiesRequested = cookiesRequested
        if let inline = InlineBytes(clientToServer, serverToClient, uniqueIdentifier) {
            self.inline = inline
            spilled = nil
        } else {
            inline = InlineBytes()
            spilled = Array(clientToServer) + Array(serverToClient) + Array(uniqueIdentifier)
        }
    }

    /// The keys and the unique identifier where they are kept, for the packet path.
    func withBytes<R>(
        _ body: (_ clientToServer: UnsafeRawBufferPointer, _ serverToClient: UnsafeRawBufferPointer, _ uniqueIdentifier: UnsafeRawBufferPointer) -> R
    ) -> R {
        let split = { (all: UnsafeRawBufferPointer) -> R in
            body(UnsafeRawBufferPointer(rebasing: all[0..<keyByteCount]),
                 UnsafeRawBufferPointer(rebasing: all[keyByteCount..<(2 * keyByteCount)]),
                 UnsafeRawBufferPointer(rebasing: all[(2 * keyByteCount)..<(2 * keyByteCount + uniqueIdentifierByteCount)]))
        }
        if let spilled { return spilled.withUnsafeBytes(split) }
        return inline.withUnsafeBytes(split)
    }

    /// From the cookie: C2S verified the request, S2C seals the response.
    public var keys: NTSKeys {
        withBytes { c2s, s2c, _ in NTSKeys(algorithm: algorithm, clientToServer: Array(c2s), serverToClient: Array(s2c)) }
    }

    /// Echoed in the response (RFC 8915 §5.3).
    public var uniqueIdentifier: [UInt8] { withBytes { _, _, identifier in Array(identifier) } }

    public static func == (a: NTSRequest, b: NTSRequest) -> Bool {
        a.algorithm == b.algorithm && a.cookieLength == b.cookieLength && a.cookiesRequested == b.cookiesRequested
            && a.keys == b.keys && a.uniqueIdentifier == b.uniqueIdentifier
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(keys)
        hasher.combine(uniqueIdentifier)
        hasher.combine(cookieLength)
        hasher.combine(cookiesRequested)
    }

    /// Without key material (as `NTSKeys`), so a value can be logged safely.
    public var description: String {
        "NTSRequest(keys: \(keys), uniqueIdentifier: \(uniqueIdentifierByteCount) bytes, cookieLength: \(cookieLength), cookiesRequested: \(cookiesRequested))"
    }
}
