import Dispatch
import NIOConcurrencyHelpers

/// Runs async work from synchronous code and waits for it: the load generators run on plain threads (one
/// per socket or client) and call the async NIO clients (NTS-KE for cookies) from there.
public func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = NIOLockedValueBox<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            let value = try await body()
            result.withLockedValue { $0 = .success(value) }
        } catch {
            result.withLockedValue { $0 = .failure(error) }
        }
        done.signal()
    }
    done.wait()
    // The task set the result before it signalled.
    return try result.withLockedValue { $0! }.get()
}
