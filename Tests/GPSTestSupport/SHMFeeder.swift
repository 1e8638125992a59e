// Test support: a reference clock written into an NTP shared-memory segment (as gpsd does), with an offset
// the test can change and a switch to stop it, so nodes get precise, controllable "GPS" time.
import CRefclock
import CRefclockTestSupport
import Foundation
import Synchronization

package final class SHMFeeder: Sendable {
    package let unit: Int
    private struct State: Sendable {
        var offsetNanoseconds: Int64 = 0
        var running = true
        var stopped = false
    }

    private let state = LockedBox(State())
    /// Signalled by the feeder thread as it exits: `stop()` detaches the segment only after the thread's
    /// last write (ThreadSanitizer reported the write racing with the detach when stop() only slept).
    private let finished = DispatchSemaphore(value: 0)
    // The segment is written only by the feeder thread and detached after it stopped.
    nonisolated(unsafe) private let segment: UnsafeMutableRawPointer

    package struct CreateError: Error, CustomStringConvertible {
        package var description: String
    }

    /// Creates unit `unit` (removing any stale segment first) and writes to it every 200 ms.
    package init(unit: Int, offsetNanoseconds: Int64 = 0) throws {
        _ = crt_shm_remove(Int32(unit))
        var error: Int32 = 0
        guard let segment = crt_shm_create(Int32(unit), &error) else {
            throw CreateError(description: "cannot create SHM unit \(unit): errno \(error)")
        }
        self.unit = unit
        self.segment = segment
        let state = self.state
        state.withLockedValue { $0.offsetNanoseconds = offsetNanoseconds }
        nonisolated(unsafe) let target = segment
        let finished = self.finished
        let thread = Thread {
            defer { finished.signal() }
            while true {
                let (offset, running, stopped) = state.withLockedValue { ($0.offsetNanoseconds, $0.running, $0.stopped) }
                if stopped { break }
                if running {
                    let now = crt_realtime_now()
                    let total = now.sec * 1_000_000_000 + Int64(now.nsec) + offset
                    let reference = crf_time(sec: total / 1_000_000_000, nsec: Int32(total % 1_000_000_000))
                    crt_shm_write(target, reference, now, 0, -20)
                }
                usleep(200_000)
            }
        }
        thread.start()
    }

    /// The reference clock's error: what it reports minus true (system) time.
    package func setOffset(nanoseconds: Int64) { state.withLockedValue { $0.offsetNanoseconds = nanoseconds } }

    /// Pause (a lost GPS) or resume writing.
    package func setRunning(_ running: Bool) { state.withLockedValue { $0.running = running } }

    /// Stops the feeder thread, waits for it to finish, then removes the segment. Idempotent.
    package func stop() {
        let first = state.withLockedValue { state in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        finished.wait()
        crf_shm_detach(segment)
        _ = crt_shm_remove(Int32(unit))
    }
}
