/// One client/server exchange reduced to the RFC 5905 §8 statistics, plus what the server said about itself.
/// Times are in seconds; a positive offset means the server is ahead of the local clock.
public struct NTPMeasurement: Hashable, Sendable {
    /// θ = ((T2 − T1) + (T3 − T4)) / 2
    public var offset: Double
    /// δ = (T4 − T1) − (T3 − T2), never less than the combined precision.
    public var delay: Double
    /// ε = server precision + local precision + PHI × (T4 − T1)
    public var dispersion: Double
    public var leap: LeapIndicator
    public var stratum: UInt8
    public var poll: Int8
    public var precision: Int8
    public var rootDelay: Double
    public var rootDispersion: Double
    public var referenceID: ReferenceID
    public var referenceTime: NTPTimestamp
    /// The server's receive and transmit timestamps (T2, T3) as sent.
    public var serverReceive: NTPTimestamp
    public var serverTransmit: NTPTimestamp
    /// The answer was interleaved (RFC 9769 §2): the four timestamps are those of the previous exchange.
    public var interleaved = false
    /// For an interleaved answer, T4 of the exchange measured (the local receive time of the previous
    /// response), so the sample is filed at the time it was taken, not one poll later; nil: T4 is now.
    public var localReceive: NTPTimestamp? = nil

    /// RFC 5905 §11.2.1 root distance: the error bound of time taken from this server.
    public var rootDistance: Double {
        (rootDelay + delay) / 2 + rootDispersion + dispersion
    }
}
