import CFleetTLS
import NodeModels

/// One TLS connection driven by its owner: bytes from the peer go in with `receive`, bytes for the peer come
/// out of `takeOutbound`. OpenSSL works on memory buffers only, so the owner (a SwiftNIO handler) keeps
/// control of the socket, deadlines and concurrency. Not thread-safe: confined to one event loop.
public final class TLSConnection {
    private let pointer: OpaquePointer
    public private(set) var handshakeComplete = false

    public init(context: TLSContext, isServer: Bool, serverName: String? = nil) throws(TLSError) {
        var message = [CChar](repeating: 0, count: 512)
        guard let pointer = cft_conn_new(context.pointer, isServer ? 1 : 0, serverName, &message, message.count) else {
            throw TLSError(message: String(nulTerminated: message))
        }
        self.pointer = pointer
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
        let fed = Array(bytes)
        if !fed.isEmpty { _ = fed.withUnsafeBufferPointer { cft_conn_feed(pointer, $0.baseAddress, $0.count) } }
        var message = [CChar](repeating: 0, count: 512)
        if !handshakeComplete {
            switch cft_conn_handshake(pointer, &message, message.count) {
            case 1:
                handshakeComplete = true
                return .handshakeCompleted
            case 0:
                return .needMore
            default:
                throw TLSError(message: String(nulTerminated: message))
            }
        }
        return try readApplicationData()
    }

    /// Application data already buffered by TLS (call after `.handshakeCompleted` and after each `.data`).
    public func readApplicationData() throws(TLSError) -> Progress {
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var message = [CChar](repeating: 0, count: 512)
        let n = cft_conn_read(pointer, &buffer, buffer.count, &message, message.count)
        if n > 0 { return .data(Array(buffer[0..<Int(n)])) }
        if n == 0 { return .needMore }
        if message[0] == 0 { return .closed }
        throw TLSError(message: String(nulTerminated: message))
    }

    /// Encrypts application data for the peer (collect it with `takeOutbound`).
    public func send(_ bytes: [UInt8]) throws(TLSError) {
        var message = [CChar](repeating: 0, count: 512)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBufferPointer { cft_conn_write(pointer, $0.baseAddress, $0.count, &message, message.count) }
            guard n > 0 else { throw TLSError(message: String(nulTerminated: message)) }
            offset += Int(n)
        }
    }

    /// Everything TLS wants sent to the peer now (handshake messages, records, alerts).
    public func takeOutbound() -> [UInt8] {
        let pending = cft_conn_pending(pointer)
        guard pending > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: pending)
        let n = cft_conn_take(pointer, &buffer, buffer.count)
        return Array(buffer[0..<Int(max(0, n))])
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
