import NTPCore

/// The server's half of one NTS-KE exchange, free of I/O (RFC 8915 §4): validate the request records, pick
/// the protocol and AEAD, export the two keys from the TLS session (§5.1), seal cookies (§4.1.6), and return
/// the response records with what came of it. The TLS session is reached only through `export` and the
/// randomness is passed in, so every rule here is a unit test (and a fuzz target).
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
    /// The site's cookie master keys, shared with the NTP server that opens the cookies (§6), and the AEAD
    /// implementation (key lengths, cookie sealing).
    public var cookieKeys: CookieKeyProvider

    public init(policy: NTSKEServerPolicy, cookieKeys: CookieKeyProvider) {
        self.policy = policy
        self.cookieKeys = cookieKeys
    }

    /// - Parameters:
    ///   - export: RFC 5705 exporter of the TLS session: (context, length) -> keying material.
    ///   - random: the cookies' nonces (the node passes a CSPRNG).
    public func respond(
        to records: [NTSKERecord], export: ([UInt8], Int) -> [UInt8]?, random: inout some RandomNumberGenerator
    ) -> (records: [NTSKERecord], outcome: Outcome) {
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
        guard let length = cookieKeys.ciphers.keyLength(of: aead),
              let c2s = export(NTSKEExporter.context(protocol: 0, aead: aead, serverToClient: false), length),
              let s2c = export(NTSKEExporter.context(protocol: 0, aead: aead, serverToClient: true), length)
        else {
            let failure = NTSKEError(code: .internalServerError, reason: "key export failed")
            return (NTSKENegotiation.errorRecords(failure), .exportFailed)
        }
        let keys = NTSKeys(algorithm: aead, clientToServer: c2s, serverToClient: s2c)
        let cookies = sealCookies(keys, count: policy.cookieCount, random: &random)
        return (NTSKENegotiation.responseRecords(agreement: agreement, policy: policy, cookies: cookies),
                .keysEstablished(aead: aead, cookies: cookies.count))
    }

    /// `count` cookies for `keys` under the current master key, read once per session (not per cookie). None
    /// before any key was published: the response then becomes Internal Server Error (§4.1.3, §4.1.6).
    private func sealCookies(_ keys: NTSKeys, count: Int, random: inout some RandomNumberGenerator) -> [[UInt8]] {
        guard let configuration = cookieKeys.current else { return [] }
        return (0..<max(0, count)).map { _ in configuration.sealCookie(keys, using: &random) }
    }
}
