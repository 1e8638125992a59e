import NodeModels
import Synchronization

/// Shared, lock-protected NTS-KE counters.
public final class NTSKEStatistics: Sendable {
    private let counters = Mutex(NTSKECounters())

    public init() {}

    public var snapshot: NTSKECounters { counters.withLock { $0 } }

    func update(_ change: (inout NTSKECounters) -> Void) {
        counters.withLock { change(&$0) }
    }
}
