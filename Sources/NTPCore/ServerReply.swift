/// A response decided by the server rules but not yet stamped: the transmit timestamp is written by the I/O
/// edge as late as possible, just before the datagram leaves (RFC 5905 §8: T3 should be taken at send time).
public struct ServerReply: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A normal time response.
        case time
        /// A Kiss-o'-Death (RFC 5905 §7.4) with the given kiss code, such as RATE.
        case kissOfDeath(ReferenceID)
    }

    /// What follows the header.
    public enum Trailer: Hashable, Sendable {
        case none
        /// RFC 5905 §7.5 / RFC 8573: a MAC under the request's key, computed over the final header.
        case symmetric(SymmetricKey)
        /// RFC 8915 §5.7: the Unique Identifier echoed, nothing authenticated (the header is a NTSN kiss).
        /// `authenticationFailed` tells a request whose cookie opened but whose authenticator did not verify.
        case ntsNAK(uniqueIdentifier: [UInt8], authenticationFailed: Bool)
        /// RFC 8915 §5.7: Unique Identifier and an authenticator sealing `cookies` fresh cookies with the
        /// request's S2C key. The cookies are sealed when the response is written, straight into the datagram.
        case nts(NTSRequest, cookies: Int)
    }

    /// Interleaved mode (RFC 9769 §2): the request named one of our earlier responses by its receive
    /// timestamp (its origin), so this response's timestamps are to be saved for the client's next request;
    /// when that earlier response's transmit timestamp was still kept, this response carries it.
    public struct Interleaving: Hashable, Sendable {
        /// The request's origin: the receive timestamp of the earlier response it names.
        public var earlierReceive: NTPTimestamp
        /// The earlier response's transmit timestamp (kernel's when it came back): the response is then
        /// interleaved and carries it as its transmit timestamp. nil: a basic response.
        public var earlierTransmit: NTPTimestamp?
        public var earlierSource: TransmitTimestampSource?

        public init(earlierReceive: NTPTimestamp, earlierTransmit: NTPTimestamp? = nil, earlierSource: TransmitTimestampSource? = nil) {
            self.earlierReceive = earlierReceive
            self.earlierTransmit = earlierTransmit
            self.earlierSource = earlierSource
        }
    }

    public var header: NTPHeader
    public var trailer: Trailer
    public var kind: Kind
    /// The request's length: a response is never larger than its request, so the server cannot amplify.
    public var requestLength: Int
    /// Set when the request was in the interleaved form; see ``Interleaving``.
    public var interleaving: Interleaving?

    public init(header: NTPHeader, trailer: Trailer, kind: Kind, requestLength: Int, interleaving: Interleaving? = nil) {
        self.header = header
        self.trailer = trailer
        self.kind = kind
        self.requestLength = requestLength
        self.interleaving = interleaving
    }

    /// The response carries an earlier response's transmit timestamp (interleaved mode), not its own.
    public var isInterleaved: Bool { interleaving?.earlierTransmit != nil }

    /// The number of bytes `write` produces.
    public var length: Int {
        switch trailer {
        case .none: return NTPHeader.length
        case .symmetric(let key):
            // In the request's version (echoed in the header): NTPv4 MACs truncated, NTPv1-3 full (chrony).
            let digest = header.version >= 4 ? key.type.macLength : min(key.type.fullMACLength, SymmetricKeyType.maximumMACLength)
            return NTPHeader.length + MAC.keyIDLength + digest
        case .ntsNAK(let uniqueIdentifier, _): return NTPHeader.length + NTSWire.fieldLength(bodyLength: uniqueIdentifier.count)
        case .nts(let request, let cookies): return NTSServer.responseLength(for: request, freshCookies: cookies)
        }
    }

    /// Writes the response with `transmit` as its transmit timestamp (in interleaved mode the earlier
    /// response's instead); an NTS response is sealed now, over the final header, with `nts`'s ciphers.
    /// The transmit timestamp's lowest bit is cleared, as chrony does: our receive timestamps have it set
    /// (see ``NTPServerRules/responseHeader(to:receivedAt:state:kind:interleaved:)``), so the two never
    /// compare equal. Returns the length written, or 0 (and writes nothing) when the buffer is too small, the
    /// response would be larger than the request, or NTS sealing is impossible.
    public func write(
        transmit: NTPTimestamp, to buffer: UnsafeMutableRawBufferPointer, nts: NTSServerConfiguration?,
        mac: (any MACComputer)? = nil, random: inout some RandomNumberGenerator
    ) -> Int {
        let length = self.length
        guard length <= requestLength, length <= buffer.count else { return 0 }
        var stamped = header
        stamped.transmitTimestamp = NTPTimestamp(rawValue: (interleaving?.earlierTransmit ?? transmit).rawValue & ~1)
        stamped.write(to: buffer)
        let trailerBytes: [UInt8]
        switch trailer {
        case .none:
            return length
        case .symmetric(let key):
            guard let mac else { return 0 }
            let trailer = SymmetricAuthentication.mac(
                for: UnsafeRawBufferPointer(rebasing: buffer[0..<NTPHeader.length]), key: key, version: header.version, computer: mac)
            var bytes: [UInt8] = []
            trailer.write(into: &bytes)
            trailerBytes = bytes
        case .ntsNAK(let uniqueIdentifier, _):
            trailerBytes = NTSServer.nakFields(uniqueIdentifier: uniqueIdentifier)
        case .nts(let request, let cookies):
            guard let nts else { return 0 }
            let written = NTSServer.writeResponseFields(
                into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]), request: request, cookieCount: cookies,
                configuration: nts, random: { NTSWire.writeRandom(into: $0, using: &random) }, ciphers: nil)
            return written == length ? length : 0
        }
        guard NTPHeader.length + trailerBytes.count == length else { return 0 }
        for (index, byte) in trailerBytes.enumerated() { buffer[NTPHeader.length + index] = byte }
        return length
    }

    /// `write` for an NTS response (trailer `.nts(request, cookies: cookies)`) whose request is kept apart
    /// from its header, as a receive loop keeps it (``NTPServerRules/respond(toNTS:request:rateLimit:receivedAt:state:earlier:keeping:)``).
    /// Writes the same bytes. `random` fills the nonces (not generic: called from another module, a generic
    /// would run unspecialised); the response is sealed with the S2C key's cipher from `ciphers`.
    public static func writeNTS(
        _ reply: HeaderReply, request: NTSRequest, cookies: Int, requestLength: Int, transmit: NTPTimestamp,
        to buffer: UnsafeMutableRawBufferPointer, nts: NTSServerConfiguration, random: (UnsafeMutableRawBufferPointer) -> Void,
        ciphers: NTSKeyCipherCache?
    ) -> Int {
        let length = NTSServer.responseLength(for: request, freshCookies: cookies)
        guard length <= requestLength, length <= buffer.count, reply.write(transmit: transmit, to: buffer) == NTPHeader.length else { return 0 }
        let written = NTSServer.writeResponseFields(
            into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]), request: request, cookieCount: cookies,
            configuration: nts, random: random, ciphers: ciphers)
        return written == length ? length : 0
    }

    /// `write` for responses that need no NTS sealing (symmetric-key and plain replies): no randomness is
    /// drawn for them.
    public func write(transmit: NTPTimestamp, to buffer: UnsafeMutableRawBufferPointer, mac: (any MACComputer)? = nil) -> Int {
        var unused = NoRandomness()
        return write(transmit: transmit, to: buffer, nts: NTSServerConfiguration?.none, mac: mac, random: &unused)
    }

    /// The response as bytes. An NTS response draws its nonces and cookies from `random`.
    public func serialized(
        transmit: NTPTimestamp, nts: NTSServerConfiguration?, mac: (any MACComputer)? = nil, using random: inout some RandomNumberGenerator
    ) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            count = write(transmit: transmit, to: UnsafeMutableRawBufferPointer(buffer), nts: nts, mac: mac, random: &random)
        }
    }

    /// The response as bytes, for replies without NTS.
    public func serialized(transmit: NTPTimestamp, mac: (any MACComputer)? = nil) -> [UInt8] {
        var unused = NoRandomness()
        return serialized(transmit: transmit, nts: nil, mac: mac, using: &unused)
    }
}

/// The generator passed where the response drawn needs none (no NTS): a plain or MAC reply never asks.
private struct NoRandomness: RandomNumberGenerator {
    mutating func next() -> UInt64 { 0 }
}
