import NTPCore
import Synchronization

/// Where the node's served time comes from right now, turned into the RFC 5905 system variables that every
/// response carries. Until time sources and discipline exist the choice is a `[local] stratum` setting or
/// nothing (unsynchronised: leap 3). Readers take a snapshot per batch of packets.
public final class ServingState: Sendable {
    public enum Source: Sendable, Equatable {
        case unsynchronized
        /// Serve the node's own clock as synchronised at this stratum (chrony's `local stratum N`).
        case local(stratum: UInt8)
    }

    private let source: Mutex<Source>
    public let precision: Int8

    public init(source: Source, precision: Int8) {
        self.source = Mutex(source)
        self.precision = precision
    }

    public var current: Source { source.withLock { $0 } }

    public func set(_ newSource: Source) {
        source.withLock { $0 = newSource }
    }

    /// The system variables at `now`.
    public func snapshot(at now: NTPTimestamp) -> ServerState {
        switch current {
        case .unsynchronized:
            return .unsynchronized(precision: precision)
        case .local(let stratum):
            // The local clock is its own reference: the reference time is always now, so dispersion does not grow.
            return .local(stratum: stratum, precision: precision, referenceTime: now)
        }
    }
}
