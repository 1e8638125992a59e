// Test support: a private SysV IPC namespace for tests that start gpsd. gpsd creates the NTP shared-memory
// segments (keys 0x4E545030 + unit) machine-wide; inside a namespace of our own they neither collide with a
// real time daemon's nor outlive the test (the namespace and its segments vanish with its last process and
// thread).
//
// Linux namespaces belong to threads: unshare(CLONE_NEWIPC) moves only the calling thread (and the threads
// and processes it creates afterwards). The Swift test process already runs many threads, so this type
// owns one dedicated thread that unshares and then runs the jobs given to `perform`: spawn gpsd from it, and
// attach SHM segments from it.
import GPSTestSupport
import CRefclock
import CRefclockTestSupport
import Foundation
import Synchronization

final class IPCNamespace: Sendable {
    enum Failure: Error, CustomStringConvertible {
        case unshareFailed(Int32)
        var description: String {
            switch self {
            case .unshareFailed(let code): "unshare(CLONE_NEWIPC) failed: \(String(cString: strerror(code))) (needs CAP_SYS_ADMIN)"
            }
        }
    }

    private struct Job: @unchecked Sendable {
        let run: () -> Void
    }

    private let jobs = LockedBox<[Job]>([])
    private let available = DispatchSemaphore(value: 0)
    private let stopped = LockedBox(false)
    /// The namespace's identity (inode of /proc/thread-self/ns/ipc on the worker thread).
    let namespaceID: Int64

    /// Starts the worker thread and moves it into a new IPC namespace.
    init() throws {
        let ready = DispatchSemaphore(value: 0)
        let outcome = LockedBox<(Int32, Int64)>((0, 0))
        let jobs = self.jobs
        let available = self.available
        let stopped = self.stopped
        let thread = Thread {
            let status = crt_unshare_ipc()
            outcome.withLockedValue { $0 = (status, crt_ipc_namespace_id()) }
            ready.signal()
            guard status == 0 else { return }
            while true {
                available.wait()
                let next = jobs.withLockedValue { $0.isEmpty ? nil : $0.removeFirst() }
                if let next { next.run() }
                if stopped.value && jobs.value.isEmpty { return }
            }
        }
        thread.name = "ipc-namespace"
        thread.start()
        ready.wait()
        let (status, id) = outcome.value
        guard status == 0 else { throw Failure.unshareFailed(-status) }
        namespaceID = id
    }

    /// Runs `body` on the namespace's thread and returns its result (blocking the caller meanwhile).
    func perform<T>(_ body: @escaping () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, any Error>?
        let job = Job {
            result = Result { try body() }
            done.signal()
        }
        jobs.withLockedValue { $0.append(job) }
        available.signal()
        done.wait()
        return try result!.get()
    }

    /// Ends the worker thread (after queued jobs). Processes started from it keep the namespace alive
    /// until they exit.
    func close() {
        stopped.value = true
        available.signal()
    }

    /// The IPC namespace of the calling thread (for comparisons in tests).
    static func currentThreadNamespaceID() -> Int64 { crt_ipc_namespace_id() }

    /// The IPC namespace a process is in, from /proc/PID/ns/ipc (nil when it cannot be read).
    static func namespaceID(ofProcess pid: Int32) -> Int64? {
        var info = stat()
        guard stat("/proc/\(pid)/ns/ipc", &info) == 0 else { return nil }
        return Int64(info.st_ino)
    }
}
