import NTPCore
import NIOConcurrencyHelpers

/// Where the node's served time comes from right now, turned into the RFC 5905 system variables that every
/// response carries: the time service's latest state when a source is selected (or in holdover), else a
/// `[local] stratum` setting, else nothing (unsynchronised: leap 3). Readers take a snapshot per batch.
public final class ServingState: Sendable {
    public enum Source: Sendable, Equatable {
        case unsynchronized
        /// Serve the node's own clock as synchronised at this stratum (chrony's `local stratum N`).
        case local(stratum: UInt8)
        /// Disciplined by a time source; `name` is the selected source (or the last one, in holdover).
        case disciplined(name: String, state: ServerState)
    }

    private let source: NIOLockedValueBox<Source>
    /// The `[local] stratum` fallback used while no source is selected.
    private let fallback: NIOLockedValueBox<UInt8?>
    public let precision: Int8

    public init(source: Source, precision: Int8) {
        self.source = NIOLockedValueBox(source)
        if case .local(let stratum) = source { fallback = NIOLockedValueBox(stratum) } else { fallback = NIOLockedValueBox(nil) }
        self.precision = precision
    }

    public var current: Source { source.withLockedValue { $0 } }

    /// Sets the `[local] stratum` fallback (configuration load and reload).
    public func setLocal(stratum: UInt8?) {
        fallback.withLockedValue { $0 = stratum }
        source.withLockedValue { current in
            if case .disciplined = current { return }
            current = stratum.map { .local(stratum: $0) } ?? .unsynchronized
        }
    }

    /// The time service publishes here: a state when synchronised (or holding over), nil when it is not.
    public func publish(name: String?, state: ServerState?) {
        let local = fallback.withLockedValue { $0 }
        source.withLockedValue { current in
            if let name, let state, state.isSynchronized {
                current = .disciplined(name: name, state: state)
            } else {
                current = local.map { .local(stratum: $0) } ?? .unsynchronized
            }
        }
    }

    public func set(_ newSource: Source) {
        source.withLockedValue { $0 = newSource }
    }

    /// The system variables at `now`.
    ///
    /// Read in place under the lock: copying the source out (a receive loop does this per batch) copied and
    /// released its name through value witnesses, about 250 instructions (callgrind, issue 18).
    public func snapshot(at now: NTPTimestamp) -> ServerState {
        let precision = precision
        return source.withLockedValue { source in
            switch source {
            case .unsynchronized:
                return .unsynchronized(precision: precision)
            case .local(let stratum):
                // The local clock is its own reference: the reference time is always now, so dispersion does not grow.
                return .local(stratum: stratum, precision: precision, referenceTime: now)
            case .disciplined(_, let state):
                return state
            }
        }
    }
}
