import CFleetCrypto

/// The per-thread state OpenSSL keeps for a thread that used libcrypto (its error queue, the DRBGs behind
/// `SecureRandom` and `SecureRandomGenerator`).
///
/// A thread the process starts itself (the NTP receive threads) releases it as its last step, before it
/// tells anyone it has finished: left to OpenSSL's thread-exit destructor, the release could run at the
/// same time as OpenSSL's own cleanup at exit (AddressSanitizer saw the two free the same state twice when
/// a node shut down), in any process that has not turned that cleanup off (the test process). Our
/// executables turn it off (`OpenSSLExitCleanup`), which also covers the threads we do not own (SwiftNIO's
/// event loops, the Dispatch workers running Swift tasks) and cannot release theirs this way.
public enum OpenSSLThreadState {
    /// Frees the calling thread's OpenSSL state (OPENSSL_thread_stop). Harmless without any; if the thread
    /// uses libcrypto again, OpenSSL makes the state anew.
    public static func release() {
        cfc_thread_stop()
    }
}
