import CRefclock
import Logging
import NTPCore
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One captured pulse: the system time of the assert edge and the kernel's running count of asserts.
public struct PPSPulse: Sendable, Hashable {
    /// System time (CLOCK_REALTIME) of the assert edge, as the kernel captured it.
    public var assert: UnixTime
    /// The kernel's assert counter; it increases by one per pulse, 0 before the first pulse.
    public var sequence: UInt32

    public init(assert: UnixTime, sequence: UInt32) {
        self.assert = assert
        self.sequence = sequence
    }
}

/// Anything that delivers pulses the way RFC 2783's `time_pps_fetch` does: the latest assert event,
/// waiting at most `timeout` for a new one. `PPSDevice` is the kernel one; tests and simulators provide
/// their own.
public protocol PPSPulseSource: Sendable {
    func fetch(timeout: Duration) throws(PPSError) -> PPSPulse
}

/// Why a PPS device cannot be used, worded for an operator.
public enum PPSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path does not exist (no such device: kernel PPS support not loaded, wrong N, device unplugged).
    case notFound(path: String)
    /// The device exists but this process may not open it.
    case permissionDenied(path: String)
    /// The path is not an RFC 2783 PPS device (the PPS ioctls are not understood, e.g. ENOTTY).
    case notAPPSDevice(path: String, detail: String)
    /// The device cannot capture assert edges (its capabilities lack PPS_CAPTUREASSERT).
    case cannotCaptureAssert(path: String)
    /// Assert capture is off and turning it on needs CAP_SYS_TIME (Linux asks for it on PPS_SETPARAMS).
    case needsCapSysTime(path: String)
    /// No pulse within the timeout.
    case timeout(path: String)
    /// The fetch was interrupted by a signal.
    case interrupted(path: String)
    /// The device was closed.
    case closed(path: String)
    /// Another system error.
    case system(path: String, operation: String, errno: Int32, message: String)

    public var description: String {
        switch self {
        case .notFound(let path):
            "PPS device \(path) does not exist: check the device number and that the kernel PPS client (pps-gpio, pps-ldisc) is loaded"
        case .permissionDenied(let path):
            "PPS device \(path): permission denied; give the node's user read access to it (for example a udev rule)"
        case .notAPPSDevice(let path, let detail):
            "\(path) is not a PPS device (\(detail)); point the node at a /dev/ppsN device"
        case .cannotCaptureAssert(let path):
            "PPS device \(path) cannot capture assert edges"
        case .needsCapSysTime(let path):
            "PPS device \(path) has assert capture off, and enabling it needs CAP_SYS_TIME; enable it once with ppstest or a privileged helper"
        case .timeout(let path):
            "no pulse from PPS device \(path) within the timeout: is the receiver's PPS output connected and does it have a fix?"
        case .interrupted(let path):
            "waiting for a pulse from \(path) was interrupted"
        case .closed(let path):
            "PPS device \(path) is closed"
        case .system(let path, let operation, let code, let message):
            "PPS device \(path): \(operation) failed: \(message) (errno \(code))"
        }
    }
}

