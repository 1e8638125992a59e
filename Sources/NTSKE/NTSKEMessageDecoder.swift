import NIOCore
import NTSKECore

/// NTS-KE message framing as a SwiftNIO decoder (use it in a `ByteToMessageHandler` after ``NTSKETLSHandler``):
/// decrypted application bytes in, one complete message out, i.e. every record up to and including End of
/// Message (RFC 8915 §4, §4.1.1). Each side sends exactly one message, so it yields at most one.
///
/// The framing is ``NTSKEMessageReader``'s: it takes every byte NIO has gathered (so NIO's buffer never grows)
/// and holds at most the partial record itself, refusing a record whose header shows it would cross the size
/// limit before its body is buffered. Bad input is a typed ``NTSKEMessageError`` through `errorCaught`,
/// never a trap: ``NTSKEMessageError/tooLong(_:)``, ``NTSKEMessageError/trailingData`` (bytes after End of
/// Message), and ``NTSKEMessageError/incomplete(_:)`` when the stream ends (TLS close_notify or the
/// connection closing) before End of Message.
struct NTSKEMessageDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = [NTSKERecord]

    private var reader: NTSKEMessageReader

    /// - Parameter maximumMessageLength: the longest message accepted (a server's request limit, at least
    ///   1024 octets; a client's response limit, preferably 65536 or more; RFC 8915 §4).
    init(maximumMessageLength: Int) {
        reader = NTSKEMessageReader(maximumMessageLength: maximumMessageLength)
    }

    mutating func decode(buffer: inout ByteBuffer) throws -> [NTSKERecord]? {
        guard buffer.readableBytes > 0 else { return nil }
        let bytes = buffer.readableBytesView
        buffer.moveReaderIndex(forwardBy: bytes.count)
        return try reader.append(bytes)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> [NTSKERecord]? {
        if let message = try decode(buffer: &buffer) { return message }
        if seenEOF && !reader.isComplete {
            _ = try reader.finish()  // throws: .incomplete, or the error the reader already met
        }
        return nil
    }
}
