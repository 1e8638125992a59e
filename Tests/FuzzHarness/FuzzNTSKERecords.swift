import NTSKECore

/// One libFuzzer input: the decrypted byte stream of an NTS-KE message (RFC 8915 §4). Checks what the message
/// reader promises:
/// - framing never traps and fails only with an ``NTSKEMessageError`` (typed throws);
/// - a framed message ends with its only End of Message record (§4.1.1) and encodes back to the same bytes;
/// - the reader never holds more than its limit;
/// - the same bytes in chunks of any size frame to the same message, or fail the same way (the first byte
///   chooses the chunk sizes).
public func fuzzNTSKERecords(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: count))
    // A server's minimum (§4), so that inputs of a few KB reach the limit too.
    let limit = NTSKEConstants.minimumRequestLimit

    let whole = Result { () throws(NTSKEMessageError) in try NTSKEMessageReader.parse(bytes, maximumMessageLength: limit) }
    if case .success(let message) = whole {
        precondition(message.last?.type == NTSKERecordType.endOfMessage.rawValue, "a message not ending in End of Message")
        precondition(message.dropLast().allSatisfy { $0.type != NTSKERecordType.endOfMessage.rawValue }, "End of Message before the end")
        precondition(message.encoded() == bytes, "framing and encoding changed the bytes")
        precondition(bytes.count <= limit, "a message over the limit was accepted")
    }

    var reader = NTSKEMessageReader(maximumMessageLength: limit)
    let step = 1 + Int(bytes.first ?? 0) % 7
    var offset = 0
    var failure: NTSKEMessageError?
    while offset < bytes.count {
        let end = min(bytes.count, offset + step + offset % 3)
        do {
            _ = try reader.append(bytes[offset..<end])
        } catch {
            failure = error
            break
        }
        precondition(reader.bytesReceived <= limit, "the reader holds more than its limit")
        offset = end
    }
    let chunked = failure.map { Result<[NTSKERecord], NTSKEMessageError>.failure($0) }
        ?? Result { () throws(NTSKEMessageError) in try reader.finish() }
    switch (whole, chunked) {
    case (.success(let a), .success(let b)):
        precondition(a == b, "chunking changed the message")
    case (.failure(let a), .failure(let b)):
        precondition(a.kind == b.kind, "chunking changed the error: \(a) / \(b)")
    default:
        preconditionFailure("chunking changed the outcome: \(whole) / \(chunked)")
    }
    return 0
}

extension NTSKEMessageError {
    /// The case without its payload (the length a too-long message is known to need depends on the chunks).
    var kind: Int {
        switch self {
        case .tooLong: 0
        case .trailingData: 1
        case .incomplete: 2
        }
    }
}
