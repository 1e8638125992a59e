import NodeModels
import NIOConcurrencyHelpers

/// Shared, lock-protected NTS-KE counters.
public final class NTSKEStatistics: Sendable {
    private let counters = NIOLockedValueBox(NTSKECounters())

    public init() {}

    public var snapshot: NTSKECounters { counters.withLockedValue { $0 } }

    func update(_ change: (inout NTSKECounters) -> Void) {
        counters.withLockedValue { change(&$0) }
    }
}
