// Test support: child processes (gpsd, gpsfake) started with posix_spawn in a process group of their own,
// stopped by that group's id (SIGTERM, then SIGKILL) and never by name. Every process still running at exit
// is killed by an atexit hook. Depends only on Glibc, Foundation and Synchronization (copyable as is).
import Foundation
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#endif

/// A child process in its own process group (pgid = pid), so `terminate()` reaches its children too
/// (gpsfake's gpsd, timeout's command) without touching anything else on the machine.
package final class TestProcess: Sendable {
    package let pid: pid_t
    package let arguments: [String]
    /// Where stdout and stderr go.
    package let logPath: String
    private let reaped = NIOLockedValueBox<Int32?>(nil)

    package enum SpawnError: Error, CustomStringConvertible {
        case spawnFailed(String, Int32)
        package var description: String {
            switch self {
            case .spawnFailed(let program, let code): "cannot start \(program): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Starts `arguments` (looked up in PATH) with stdin from /dev/null and output appended to `logPath`.
    /// Namespaces (IPC, ...) are inherited from the calling thread.
    package init(_ arguments: [String], logPath: String) throws {
        precondition(!arguments.isEmpty)
        self.arguments = arguments
        self.logPath = logPath
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)
        )
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let status = posix_spawnp(&child, arguments[0], &actions, &attributes, argv, environ)
        guard status == 0 else { throw SpawnError.spawnFailed(arguments[0], status) }
        pid = child
        TestProcessRegistry.shared.add(child)
    }

    /// True until the process has exited (and been reaped).
    package var isRunning: Bool {
        reap(blocking: false) == nil
    }

    /// The exit status word, once exited.
    package var exitStatus: Int32? { reap(blocking: false) }

    /// Polls for exit until `timeout`; true when the process exited.
    package func waitForExit(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if reap(blocking: false) != nil { return true }
            usleep(20_000)
        }
        return reap(blocking: false) != nil
    }

    /// SIGTERM to the whole group, SIGKILL after `grace`; waits until the leader is reaped and the group is
    /// empty (or 3 s more have passed). Safe to call repeatedly.
    package func terminate(grace: Duration = .seconds(2)) {
        if reap(blocking: false) == nil {
            kill(-pid, SIGTERM)
            if !waitForExit(timeout: grace) {
                kill(-pid, SIGKILL)
                _ = waitForExit(timeout: .seconds(3))
            }
        }
        // Children of the leader (gpsd under gpsfake) share the group: make sure none is left.
        if kill(-pid, 0) == 0 {
            kill(-pid, SIGTERM)
            let deadline = ContinuousClock.now + grace
            while kill(-pid, 0) == 0 && ContinuousClock.now < deadline { usleep(20_000) }
            if kill(-pid, 0) == 0 { kill(-pid, SIGKILL) }
        }
        TestProcessRegistry.shared.remove(pid)
    }

    /// The process's output so far.
    package var output: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    private func reap(blocking: Bool) -> Int32? {
        reaped.withLockedValue { status in
            if let status { return status }
            var word: Int32 = 0
            let result = waitpid(pid, &word, blocking ? 0 : WNOHANG)
            if result == pid {
                status = word
                return word
            }
            if result < 0 && errno == ECHILD {
                status = -1
                return -1
            }
            return nil
        }
    }
}

/// Process groups started by tests, killed at exit if a test failed to stop them.
package final class TestProcessRegistry: Sendable {
    package static let shared = TestProcessRegistry()
    private let groups = NIOLockedValueBox<Set<pid_t>>([])

    private init() {
        atexit {
            TestProcessRegistry.shared.killAll()
        }
    }

    package func add(_ pid: pid_t) { groups.withLockedValue { _ = $0.insert(pid) } }
    package func remove(_ pid: pid_t) { groups.withLockedValue { _ = $0.remove(pid) } }

    package func killAll() {
        let pids = groups.withLockedValue { groups -> Set<pid_t> in
            let all = groups
            groups.removeAll()
            return all
        }
        for pid in pids { kill(-pid, SIGKILL) }
    }
}

/// A temporary directory for one test, removed by `remove()`.
package struct TestDirectory: Sendable {
    package let path: String

    package init(prefix: String = "refclock-test") throws {
        var template = Array((NSTemporaryDirectory() + "/\(prefix).XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw TestProcess.SpawnError.spawnFailed("mkdtemp", errno)
        }
        path = String(cString: created)
    }

    package func file(_ name: String) -> String { path + "/" + name }

    package func remove() { try? FileManager.default.removeItem(atPath: path) }
}
