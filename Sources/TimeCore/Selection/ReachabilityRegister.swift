/// The 8-bit reachability shift register of RFC 5905 §13 (`reach` in ntpq, the octal "Reach" column of
/// `chronyc sources`).
///
/// Why a register rather than a "last heard" time: it records the recent history at poll granularity, so one lost
/// reply costs nothing (the source stays reachable while any of the last eight polls was answered) and an operator
/// reads the loss pattern at a glance: 377 all answered, 376 the newest missing, 017 answering again after an outage.
///
/// Usage: call `poll()` each time a request is sent (or, for a reference clock, each time a poll interval passes),
/// then `received()` when a valid sample for that poll arrives. RFC 5905 §13 shifts on transmit and sets bit 0 on
/// receipt; chrony does the same.
public struct ReachabilityRegister: Hashable, Sendable, CustomStringConvertible {
    /// The register; bit 0 is the most recent poll.
    public private(set) var value: UInt8

    /// A register with the given history; 0 (never heard) by default.
    public init(value: UInt8 = 0) {
        self.value = value
    }

    /// A poll was sent (or a poll interval passed): shift the history left, the oldest bit falls off and the newest
    /// poll starts as unanswered.
    public mutating func poll() {
        value = value &<< 1
    }

    /// A valid sample arrived for the current poll: set bit 0. Idempotent within one poll.
    public mutating func received() {
        value |= 1
    }

    /// Forget the history (the source was reconfigured or its address changed).
    public mutating func reset() {
        value = 0
    }

    /// At least one of the last eight polls was answered (RFC 5905 §13: a source is unreachable only when the whole
    /// register is zero). Selection treats unreachable sources as unusable.
    public var isReachable: Bool { value != 0 }

    /// How many of the last eight polls were answered.
    public var answeredPolls: Int { value.nonzeroBitCount }

    /// The register in octal without leading zeros, exactly as `chronyc sources` prints it ("377", "17", "0").
    public var octal: String { String(value, radix: 8) }

    /// The octal form, so status tables interpolate it like chronyc.
    public var description: String { octal }
}
