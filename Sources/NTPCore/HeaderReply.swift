/// A response without trailer, to a request that is its header alone (no extension field, no MAC: a plain
/// client request), decided by ``NTPServerRules/respond(toHeader:rateLimit:receivedAt:state:earlier:)``.
///
/// The trivially copyable part of a ``ServerReply``: a receive loop keeps one per answer in arrays that
/// are emptied and refilled batch after batch, and elements with an array, an enum payload or a key in them
/// (`NTPPacket`, `ServerReply`) cost runtime calls for every copy and destroy (callgrind: about a fifth of
/// the node's instructions per plain answer).
public struct HeaderReply: Hashable, Sendable {
    public var header: NTPHeader
    public var kind: ServerReply.Kind
    /// Set when the request was in the interleaved form; see ``ServerReply/Interleaving``.
    public var interleaving: ServerReply.Interleaving?

    public init(header: NTPHeader, kind: ServerReply.Kind, interleaving: ServerReply.Interleaving? = nil) {
        self.header = header
        self.kind = kind
        self.interleaving = interleaving
    }

    /// The response carries an earlier response's transmit timestamp (interleaved mode), not its own.
    public var isInterleaved: Bool { interleaving?.earlierTransmit != nil }

    /// The same response as a ``ServerReply`` (trailer `.none`) to a request of `requestLength` bytes.
    public func reply(requestLength: Int = NTPHeader.length) -> ServerReply {
        ServerReply(header: header, trailer: .none, kind: kind, requestLength: requestLength, interleaving: interleaving)
    }

    /// Writes the 48 bytes with `transmit` as the transmit timestamp (in interleaved mode the earlier
    /// response's), its lowest bit cleared: what ``ServerReply/write(transmit:to:mac:)`` writes for a reply
    /// without trailer. Returns 48, or 0 (nothing written) when the buffer is shorter.
    public func write(transmit: NTPTimestamp, to buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count >= NTPHeader.length else { return 0 }
        var stamped = header
        stamped.transmitTimestamp = NTPTimestamp(rawValue: (interleaving?.earlierTransmit ?? transmit).rawValue & ~1)
        stamped.write(to: buffer)
        return NTPHeader.length
    }
}
