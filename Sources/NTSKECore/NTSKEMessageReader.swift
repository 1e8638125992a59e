/// Frames one NTS-KE message arriving over a TLS stream in chunks of any size into records.
///
/// Append bytes as they are read; the reader answers nil until the End of Message record (type 0,
/// §4.1.1) has arrived, then the whole message, End of Message included. It checks framing only:
/// whether End of Message is well-formed (critical, empty) and what the other records mean is up to
/// ``NTSKERequest/init(parsing:)`` and ``NTSKEResponse/init(parsing:offered:offeredProtocols:recognizedWarnings:)``.
///
/// It never traps on any input and never holds more than `maximumMessageLength` octets: it learns
/// each record's length from its header and refuses the message (``NTSKEMessageError/tooLong(_:)``)
/// before buffering a body that would cross the limit. Errors are sticky: once `append` has thrown,
/// it throws the same error again.
public struct NTSKEMessageReader: Sendable {
    private enum State: Hashable, Sendable {
        case reading
        case complete
        case failed(NTSKEMessageError)
    }

    /// The longest message accepted, in octets (headers included).
    public let maximumMessageLength: Int

    private var state = State.reading
    /// The partial record being assembled (header, then body).
    private var pending: [UInt8] = []
    private var records: [NTSKERecord] = []
    /// Octets of the records completed so far.
    private var completedLength = 0

    /// - Parameter maximumMessageLength: the limit, at least 1024 on a server (§4) and preferably
    ///   65536 or more on a client. Negative values count as 0 (every message is too long).
    public init(maximumMessageLength: Int = 16_384) {
        self.maximumMessageLength = max(0, maximumMessageLength)
    }

    /// Octets taken in so far (never more than ``maximumMessageLength``).
    public var bytesReceived: Int { completedLength + pending.count }

    /// Whether End of Message has arrived.
    public var isComplete: Bool { state == .complete }

    /// The whole message once End of Message has arrived, else nil.
    public var message: [NTSKERecord]? { state == .complete ? records : nil }

    /// Takes the next bytes of the stream.
    ///
    /// - Returns: nil while End of Message has not arrived; the whole message (every record up to
    ///   and including End of Message) once it has. After completion, appending nothing returns the
    ///   message again.
    /// - Throws: ``NTSKEMessageError/tooLong(_:)`` when the message would exceed the limit,
    ///   ``NTSKEMessageError/trailingData`` when any byte follows End of Message (in the same chunk
    ///   or a later one).
    public mutating func append<C: Collection<UInt8>>(_ bytes: C) throws(NTSKEMessageError) -> [NTSKERecord]? {
        switch state {
        case .failed(let error):
            throw error
        case .complete:
            if bytes.isEmpty { return records }
            return try fail(.trailingData)
        case .reading:
            break
        }

        var index = bytes.startIndex
        while index != bytes.endIndex {
            if pending.count < NTSKERecord.headerLength {
                take(NTSKERecord.headerLength - pending.count, from: bytes, at: &index)
                if completedLength + pending.count > maximumMessageLength {
                    return try fail(.tooLong(completedLength + pending.count))
                }
                if pending.count < NTSKERecord.headerLength { break }
            }

            let bodyLength = Int(pending[2]) << 8 | Int(pending[3])
            let recordLength = NTSKERecord.headerLength + bodyLength
            if completedLength + recordLength > maximumMessageLength {
                return try fail(.tooLong(completedLength + recordLength))
            }
            if pending.count < recordLength {
                take(recordLength - pending.count, from: bytes, at: &index)
                if pending.count < recordLength { break }
            }

            let head = UInt16(pending[0]) << 8 | UInt16(pending[1])
            let record = NTSKERecord(
                critical: head & 0x8000 != 0,
                type: head & NTSKERecord.maximumType,
                body: Array(pending[NTSKERecord.headerLength...])
            )
            records.append(record)
            completedLength += recordLength
            pending.removeAll(keepingCapacity: true)

            if record.type == NTSKERecordType.endOfMessage.rawValue {
                if index != bytes.endIndex { return try fail(.trailingData) }
                state = .complete
                return records
            }
        }
        return nil
    }

    /// Call when the stream has ended (the peer's close_notify or EOF).
    ///
    /// - Returns: the message, if End of Message had arrived.
    /// - Throws: ``NTSKEMessageError/incomplete(_:)`` if it had not (a truncated header or body
    ///   included), or the error `append` already threw.
    public mutating func finish() throws(NTSKEMessageError) -> [NTSKERecord] {
        switch state {
        case .complete: return records
        case .failed(let error): throw error
        case .reading: return try fail(.incomplete(bytesReceived))
        }
    }

    /// Frames a whole message held in one buffer: exactly one message, nothing after its End of Message.
    public static func parse(
        _ bytes: some Collection<UInt8>,
        maximumMessageLength: Int = NTSKEConstants.recommendedResponseLimit
    ) throws(NTSKEMessageError) -> [NTSKERecord] {
        var reader = NTSKEMessageReader(maximumMessageLength: maximumMessageLength)
        if let message = try reader.append(bytes) { return message }
        return try reader.finish()
    }

    /// Moves up to `count` bytes from `bytes[index...]` into `pending`, advancing `index`.
    private mutating func take<C: Collection<UInt8>>(_ count: Int, from bytes: C, at index: inout C.Index) {
        let end = bytes.index(index, offsetBy: count, limitedBy: bytes.endIndex) ?? bytes.endIndex
        pending.append(contentsOf: bytes[index..<end])
        index = end
    }

    private mutating func fail<T>(_ error: NTSKEMessageError) throws(NTSKEMessageError) -> T {
        state = .failed(error)
        pending = []
        throw error
    }
}
