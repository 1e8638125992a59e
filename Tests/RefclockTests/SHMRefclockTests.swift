import GPSTestSupport
import CRefclock
import CRefclockTestSupport
import Foundation
import NTPCore
import XCTest

@testable import Refclock

/// SHMRefclock against segments written by the C test writer, all inside a private IPC namespace so no
/// machine-wide segment is touched. gpsd writing the segments is in GPSDIntegrationTests.
final class SHMRefclockTests: XCTestCase {
    var namespace: IPCNamespace!

    override func setUpWithError() throws {
        do {
            namespace = try IPCNamespace()
        } catch {
            throw XCTSkip("no private IPC namespace here (\(error)); SHM tests would touch machine-wide segments")
        }
    }

    override func tearDown() {
        namespace?.close()
    }

    func testTheNamespaceIsPrivate() throws {
        XCTAssertNotEqual(namespace.namespaceID, IPCNamespace.currentThreadNamespaceID())
        XCTAssertEqual(try namespace.perform { IPCNamespace.currentThreadNamespaceID() }, namespace.namespaceID)
        XCTAssertEqual(crt_shm_segment_size(), 96, "struct shmTime is 96 bytes")
        XCTAssertEqual(UInt32(bitPattern: crf_shm_key(0)), 0x4E54_5030)
        XCTAssertEqual(UInt32(bitPattern: crf_shm_key(2)), 0x4E54_5032)
    }

    func testMissingSegmentIsTypedAndAttachesOnceTheWriterAppears() throws {
        try namespace.perform {
            let reader = SHMRefclock(unit: 4)
            XCTAssertThrowsError(try reader.poll()) { error in
                XCTAssertEqual(error as? SHMError, .segmentMissing(unit: 4))
                XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
            }
            XCTAssertFalse(reader.isAttached)

            var error: Int32 = 0
            let segment = try XCTUnwrap(crt_shm_create(4, &error), "create: \(error)")
            defer {
                crf_shm_detach(segment)
                _ = crt_shm_remove(4)
            }
            XCTAssertThrowsError(try reader.poll()) { XCTAssertEqual($0 as? SHMError, .notValid, "a fresh segment has valid = 0") }
            XCTAssertTrue(reader.isAttached)
            XCTAssertNil(try reader.pollIfNew())

            let reference = crf_time(sec: 1_767_323_045, nsec: 0)
            let system = crf_time(sec: 1_767_323_045, nsec: 50_123_456)
            crt_shm_write(segment, reference, system, 0, -20)
            let sample = try reader.poll()
            XCTAssertEqual(sample.reference, UnixTime(seconds: 1_767_323_045, nanoseconds: 0))
            XCTAssertEqual(sample.system, UnixTime(seconds: 1_767_323_045, nanoseconds: 50_123_456))
            XCTAssertEqual(sample.leap, 0)
            XCTAssertEqual(sample.precision, -20)
            XCTAssertEqual(sample.offsetNanoseconds, -50_123_456)

            // Taken once: valid was cleared.
            XCTAssertThrowsError(try reader.poll()) { XCTAssertEqual($0 as? SHMError, .notValid) }
            crt_shm_write(segment, crf_time(sec: 1_767_323_046, nsec: 0), crf_time(sec: 1_767_323_046, nsec: 49_000_000), 1, -30)
            let next = try XCTUnwrap(try reader.pollIfNew())
            XCTAssertEqual(next.reference.seconds, 1_767_323_046)
            XCTAssertEqual(next.leap, 1)
            XCTAssertEqual(next.precision, -30)
            let stats = reader.statistics
            XCTAssertEqual(stats.samples, 2)
            XCTAssertEqual(stats.notValid, 3)
            XCTAssertEqual(stats.attachFailures, 1)
        }
    }

