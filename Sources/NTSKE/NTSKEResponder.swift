import NTPCore

/// The server's half of one NTS-KE exchange, free of I/O (RFC 8915 §4): validate the request records, pick
/// the protocol and AEAD, export the two keys from the TLS session (§5.1), seal cookies, and return the
/// response records. The TLS session is reached only through `export`, so every rule here is a unit test.
public struct NTSKEResponder: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Keys exported and cookies sent.
        case keysEstablished(aead: UInt16, cookies: Int)
        /// A valid request with nothing in common: empty Next Protocol or AEAD record, no cookies.
        case noCommonAlgorithm
        /// An Error record was sent.
        case rejected(NTSKEError)
        /// The TLS exporter failed: Internal Server Error was sent.
        case exportFailed
    }

    public var policy: NTSKEServerPolicy
    public var ciphers: any AEADCipherFactory
    /// Seals `count` cookies for `keys` under the site's current master key: one call per session, so the
    /// master key and the randomness (an OpenSSL DRBG call costs several µs) are fetched once, not per cookie.
    public var sealCookies: @Sendable (NTSKeys, Int) -> [[UInt8]]

    public init(
        policy: NTSKEServerPolicy, ciphers: any AEADCipherFactory, sealCookies: @escaping @Sendable (NTSKeys, Int) -> [[UInt8]]
    ) {
        self.policy = policy
        self.ciphers = ciphers
        self.sealCookies = sealCookies
    }

    /// - Parameter export: RFC 5705 exporter of the TLS session: (context, length) -> keying material.
    public func respond(to records: [NTSKERecord], export: ([UInt8], Int) -> [UInt8]?) -> (records: [NTSKERecord], outcome: Outcome) {
        let request: NTSKERequest
        do {
            request = try NTSKERequest(parsing: records)
        } catch {
            return (NTSKENegotiation.errorRecords(error), .rejected(error))
        }
        let agreement = NTSKENegotiation.decide(request, policy: policy)
        guard case .ntpv4(let aead) = agreement else {
            return (NTSKENegotiation.responseRecords(agreement: agreement, policy: policy, cookies: []), .noCommonAlgorithm)
        }
        guard let length = ciphers.keyLength(of: aead),
              let c2s = export(NTSKEExporter.context(protocol: 0, aead: aead, serverToClient: false), length),
              let s2c = export(NTSKEExporter.context(protocol: 0, aead: aead, serverToClient: true), length)
        else {
            let failure = NTSKEError(code: .internalServerError, reason: "key export failed")
            return (NTSKENegotiation.errorRecords(failure), .exportFailed)
        }
        let keys = NTSKeys(algorithm: aead, clientToServer: c2s, serverToClient: s2c)
        let cookies = sealCookies(keys, policy.cookieCount)
        return (NTSKENegotiation.responseRecords(agreement: agreement, policy: policy, cookies: cookies),
                .keysEstablished(aead: aead, cookies: cookies.count))
    }
}

extension [NTSKERecord] {
    /// The records as one byte string, in order.
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        for record in self { record.write(into: &bytes) }
        return bytes
    }
}
