import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One fleetctl at a time runs rotation steps against an admin host database. The journal alone cannot
/// stop two `rotate resume` (or a resume and an abort) from taking the same steps at once, so each rotation
/// command holds an exclusive `flock(2)` on `<database>.rotation-lock` for as long as it runs. The kernel
/// drops the lock when the process ends, however it ends (a SIGKILLed fleetctl never leaves a stale lock,
/// unlike a PID file), and the holder's PID is written into the file only to name it in the refusal.
public final class RotationLock: @unchecked Sendable {
    // @unchecked: the descriptor is written once in init and only closed in deinit.
    private let descriptor: Int32
    public let path: String

    public struct Held: Error, CustomStringConvertible {
        public var description: String
    }

    public static func path(for store: AdminHostStore) -> String { store.path + ".rotation-lock" }

    /// Takes the lock without waiting; throws `Held` naming the other fleetctl when it is taken.
    public init(for store: AdminHostStore) throws {
        path = Self.path(for: store)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw Held(description: "cannot open the rotation lock \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = Self.holder(fd)
            close(fd)
            if reason == EWOULDBLOCK {
                throw Held(description: "another fleetctl\(holder.map { " (PID \($0))" } ?? "") is running a rotation on \(store.path): wait for it to end (fleetctl rotate status shows its progress)")
            }
            throw Held(description: "cannot lock \(path): \(String(cString: strerror(reason)))")
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    deinit {
        // Emptied before unlocking so the next holder never reads a stale PID; the file itself stays (removing
        // it would race with a process that opened it and is about to lock it).
        _ = ftruncate(descriptor, 0)
        close(descriptor)
    }

    private static func holder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