    func testATornReadIsRejectedAndValidIsKept() throws {
        try namespace.perform {
            var error: Int32 = 0
            let segment = try XCTUnwrap(crt_shm_create(5, &error))
            defer {
                crf_shm_detach(segment)
                _ = crt_shm_remove(5)
            }
            crt_shm_write(segment, crf_time(sec: 100, nsec: 0), crf_time(sec: 100, nsec: 1000), 0, -20)
            let reader = SHMRefclock(unit: 5)
            // The hook runs between the copy and the count re-check: a writer starting an update.
            XCTAssertThrowsError(try reader.poll(hook: { segment, _ in crt_shm_bump_count(segment) }, context: nil)) {
                XCTAssertEqual($0 as? SHMError, .torn)
            }
            XCTAssertNil(try reader.pollIfNew(hook: { segment, _ in crt_shm_bump_count(segment) }))
            XCTAssertEqual(reader.statistics.torn, 2)
            // valid was not cleared by the torn reads, so the sample is still there for a clean read.
            let sample = try reader.poll()
            XCTAssertEqual(sample.reference, UnixTime(seconds: 100, nanoseconds: 0))
            XCTAssertEqual(sample.system, UnixTime(seconds: 100, nanoseconds: 1000))
        }
    }

    func testMicrosecondWritersAndMode0AndBadModes() throws {
        try namespace.perform {
            var error: Int32 = 0
            let segment = try XCTUnwrap(crt_shm_create(6, &error))
            defer {
                crf_shm_detach(segment)
                _ = crt_shm_remove(6)
            }
            let reader = SHMRefclock(unit: 6)
            // An old writer that fills only the microsecond fields: the nanosecond fields disagree and are ignored.
            crt_shm_write(segment, crf_time(sec: 200, nsec: 123_456_000), crf_time(sec: 200, nsec: 654_321_000), 0, -20)
            segment.storeBytes(of: UInt32(0), toByteOffset: 52, as: UInt32.self)   // clockTimeStampNSec
            segment.storeBytes(of: UInt32(7), toByteOffset: 56, as: UInt32.self)   // receiveTimeStampNSec
            let sample = try reader.poll()
            XCTAssertEqual(sample.reference, UnixTime(seconds: 200, nanoseconds: 123_456_000))
            XCTAssertEqual(sample.system, UnixTime(seconds: 200, nanoseconds: 654_321_000))

            // Mode 0: no count protocol, a count change during the copy does not matter.
            crt_shm_write(segment, crf_time(sec: 300, nsec: 5), crf_time(sec: 300, nsec: 6), 0, -20)
            segment.storeBytes(of: Int32(0), toByteOffset: 0, as: Int32.self)
            let plain = try reader.poll(hook: { segment, _ in crt_shm_bump_count(segment) }, context: nil)
            XCTAssertEqual(plain.reference, UnixTime(seconds: 300, nanoseconds: 5))

            // An unknown mode is refused, never trusted.
            crt_shm_write(segment, crf_time(sec: 400, nsec: 0), crf_time(sec: 400, nsec: 0), 0, -20)
            segment.storeBytes(of: Int32(7), toByteOffset: 0, as: Int32.self)
            XCTAssertThrowsError(try reader.poll()) { XCTAssertEqual($0 as? SHMError, .badMode(7)) }
        }
    }

    func testPermissionDeniedIsTyped() throws {
        try namespace.perform {
            var error: Int32 = 0
            let segment = try XCTUnwrap(crt_shm_create(1, &error), "mode 0600, owned by this (root) user")
            defer {
                crf_shm_detach(segment)
                _ = crt_shm_remove(1)
            }
            guard getuid() == 0 else { throw XCTSkip("needs root to switch this thread's effective uid") }
            XCTAssertEqual(crt_thread_set_euid(65534), 0)
            let reader = SHMRefclock(unit: 1)
            let result = Result { try reader.poll() }
            XCTAssertEqual(crt_thread_set_euid(0), 0, "root again")
            XCTAssertEqual(geteuid(), 0)
            XCTAssertThrowsError(try result.get()) { error in
                XCTAssertEqual(error as? SHMError, .permissionDenied(unit: 1))
                XCTAssertTrue("\(error)".contains("permission denied"), "\(error)")
            }
            // As root the same reader attaches.
            XCTAssertThrowsError(try reader.poll()) { XCTAssertEqual($0 as? SHMError, .notValid) }
        }
    }
}

extension SHMRefclock {
    /// `pollIfNew` with the test hook.
    func pollIfNew(hook: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void) throws -> SHMSample? {
        do {
            return try poll(hook: hook, context: nil)
        } catch .notValid, .torn {
            return nil
        }
    }
}
