/// A client's NTS state between exchanges (RFC 8915 §5.7, §6): the keys from NTS-KE and the unused cookies.
/// Each request spends one cookie and asks, with placeholders, for enough fresh ones to refill the jar; a
/// client never reuses a cookie (that would let an observer link its requests). Empty jar or an NTS NAK:
/// run NTS-KE again.
public struct NTSCookieJar: Sendable, Equatable {
    public static let defaultCapacity = 8

    public private(set) var keys: NTSKeys
    public private(set) var cookies: [[UInt8]]
    public let capacity: Int

    public init(keys: NTSKeys, cookies: [[UInt8]], capacity: Int = NTSCookieJar.defaultCapacity) {
        self.keys = keys
        self.capacity = max(1, capacity)
        self.cookies = Array(cookies.suffix(self.capacity))
    }

    public var isEmpty: Bool { cookies.isEmpty }

    /// Takes the oldest cookie for the next request, with the number of placeholders that asks for a refill.
    public mutating func take() -> (cookie: [UInt8], placeholders: Int)? {
        guard !cookies.isEmpty else { return nil }
        let cookie = cookies.removeFirst()
        return (cookie, max(0, capacity - cookies.count - 1))
    }

    /// Keeps fresh cookies from a verified response (the newest `capacity`).
    public mutating func add(_ fresh: [[UInt8]]) {
        cookies.append(contentsOf: fresh)
        if cookies.count > capacity { cookies.removeFirst(cookies.count - capacity) }
    }
}
