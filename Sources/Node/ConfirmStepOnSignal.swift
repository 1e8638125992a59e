import ServiceLifecycle
import UnixSignals

/// The operator's confirmation of a held first step or reference-clock jump: SIGUSR1 (what `fleetnode
/// confirm-step` sends), like `chronyc makestep` for chronyd. Only someone allowed to signal the node's
/// process can do it.
struct ConfirmStepOnSignal: Service {
    let action: @Sendable () -> Void

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigusr1)
        await cancelWhenGracefulShutdown {
            for await _ in signals { action() }
        }
    }
}
