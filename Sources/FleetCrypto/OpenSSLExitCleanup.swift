import CFleetCrypto

/// Whether OpenSSL frees its global state at process exit (its `atexit` handler, `OPENSSL_cleanup`).
///
/// Our executables turn that off first thing in `main`. The cleanup runs while other threads are still
/// alive (SwiftNIO's event loops, the Dispatch workers that run Swift tasks on Linux): it unregisters every
/// thread's exit handler, so a thread that finishes after it (an idle Dispatch worker exits after 5 s)
/// leaves its OpenSSL state (error queue with its texts, DRBGs) unreachable. LeakSanitizer reported exactly
/// that once in a soak node (5,913 bytes in 22 OpenSSL allocations); a thread finishing during the cleanup
/// is the double free ASan saw at node shutdown. Without the cleanup, each thread's own destructor frees
/// its state whenever the thread finishes, and the global state stays referenced until the process is gone
/// (the kernel reclaims it; nothing is flushed by the cleanup that we rely on).
public enum OpenSSLExitCleanup {
    /// Initialises OpenSSL without the exit cleanup. Call before any other OpenSSL use: only the first
    /// initialisation of the process decides. Returns false when OpenSSL could not initialise.
    @discardableResult
    public static func disable() -> Bool {
        cfc_init_without_exit_cleanup() == 1
    }
}