/// An RFC 2783 PPS device (`/dev/ppsN`) through the Linux PPS ioctls: opened, checked with PPS_GETCAP,
/// assert capture enabled (PPS_SETPARAMS, only if it is not already on), pulses read with PPS_FETCH.
public final class PPSDevice: PPSPulseSource {
    /// What the device can do (PPS_GETCAP).
    public struct Capabilities: OptionSet, Sendable, Hashable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let captureAssert = Capabilities(rawValue: Int32(CRF_PPS_CAPTUREASSERT))
        public static let captureClear = Capabilities(rawValue: Int32(CRF_PPS_CAPTURECLEAR))
        public static let canWait = Capabilities(rawValue: Int32(CRF_PPS_CANWAIT))
        public static let timespecFormat = Capabilities(rawValue: Int32(CRF_PPS_TSFMT_TSPEC))
    }

    public let path: String
    public let capabilities: Capabilities
    private let logger: Logger
    /// The descriptor, -1 once closed. Held during a fetch, so `close()` waits for a fetch in progress
    /// (at most its timeout) and a descriptor is never used after it was closed.
    private let descriptor: NIOLockedValueBox<Int32>

    /// Opens and prepares the device. Throws `PPSError` with an operator-readable description.
    public init(path: String, logger: Logger = Logger(label: "timefleet.refclock.pps")) throws(PPSError) {
        self.path = path
        var logger = logger
        logger[metadataKey: "pps"] = "\(path)"
        self.logger = logger
        let fd = crf_pps_open(path)
        if fd < 0 {
            throw Self.openError(path: path, errno: -fd)
        }
        var caps: Int32 = 0
        let capStatus = crf_pps_getcap(fd, &caps)
        if capStatus < 0 {
            crf_close(fd)
            throw Self.ioctlError(path: path, operation: "PPS_GETCAP", errno: -capStatus)
        }
        capabilities = Capabilities(rawValue: caps)
        guard capabilities.contains(.captureAssert) else {
            crf_close(fd)
            throw PPSError.cannotCaptureAssert(path: path)
        }
        let enableStatus = crf_pps_enable_assert(fd)
        if enableStatus < 0 {
            crf_close(fd)
            if -enableStatus == EPERM {
                throw PPSError.needsCapSysTime(path: path)
            }
            throw Self.ioctlError(path: path, operation: "PPS_SETPARAMS", errno: -enableStatus)
        }
        descriptor = NIOLockedValueBox(fd)
        logger.info("PPS device open, capabilities 0x\(String(caps, radix: 16))")
    }

    deinit {
        close()
    }

    /// The latest assert event, waiting at most `timeout` for a new one (RFC 2783 `time_pps_fetch`; zero
    /// returns the latest event at once). A pulse whose `sequence` equals the previous one is not new.
    public func fetch(timeout: Duration) throws(PPSError) -> PPSPulse {
        let result: Result<PPSPulse, PPSError> = descriptor.withLockedValue { fd in
            guard fd >= 0 else { return .failure(.closed(path: path)) }
            var time = crf_time()
            var sequence: UInt32 = 0
            let status = crf_pps_fetch(fd, max(0, timeout.saturatingNanoseconds), &time, &sequence)
            if status < 0 {
                switch -status {
                case ETIMEDOUT: return .failure(.timeout(path: path))
                case EINTR: return .failure(.interrupted(path: path))
                default: return .failure(Self.ioctlError(path: path, operation: "PPS_FETCH", errno: -status))
                }
            }
            return .success(PPSPulse(assert: UnixTime(time), sequence: sequence))
        }
        return try result.get()
    }

    /// Closes the device; later fetches throw `.closed`.
    public func close() {
        descriptor.withLockedValue { fd in
            if fd >= 0 {
                crf_close(fd)
                fd = -1
            }
        }
    }

    static func openError(path: String, errno code: Int32) -> PPSError {
        switch code {
        case ENOENT, ENXIO, ENODEV: .notFound(path: path)
        case EACCES, EPERM: .permissionDenied(path: path)
        case EISDIR: .notAPPSDevice(path: path, detail: "it is a directory")
        default: .system(path: path, operation: "open", errno: code, message: errnoMessage(code))
        }
    }

    static func ioctlError(path: String, operation: String, errno code: Int32) -> PPSError {
        switch code {
        case ENOTTY, EINVAL, ENOSYS, EOPNOTSUPP:
            .notAPPSDevice(path: path, detail: "\(operation): \(errnoMessage(code))")
        case EACCES, EPERM: .permissionDenied(path: path)
        case ENODEV, ENXIO: .notFound(path: path)
        default: .system(path: path, operation: operation, errno: code, message: errnoMessage(code))
        }
    }
}
