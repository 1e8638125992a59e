import CFleetTLS
import NodeModels

/// One TLS connection driven by its owner: bytes from the peer go in with `receive`, bytes for the peer come
/// out of `takeOutbound`. OpenSSL works on memory buffers only, so the owner (a SwiftNIO handler) keeps
/// control of the socket, deadlines and concurrency. Not thread-safe: confined to one event loop.
public final class TLSConnection {
    private let pointer: OpaquePointer
    public private(set) var handshakeComplete = false

    public init(context: TLSContext, isServer: Bool, serverName: String? = nil) throws(TLSError) {
        let (made, message) = Self.withMessageBuffer { cft_conn_new(context.pointer, isServer ? 1 : 0, serverName, $0, $1) }
        guard let made else { throw TLSError(message: message) }
        self.pointer = made
    }

    deinit { cft_conn_free(pointer) }

    /// What `receive` found.
    public enum Progress: Equatable {
        /// Nothing new for the application yet.
        case needMore
        /// The handshake finished during this call (application data may follow in later calls).
        case handshakeCompleted
        /// Decrypted application data.
        case data([UInt8])
        /// The peer closed the connection (close_notify).
        case closed
    }

    /// Hands bytes from the peer to TLS and advances the handshake or reads application data.
    public func receive(_ bytes: some Collection<UInt8>) throws(TLSError) -> Progress {
        // Fed in place when the bytes are contiguous (a ByteBuffer's view is): no copy into an Array.
        if bytes.withContiguousStorageIfAvailable({ feed($0) }) == nil { Array(bytes).withUnsafeBufferPointer { feed($0) } }
        if !handshakeComplete {
            let (rc, message) = Self.withMessageBuffer { cft_conn_handshake(pointer, $0, $1) }
            switch rc {
            case 1:
                handshakeComplete = true
                return .handshakeCompleted
            case 0:
                return .needMore
            default:
                throw TLSError(message: message)
            }
        }
        return try readApplicationData()
    }

    private func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        if !bytes.isEmpty { _ = cft_conn_feed(pointer, bytes.baseAddress, bytes.count) }
    }

    /// Application data already buffered by TLS (call after `.handshakeCompleted` and after each `.data`).
    public func readApplicationData() throws(TLSError) -> Progress {
        // Read into stack memory first: most calls find nothing (right after the handshake, after the last
        // record), and a record's plaintext is copied once into an array of its own size.
        let (n, bytes, message) = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.readChunk) { buffer in
            let (n, message) = Self.withMessageBuffer { cft_conn_read(pointer, buffer.baseAddress, buffer.count, $0, $1) }
            return (n, n > 0 ? Array(buffer[0..<Int(n)]) : [], message)
        }
        if n > 0 { return .data(bytes) }
        if n == 0 { return .needMore }
        if message.isEmpty { return .closed }
        throw TLSError(message: message)
    }

    /// Plaintext read per call: NTS-KE messages are small (a request is tens of bytes, a response with eight
    /// cookies about 1 KiB); a longer record is read in several calls. At most 1 KiB, so that Swift keeps
    /// the temporary buffer on the stack.
    private static let readChunk = 1024

    /// Runs `body` with an uninitialised stack buffer for an OpenSSL error message (only written on failure),
    /// its first byte zeroed; returns the result and the message ("" when none was written).
    private static func withMessageBuffer<R>(_ body: (UnsafeMutablePointer<CChar>, Int) -> R) -> (R, String) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { buffer in
            buffer[0] = 0
            let result = body(buffer.baseAddress!, buffer.count)
            buffer[buffer.count - 1] = 0
            return (result, buffer[0] == 0 ? "" : String(cString: buffer.baseAddress!))
        }
    }

    /// Encrypts application data for the peer (collect it with `takeOutbound`).
    public func send(_ bytes: [UInt8]) throws(TLSError) {
        var failure: TLSError?
        bytes.withUnsafeBytes { raw in
            do throws(TLSError) { try send(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Encrypts application data for the peer, read in place (a ByteBuffer's readable bytes).
    public func send(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        var offset = 0
        while offset < bytes.count {
            let (n, message) = Self.withMessageBuffer {
                cft_conn_write(pointer, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset, bytes.count - offset, $0, $1)
            }
            guard n > 0 else { throw TLSError(message: message) }
            offset += Int(n)
        }
    }

    /// Everything TLS wants sent to the peer now (handshake messages, records, alerts).
    public func takeOutbound() -> [UInt8] {
        let pending = pendingOutbound
        guard pending > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: pending) { buffer, count in
            count = takeOutbound(into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// How many bytes TLS has for the peer now.
    public var pendingOutbound: Int { cft_conn_pending(pointer) }

    /// Moves up to `buffer.count` bytes TLS has for the peer into `buffer` (a ByteBuffer's writable bytes,
    /// so that they are copied once); returns how many.
    public func takeOutbound(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard buffer.count > 0 else { return 0 }
        return Int(max(0, cft_conn_take(pointer, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), buffer.count)))
    }

    /// Queues close_notify.
    public func close() { cft_conn_shutdown(pointer) }

    public var version: String { String(cString: cft_conn_version(pointer)) }

    public var applicationProtocol: String? {
        var buffer = [CChar](repeating: 0, count: 64)
        return cft_conn_alpn(pointer, &buffer, buffer.count) > 0 ? String(nulTerminated: buffer) : nil
    }

    /// The certificates the peer sent, leaf first, DER-encoded (a fleet probe reads what a node really serves).
    public var peerCertificates: [[UInt8]] {
        var chain: [[UInt8]] = []
        while chain.count < 16 {
            let length = cft_conn_peer_certificate_der(pointer, Int32(chain.count), nil, 0)
            guard length > 0 else { break }
            var der = [UInt8](repeating: 0, count: Int(length))
            guard cft_conn_peer_certificate_der(pointer, Int32(chain.count), &der, der.count) == length else { break }
            chain.append(der)
        }
        return chain
    }

    /// RFC 5705 keying material with a context (RFC 8915 §5.1 uses label "EXPORTER-network-time-security").
    public func exportKeyingMaterial(label: String, context: [UInt8], length: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: length)
        let ok = context.withUnsafeBufferPointer { cft_conn_export(pointer, label, $0.baseAddress, $0.count, &out, length) }
        return ok == 1 ? out : nil
    }
}
