import CRefclockTestSupport
import Foundation

/// The processes a test starts (nodes, scripts, peers), killed with their descendants if a sanitizer aborts
/// the test process. The abort bypasses every `defer`, `deinit` and XCTest teardown, so without this the
/// nodes kept running after the run (and held their ports). The sanitizer's death callback does it, just
/// before the abort; `make sanitize-*` also sweeps the scratch path's programs afterwards
/// (scripts/sanitizers/kill-orphans.sh). Not PR_SET_PDEATHSIG: that is tied to the thread that started the
/// child, here a Dispatch worker that exits when idle, and would kill nodes in the middle of a test.
enum ChildProcessReaper {
    /// After `process.run()`.
    static func track(_ process: Process) {
        _ = crt_reap_on_sanitizer_abort(process.processIdentifier)
    }

    /// After `process.waitUntilExit()` (the PID may then be reused).
    static func forget(_ process: Process) {
        crt_forget_child(process.processIdentifier)
    }
}
