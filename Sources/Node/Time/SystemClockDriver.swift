import ConfigFile
import CFleetShim
import Logging
import NTPCore
import NIOConcurrencyHelpers
import TimeCore

/// `[clock] driver = "system"`: besides serving the software clock, steer the kernel clock onto it with
/// clock_adjtime so every program on the machine gets disciplined time (what chronyd and ntpd do). It needs
/// CAP_SYS_TIME and refuses to start without it; the default software driver never writes the kernel clock.
final class SystemClockDriver: Sendable {
    struct MissingCapability: Error, CustomStringConvertible {
        var description: String {
            "[clock] driver = \"system\" needs CAP_SYS_TIME to steer the kernel clock (run as root or grant it, e.g. AmbientCapabilities=CAP_SYS_TIME in the systemd unit); use driver = \"software\" to serve disciplined time without touching the system clock"
        }
    }

    private let steering: NIOLockedValueBox<KernelSteering>
    private let logger: Logger

    init(configuration: NodeConfig.Clock, logger: Logger) throws {
        guard cfs_has_cap_sys_time() == 1 else { throw MissingCapability() }
        // The kernel clock steps only during the first updates (chrony's `makestep 0.1 3`) unless told otherwise.
        steering = NIOLockedValueBox(KernelSteering(
            stepThreshold: configuration.stepThreshold, stepLimit: configuration.stepLimit < 0 ? 3 : configuration.stepLimit))
        self.logger = logger
    }

    /// Moves the kernel toward the served clock; called after each discipline update while synchronised.
    func steer(clock: SoftwareClock, leap: LeapIndicator, errorBound: Double) {
        let system = SoftwareClock.systemNow()
        let served = clock.served(fromSystem: system)
        let offset = Double(served.nanoseconds(since: system)) * 1e-9
        let plan = steering.withLockedValue { $0.plan(servedMinusSystem: offset, frequency: clock.model.frequency) }
        let leapBits: Int32 = switch leap {
        case .insertSecond: 1
        case .deleteSecond: 2
        default: 0
        }
        let errorMicroseconds = Int64(min(16, max(0, errorBound)) * 1e6)
        let result = cfs_kernel_clock_steer(
            plan.frequencyPPM, Int64(((plan.step ?? 0) * 1e9).rounded()), leapBits, errorMicroseconds, errorMicroseconds)
        if result < 0 {
            logger.error("cannot steer the kernel clock", metadata: ["errno": "\(-result)"])
        } else if let step = plan.step {
            logger.notice("kernel clock stepped", metadata: ["seconds": "\(step)"])
        }
    }
}
