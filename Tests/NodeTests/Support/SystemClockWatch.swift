import Foundation
@testable import Node

/// Whether something outside the test moved this machine's system clock (CLOCK_REALTIME) against the bare
/// oscillator (CLOCK_MONOTONIC_RAW) while the test ran: tests never step or slew it, but the machine's own
/// time service may. A test that compares a node with chronyd serving the system clock then sees chronyd's
/// time move by the adjustment and the node (which follows its bare oscillator) lag behind it, and must say
/// so instead of blaming the node. Read only (two clock readings, no adjtimex modes).
struct SystemClockWatch {
    private let start = SoftwareClock.realtimeMinusRaw(tries: 5)

    /// CLOCK_REALTIME − CLOCK_MONOTONIC_RAW now minus at start, seconds (0 when nothing adjusted the clock:
    /// the two run at one rate here to well under 0.01 ppm).
    var adjustment: Double { Double(SoftwareClock.realtimeMinusRaw(tries: 5) - start) * 1e-9 }
}
