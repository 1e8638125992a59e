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
        /// RFC 5905 §7.5: a MAC of key id 0 and no digest tells the client its key was not accepted.
        case cryptoNAK
    }

    public var header: NTPHeader
    public var trailer: Trailer
    public var kind: Kind
    /// The request's length: a response is never larger than its request, so the server cannot amplify.
    public var requestLength: Int

    public init(header: NTPHeader, trailer: Trailer, kind: Kind, requestLength: Int) {
        self.header = header
        self.trailer = trailer
        self.kind = kind
        self.requestLength = requestLength
    }

    /// The number of bytes `write` produces.
    public var length: Int {
        switch trailer {
        case .none: return NTPHeader.length
        case .cryptoNAK: return NTPHeader.length + MAC.cryptoNAK.encodedLength
        }
    }

    /// Writes the response with `transmit` as its transmit timestamp. Returns the length written, or 0 (and
    /// writes nothing) when the buffer is too small or the response would be larger than the request.
    public func write(transmit: NTPTimestamp, to buffer: UnsafeMutableRawBufferPointer) -> Int {
        let length = self.length
        guard length <= requestLength, length <= buffer.count else { return 0 }
        var stamped = header
        stamped.transmitTimestamp = transmit
        stamped.write(to: buffer)
        if trailer == .cryptoNAK {
            // Key id 0, no digest.
            for i in NTPHeader.length..<length { buffer[i] = 0 }
        }
        return length
    }

    /// The response as bytes (tests, and callers outside the batched packet path).
    public func serialized(transmit: NTPTimestamp) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            count = write(transmit: transmit, to: UnsafeMutableRawBufferPointer(buffer))
        }
    }
}
