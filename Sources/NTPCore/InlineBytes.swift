/// Up to 96 bytes kept inside the value (a fixed tuple): no allocation, no reference count, copied as
/// plain memory. For the NTS packet path's per-request keys and unique identifier (`NTSRequest`): two
/// AES-SIV-CMAC-256 keys and a 32-byte identifier, as chrony sends. Small on purpose: the value is copied
/// with its reply several times per response (192 bytes measured no better than the three arrays).
struct InlineBytes: Sendable {
    static let capacity = 96
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    private(set) var count = 0

    init() {}

    /// The parts one after the other; nil when together they exceed `capacity`.
    init?(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, _ third: UnsafeRawBufferPointer) {
        let total = first.count + second.count + third.count
        guard total <= Self.capacity else { return nil }
        withUnsafeMutableBytes(of: &storage) { raw in
            guard let base = raw.baseAddress else { return }
            var offset = 0
            func append(_ part: UnsafeRawBufferPointer) {
                guard let source = part.baseAddress, !part.isEmpty else { return }
                (base + offset).copyMemory(from: source, byteCount: part.count)
                offset += part.count
            }
            append(first)
            append(second)
            append(third)
        }
        count = total
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        Swift.withUnsafeBytes(of: storage) { body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }
}
