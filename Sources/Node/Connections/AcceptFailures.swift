import Foundation
import NIOConcurrencyHelpers

/// The node's accepts that failed for want of descriptors or memory, over every listener: how many and when
/// the last one was, so status and health can say "descriptor limit reached" while it is, and stop saying it
/// once accepts get through again. Shared by the listeners' `AcceptBackoffCounter`s.
final class AcceptFailures: Sendable {
    private let state = NIOLockedValueBox<(count: UInt64, last: Double?)>((0, nil))

    func record(now: Double = Date().timeIntervalSince1970) {
        state.withLockedValue {
            $0.count += 1
            $0.last = now
        }
    }

    var count: UInt64 { state.withLockedValue { $0.count } }
    var last: Double? { state.withLockedValue { $0.last } }

    /// Descriptors open in this process now: the entries of /proc/self/fd (less the one reading it), or, when
    /// that cannot be opened because no descriptor is left, each one below the limit tried with F_GETFD.
    static func openDescriptors(limit: UInt64) -> Int {
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") { return max(0, entries.count - 1) }
        guard limit <= 65_536 else { return Int(clamping: limit) }
        return (0..<Int32(limit)).filter { fcntl($0, F_GETFD) != -1 }.count
    }
}
