// Test support: deadlines for async tests, and a recorder that drains an AsyncStream in the background so
// tests can wait for an event with a timeout instead of blocking on `next()` forever.
import Foundation
import NIOConcurrencyHelpers

/// Polls `condition` every `interval` until it holds or `timeout` passes. Returns whether it held.
package func waitUntil(
    timeout: Duration, interval: Duration = .milliseconds(50), _ condition: () throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}

/// Collects the elements of an AsyncStream as they arrive, with the instant each one came.
package final class StreamRecorder<Element: Sendable>: Sendable {
    private let recorded = LockedBox<[Timed]>([])
    private let finishedFlag = LockedBox(false)
    private let task = LockedBox<Task<Void, Never>?>(nil)

    package struct Timed: Sendable {
        package let element: Element
        package let instant: ContinuousClock.Instant
    }

    package init(_ stream: AsyncStream<Element>) {
        let recorded = self.recorded
        let finishedFlag = self.finishedFlag
        let consumer = Task {
            for await element in stream {
                recorded.withLockedValue { $0.append(Timed(element: element, instant: .now)) }
            }
            finishedFlag.value = true
        }
        task.value = consumer
    }

    package var elements: [Element] { recorded.value.map(\.element) }
    package var timedElements: [Timed] { recorded.value }
    /// True once the stream has finished.
    package var finished: Bool { finishedFlag.value }

    /// Waits until an element after index `after` satisfies `predicate`; returns it or nil on timeout.
    package func first(after index: Int = 0, timeout: Duration, where predicate: (Element) -> Bool) async -> Element? {
        var found: Element?
        _ = await waitUntil(timeout: timeout) {
            let all = elements
            if index < all.count, let match = all[index...].first(where: predicate) {
                found = match
                return true
            }
            return false
        }
        return found
    }

    /// Cancels the consuming task (which terminates the stream for its producer).
    package func cancel() {
        task.value?.cancel()
    }
}

/// A value behind a lock, as a class so closures and threads can share it.
package final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: NIOLockedValueBox<Value>

    package init(_ value: Value) { mutex = NIOLockedValueBox(value) }

    package var value: Value {
        get { mutex.withLockedValue { $0 } }
        set { mutex.withLockedValue { $0 = newValue } }
    }

    @discardableResult
    package func withLockedValue<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try mutex.withLockedValue { try body(&$0) }
    }
}
