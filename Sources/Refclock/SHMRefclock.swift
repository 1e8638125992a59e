import CRefclock
import Logging
import NTPCore
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One sample from an NTP shared-memory segment.
public struct SHMSample: Sendable, Hashable {
    /// The reference clock's time of the event (`clockTimeStamp*`), e.g. the GPS second.
    public var reference: UnixTime
    /// The system time of the same event (`receiveTimeStamp*`).
    public var system: UnixTime
    /// The leap indicator the writer set (0 none, 1 insert, 2 delete, 3 unsynchronised).
    public var leap: Int
    /// The writer's precision, log2 seconds (gpsd: -20 for its serial time, -30 for PPS).
    public var precision: Int

    public init(reference: UnixTime, system: UnixTime, leap: Int, precision: Int) {
        self.reference = reference
        self.system = system
        self.leap = leap
        self.precision = precision
    }

    /// `reference - system` in nanoseconds: how far the system clock was behind the reference.
    public var offsetNanoseconds: Int64 { reference.nanoseconds(since: system) }
}

/// Why a shared-memory poll produced no sample.
public enum SHMError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No segment with the unit's key exists (the writer, e.g. gpsd, has not started or runs elsewhere).
    case segmentMissing(unit: Int)
    /// The segment exists but this process may not attach it (gpsd makes units 0 and 1 mode 0600 as root).
    case permissionDenied(unit: Int)
    /// Attaching failed for another reason (for example a segment of the wrong size under that key).
    case attachFailed(unit: Int, errno: Int32, message: String)
    /// No new sample since the last poll (the writer has not set `valid`).
    case notValid
    /// The writer changed the segment while it was being copied; poll again.
    case torn
    /// The segment's mode is neither 0 nor 1: not a segment this protocol understands.
    case badMode(Int)

    public var description: String {
        switch self {
        case .segmentMissing(let unit):
            "NTP shared memory unit \(unit) (key 0x\(String(UInt32(bitPattern: crf_shm_key(Int32(unit))), radix: 16))) does not exist: is gpsd running with this device?"
        case .permissionDenied(let unit):
            "NTP shared memory unit \(unit) exists but cannot be attached: permission denied (units 0 and 1 are root-only)"
        case .attachFailed(let unit, let code, let message):
            "cannot attach NTP shared memory unit \(unit): \(message) (errno \(code))"
        case .notValid:
            "no new sample in the shared memory segment"
        case .torn:
            "the shared memory segment changed while being read"
        case .badMode(let mode):
            "the shared memory segment has unknown mode \(mode)"
        }
    }
}

/// Reads an NTP shared-memory refclock segment (`struct shmTime`, key 0x4E545030 + unit) the way chrony's
/// refclock_shm.c does: copy the segment, accept it only when `count` did not change during the copy
/// (mode 1) and `valid` is set, then clear `valid` so each sample is taken once.
///
/// The segment is attached on the first poll (so a reader may be created before gpsd starts) and stays
/// attached until `detach()` or deinit. SysV shared memory lives in the IPC namespace of the attaching
/// thread: attach (first poll) from the namespace the writer uses.
public final class SHMRefclock: Sendable {
    public struct Statistics: Sendable, Hashable {
        public var samples: UInt64 = 0
        public var notValid: UInt64 = 0
        public var torn: UInt64 = 0
        public var attachFailures: UInt64 = 0
        public init() {}
    }

    /// The attached address (mapped into the whole process, so usable from any thread once attached).
    private struct Segment: @unchecked Sendable {
        let address: UnsafeMutableRawPointer
    }

    private struct State: Sendable {
        var segment: Segment?
        var statistics = Statistics()
        var lastAttachError: SHMError?
    }

    public let unit: Int
    private let logger: Logger
    private let state = NIOLockedValueBox(State())

    public init(unit: Int, logger: Logger = Logger(label: "timefleet.refclock.shm")) {
        self.unit = unit
        var logger = logger
        logger[metadataKey: "shm-unit"] = "\(unit)"
        self.logger = logger
    }

    deinit {
        state.withLockedValue { state in
            if let segment = state.segment { crf_shm_detach(segment.address) }
            state.segment = nil
        }
    }

    /// The key of this unit's segment.
    public var key: Int32 { crf_shm_key(Int32(unit)) }

    public var statistics: Statistics { state.withLockedValue { $0.statistics } }

    public var isAttached: Bool { state.withLockedValue { $0.segment != nil } }

    /// Takes the segment's sample if there is a new one.
    public func poll() throws(SHMError) -> SHMSample {
        try poll(hook: nil, context: nil)
    }

    /// `poll()` that returns nil instead of throwing `.notValid` (no new sample yet) and `.torn` (retry at
    /// the next poll); other errors are thrown.
    public func pollIfNew() throws(SHMError) -> SHMSample? {
        do {
            return try poll()
        } catch .notValid {
            return nil
        } catch .torn {
            return nil
        } catch {
            throw error
        }
    }

    /// For tests: a poll whose copy is followed by `hook(segment, context)` before the count re-check.
    func poll(
        hook: (@convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void)?,
        context: UnsafeMutableRawPointer?
    ) throws(SHMError) -> SHMSample {
        let result: Result<SHMSample, SHMError> = state.withLockedValue { state in
            let segment: Segment
            switch attach(&state) {
            case .success(let attached): segment = attached
            case .failure(let failure): return .failure(failure)
            }
            var sample = crf_shm_sample()
            let status = crf_shm_read_hooked(segment.address, &sample, hook, context)
            switch Int(status) {
            case Int(CRF_SHM_OK):
                state.statistics.samples += 1
                return .success(
                    SHMSample(
                        reference: UnixTime(sample.clock),
                        system: UnixTime(sample.receive),
                        leap: Int(sample.leap),
                        precision: Int(sample.precision)
                    )
                )
            case Int(CRF_SHM_NOT_VALID):
                state.statistics.notValid += 1
                return .failure(.notValid)
            case Int(CRF_SHM_TORN):
                state.statistics.torn += 1
                return .failure(.torn)
            default:
                return .failure(.badMode(Int(sample.mode)))
            }
        }
        return try result.get()
    }

    /// Attaches the segment now rather than at the first poll: a node about to drop root attaches gpsd's
    /// root-only units (0 and 1) while it still may; the attachment outlives the drop.
    public func attach() throws(SHMError) {
        try state.withLockedValue { state in attach(&state).map { _ in () } }.get()
    }

    private func attach(_ state: inout State) -> Result<Segment, SHMError> {
        if let attached = state.segment { return .success(attached) }
        var error: Int32 = 0
        guard let address = crf_shm_attach(Int32(unit), &error) else {
            let failure: SHMError
            switch -error {
            case ENOENT: failure = .segmentMissing(unit: unit)
            case EACCES, EPERM: failure = .permissionDenied(unit: unit)
            default: failure = .attachFailed(unit: unit, errno: -error, message: errnoMessage(-error))
            }
            state.statistics.attachFailures += 1
            if state.lastAttachError != failure {
                logger.warning("\(failure)")
                state.lastAttachError = failure
            }
            return .failure(failure)
        }
        let segment = Segment(address: address)
        state.segment = segment
        state.lastAttachError = nil
        logger.info("attached NTP shared memory unit \(unit)")
        return .success(segment)
    }

    /// Detaches the segment; the next poll attaches again (useful after the writer recreated it).
    public func detach() {
        state.withLockedValue { state in
            if let segment = state.segment { crf_shm_detach(segment.address) }
            state.segment = nil
        }
    }
}
