import NIOCore
import NIOEmbedded
import NTSKECore
import XCTest

@testable import NTSKE

/// The NIO decoder that frames decrypted NTS-KE bytes into one message (RFC 8915 §4), in a pipeline as the
/// server and client run it: whole messages in any chunking, and typed errors for what cannot be framed.
final class NTSKEMessageDecoderTests: XCTestCase {
    private let request: [NTSKERecord] = [.nextProtocol([0]), .aeadAlgorithms([15]), .server("ntp.example.net"), .endOfMessage()]

    private func channel(limit: Int = 1024) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(NTSKEMessageDecoder(maximumMessageLength: limit)))
        return channel
    }

    private func buffer(_ bytes: some Sequence<UInt8>) -> ByteBuffer { ByteBuffer(bytes: Array(bytes)) }

    func testOneMessageFromChunksOfEverySize() throws {
        let wire = request.encoded()
        for size in 1...wire.count {
            let channel = try channel()
            var offset = 0
            while offset < wire.count {
                let end = min(wire.count, offset + size)
                XCTAssertNil(try channel.readInbound(as: [NTSKERecord].self), "a message before End of Message (chunks of \(size))")
                try channel.writeInbound(buffer(wire[offset..<end]))
                offset = end
            }
            XCTAssertEqual(try channel.readInbound(as: [NTSKERecord].self), request, "chunks of \(size)")
            XCTAssertNil(try channel.readInbound(as: [NTSKERecord].self), "one message only")
            XCTAssertNoThrow(try channel.finish())
        }
    }

    func testARecordOverTheLimitIsRefusedFromItsHeader() throws {
        let channel = try channel(limit: 1024)
        // Only the header of a 2000-octet record: refused before its body arrives.
        let header = NTSKERecord(critical: false, type: 0x4322, body: [UInt8](repeating: 7, count: 2000)).encoded.prefix(4)
        try channel.writeInbound(buffer(NTSKERecord.nextProtocol([0]).encoded))
        XCTAssertThrowsError(try channel.writeInbound(buffer(header))) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .tooLong(6 + 2004))
        }
        XCTAssertNil(try channel.readInbound(as: [NTSKERecord].self))
        _ = try? channel.finish()
    }

    func testBytesAfterEndOfMessageInTheSameChunk() throws {
        let channel = try channel()
        XCTAssertThrowsError(try channel.writeInbound(buffer(request.encoded() + [0]))) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .trailingData)
        }
        XCTAssertNil(try channel.readInbound(as: [NTSKERecord].self), "no message when bytes follow End of Message")
        _ = try? channel.finish()
    }

    func testBytesAfterTheMessageInALaterChunk() throws {
        let channel = try channel()
        try channel.writeInbound(buffer(request.encoded()))
        XCTAssertEqual(try channel.readInbound(as: [NTSKERecord].self), request)
        XCTAssertThrowsError(try channel.writeInbound(buffer([0x80]))) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .trailingData)
        }
        _ = try? channel.finish()
    }

    func testTheStreamEndingBeforeEndOfMessage() throws {
        let channel = try channel()
        try channel.writeInbound(buffer([0x80, 0x01, 0x00, 0x10, 0x00]))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        XCTAssertThrowsError(try channel.throwIfErrorCaught()) { error in
            XCTAssertEqual(error as? NTSKEMessageError, .incomplete(5))
        }
        _ = try? channel.finish()
    }

    func testTheStreamEndingAfterTheMessageIsNoError() throws {
        let channel = try channel()
        try channel.writeInbound(buffer(request.encoded()))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        XCTAssertNoThrow(try channel.throwIfErrorCaught())
        XCTAssertEqual(try channel.readInbound(as: [NTSKERecord].self), request)
        XCTAssertNoThrow(try channel.finish())
    }
}
