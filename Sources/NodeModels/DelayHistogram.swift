/// A distribution of short delays in nanoseconds (transmit timestamp error, queueing delay): count, mean,
/// standard deviation and extremes exactly, percentiles from fixed buckets (1-2-5 steps from 250 ns to
/// 100 ms). A value type merged batch by batch; nothing is allocated per sample.
public struct DelayHistogram: Codable, Sendable, Equatable {
    /// Upper bounds of the buckets, nanoseconds; a last bucket holds everything above. Negative values go to
    /// the first bucket.
    public static let bounds: [Int64] = [
        0, 250, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000,
        1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000, 50_000_000, 100_000_000,
    ]

    public var count: UInt64 = 0
    public var sumNanoseconds: Double = 0
    public var sumSquares: Double = 0
    public var minimumNanoseconds: Int64 = 0
    public var maximumNanoseconds: Int64 = 0
    public var buckets: [UInt64] = [UInt64](repeating: 0, count: DelayHistogram.bounds.count + 1)

    public init() {}

    /// Inlinable: the receive loops record two samples per answer from another module.
    @inlinable
    public mutating func record(nanoseconds value: Int64) {
        if count == 0 || value < minimumNanoseconds { minimumNanoseconds = value }
        if count == 0 || value > maximumNanoseconds { maximumNanoseconds = value }
        count += 1
        let double = Double(value)
        sumNanoseconds += double
        sumSquares += double * double
        buckets[Self.bucket(of: value)] += 1
    }

    /// The index of the bucket holding `value`: the first whose bound is at least `value`, the last for
    /// values above every bound. By comparisons, without walking `bounds` (twice per answer on the packet
    /// path); DelayHistogramTests checks that the two agree.
    @inlinable
    public static func bucket(of value: Int64) -> Int {
        switch value {
        case ...0: return 0
        case ...250: return 1
        case ...500: return 2
        case ...1_000: return 3
        case ...2_000: return 4
        case ...5_000: return 5
        case ...10_000: return 6
        case ...20_000: return 7
        case ...50_000: return 8
        case ...100_000: return 9
        case ...200_000: return 10
        case ...500_000: return 11
        case ...1_000_000: return 12
        case ...2_000_000: return 13
        case ...5_000_000: return 14
        case ...10_000_000: return 15
        case ...20_000_000: return 16
        case ...50_000_000: return 17
        case ...100_000_000: return 18
        default: return 19
        }
    }

    public mutating func add(_ other: DelayHistogram) {
        guard other.count > 0 else { return }
        if count == 0 || other.minimumNanoseconds < minimumNanoseconds { minimumNanoseconds = other.minimumNanoseconds }
        if count == 0 || other.maximumNanoseconds > maximumNanoseconds { maximumNanoseconds = other.maximumNanoseconds }
        count += other.count
        sumNanoseconds += other.sumNanoseconds
        sumSquares += other.sumSquares
        // Through buffer pointers: the subscripts checked uniqueness and bounds per bucket (a receive loop's
        // batch is added twice per batch, about 300 instructions each).
        let shared = min(buckets.count, other.buckets.count)
        other.buckets.withUnsafeBufferPointer { theirs in
            buckets.withUnsafeMutableBufferPointer { mine in
                // Wrapping adds: counts of UInt64 do not overflow, and the checks were a third of the loop.
                for index in 0..<shared { mine[index] &+= theirs[index] }
            }
        }
    }

    /// Empties the histogram in place (no allocation: receive loops reuse one per batch).
    public mutating func reset() {
        count = 0
        sumNanoseconds = 0
        sumSquares = 0
        minimumNanoseconds = 0
        maximumNanoseconds = 0
        buckets.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    public var meanNanoseconds: Double { count == 0 ? 0 : sumNanoseconds / Double(count) }

    public var standardDeviationNanoseconds: Double {
        guard count > 1 else { return 0 }
        let mean = meanNanoseconds
        return (max(0, sumSquares / Double(count) - mean * mean)).squareRoot()
    }

    /// The upper bound of the bucket holding the `fraction` quantile (0.99: p99), capped at the maximum seen.
    public func quantileNanoseconds(_ fraction: Double) -> Int64 {
        guard count > 0 else { return 0 }
        let rank = UInt64((Double(count) * fraction).rounded(.up))
        var seen: UInt64 = 0
        for (index, bucketCount) in buckets.enumerated() {
            seen += bucketCount
            if seen >= rank { return index < Self.bounds.count ? min(Self.bounds[index], maximumNanoseconds) : maximumNanoseconds }
        }
        return maximumNanoseconds
    }
}

/// How precisely the server stamps its answers (status `ntp.precision`).
public struct ServerPrecision: Codable, Sendable, Equatable {
    /// Answers sent in interleaved mode (RFC 9769 §2: carrying the kernel transmit timestamp of the client's
    /// previous answer).
    public var interleaved: UInt64 = 0
    /// Kernel transmit timestamps read back from the error queue and matched to their answers.
    public var kernelTransmitTimestamps: UInt64 = 0
    /// Kernel transmit timestamp minus the transmit timestamp the daemon wrote (basic-mode T3), per answer.
    public var transmitTimestampError = DelayHistogram()
    /// From the kernel receive timestamp to the daemon's transmit timestamp, per answer.
    public var queueingDelay = DelayHistogram()

    public init() {}

    public mutating func reset() {
        interleaved = 0
        kernelTransmitTimestamps = 0
        transmitTimestampError.reset()
        queueingDelay.reset()
    }

    public var isEmpty: Bool {
        interleaved == 0 && kernelTransmitTimestamps == 0 && transmitTimestampError.count == 0 && queueingDelay.count == 0
    }

    public mutating func add(_ other: ServerPrecision) {
        interleaved += other.interleaved
        kernelTransmitTimestamps += other.kernelTransmitTimestamps
        transmitTimestampError.add(other.transmitTimestampError)
        queueingDelay.add(other.queueingDelay)
    }
}
