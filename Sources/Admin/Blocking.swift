import Dispatch

/// Runs a blocking call (a UDP exchange that waits in `poll`) on a Dispatch worker instead of the
/// cooperative pool, which on a 2-core admin host has two threads: fifty nodes probed at once must not
/// queue behind two sockets waiting for an answer.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}
