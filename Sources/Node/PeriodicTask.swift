import ServiceLifecycle

/// Runs `action` every `interval` until graceful shutdown (certificate checks, key rotation).
struct PeriodicTask: Service {
    let interval: Duration
    let action: @Sendable () -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { break }
                action()
            }
        }
    }
}
