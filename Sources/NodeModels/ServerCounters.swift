/// What the NTP server did with the datagrams it received. Every received datagram is either answered or
/// dropped for exactly one reason, so `received == answered + dropped.values.sum()` at any quiet moment.
public struct ServerCounters: Codable, Sendable, Equatable {
    public var received: UInt64 = 0
    /// Responses sent (including Kiss-o'-Death responses).
    public var answered: UInt64 = 0
    /// Of `answered`: Kiss-o'-Death RATE responses.
    public var kissOfDeath: UInt64 = 0
    /// Of `answered`: responses authenticated with a symmetric-key MAC (RFC 5905 §7.5, RFC 8573).
    public var symmetricAuthenticated: UInt64 = 0
    /// Of `answered`: NTS-authenticated responses (RFC 8915).
    public var ntsAuthenticated: UInt64 = 0
    /// Of `answered`: NTS NAKs (kiss code NTSN) for cookies that did not open.
    public var ntsNAK: UInt64 = 0
    /// Of `answered`: NTS NAKs for requests whose cookie opened but whose authenticator did not verify.
    public var ntsAuthenticationFailed: UInt64 = 0
    /// Dropped datagrams by reason (malformed, unsupportedVersion, controlQuery, unexpectedMode, denied, rateLimited, sendFailed).
    public var dropped: [String: UInt64] = [:]
    /// Received datagrams that carried a kernel receive timestamp.
    public var kernelTimestamps: UInt64 = 0
    /// Interleaved answers, kernel transmit timestamps and the delay distributions; nil from nodes that
    /// predate them.
    public var precision: ServerPrecision?

    public init() {}

    public var droppedTotal: UInt64 { dropped.values.reduce(0, +) }

    public mutating func add(_ other: ServerCounters) {
        received += other.received
        answered += other.answered
        kissOfDeath += other.kissOfDeath
        symmetricAuthenticated += other.symmetricAuthenticated
        ntsAuthenticated += other.ntsAuthenticated
        ntsNAK += other.ntsNAK
        ntsAuthenticationFailed += other.ntsAuthenticationFailed
        kernelTimestamps += other.kernelTimestamps
        // In place: a copy of `precision` added to and stored back would copy its histograms' bucket arrays
        // (two allocations) on every batch.
        if let theirs = other.precision {
            if precision == nil { precision = ServerPrecision() }
            precision!.add(theirs)
        }
        for (reason, count) in other.dropped { dropped[reason, default: 0] += count }
    }
}
