import GPSTestSupport
import CRefclock
import CRefclockTestSupport
import Foundation
import NTPCore
import NIOConcurrencyHelpers
import XCTest

@testable import Refclock

/// PPSDevice's failure modes (there is no /dev/pps* on this machine and no way to load pps modules), plus
/// the PPSPulseSource contract with a simulated source.
final class PPSDeviceTests: XCTestCase {
    func testMissingDeviceIsNotFound() {
        let path = "/dev/pps-refclock-test-\(getpid())"
        XCTAssertThrowsError(try PPSDevice(path: path)) { error in
            XCTAssertEqual(error as? PPSError, .notFound(path: path))
            let message = "\(error)"
            XCTAssertTrue(message.contains(path) && message.contains("does not exist"), message)
        }
    }

    func testDevNullIsNotAPPSDevice() {
        XCTAssertThrowsError(try PPSDevice(path: "/dev/null")) { error in
            guard case .notAPPSDevice(let path, let detail) = error as? PPSError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(path, "/dev/null")
            XCTAssertTrue(detail.contains("PPS_GETCAP"), detail)
            XCTAssertTrue(detail.contains("Inappropriate ioctl"), "ENOTTY: \(detail)")
            XCTAssertTrue("\(error)".hasPrefix("/dev/null is not a PPS device"), "\(error)")
        }
    }

    func testRegularFileAndDirectoryAreNotPPSDevices() throws {
        let directory = try TestDirectory()
        defer { directory.remove() }
        let file = directory.file("not-pps")
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PPSDevice(path: file)) { error in
            guard case .notAPPSDevice(let path, _) = error as? PPSError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, file)
        }
        XCTAssertThrowsError(try PPSDevice(path: directory.path)) { error in
            XCTAssertEqual(error as? PPSError, .notAPPSDevice(path: directory.path, detail: "it is a directory"))
        }
    }

    func testPermissionDeniedIsTyped() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to switch a thread's effective uid") }
        let directory = try TestDirectory()
        defer { directory.remove() }
        let file = directory.file("pps-locked")
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        chmod(file, 0o000)
        chmod(directory.path, 0o755)
        // On a thread of its own: only that thread drops to uid 65534 (raw setresuid), then returns to root.
        let outcome = LockedBox<(Result<PPSDevice, PPSError>?, Int32, Int32)>((nil, -1, -1))
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let dropped = crt_thread_set_euid(65534)
            let result = Result { () throws(PPSError) -> PPSDevice in try PPSDevice(path: file) }
            let restored = crt_thread_set_euid(0)
            outcome.withLockedValue { $0 = (result, dropped, restored) }
            done.signal()
        }
        thread.start()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        let (result, dropped, restored) = outcome.withLockedValue { $0 }
        XCTAssertEqual(dropped, 0)
        XCTAssertEqual(restored, 0)
        XCTAssertEqual(geteuid(), 0, "the test thread never changed")
        switch result {
        case .failure(let error):
            XCTAssertEqual(error, .permissionDenied(path: file))
            XCTAssertTrue(error.description.contains("permission denied"), error.description)
        case .success, .none:
            XCTFail("opened a 0000 file as uid 65534: \(String(describing: result))")
        }
    }

    func testRealDevicesIfPresent() throws {
        // No PPS hardware here; on a machine with one, the real path is exercised (without waiting for pulses).
        guard FileManager.default.fileExists(atPath: "/dev/pps0") else { throw XCTSkip("no /dev/pps0") }
        do {
            let device = try PPSDevice(path: "/dev/pps0")
            XCTAssertTrue(device.capabilities.contains(.captureAssert))
            _ = try? device.fetch(timeout: .zero)
            device.close()
            XCTAssertThrowsError(try device.fetch(timeout: .zero)) { XCTAssertEqual($0 as? PPSError, .closed(path: "/dev/pps0")) }
        } catch PPSError.needsCapSysTime, PPSError.permissionDenied {
            // Both are operator-facing outcomes of an unprivileged run.
        }
    }

    func testErrorMessagesNameThePathAndAFix() {
        let messages = [
            PPSError.needsCapSysTime(path: "/dev/pps1").description,
            PPSError.timeout(path: "/dev/pps1").description,
            PPSError.cannotCaptureAssert(path: "/dev/pps1").description,
            PPSError.system(path: "/dev/pps1", operation: "PPS_FETCH", errno: EIO, message: errnoMessage(EIO)).description,
        ]
        for message in messages { XCTAssertTrue(message.contains("/dev/pps1"), message) }
        XCTAssertTrue(messages[0].contains("CAP_SYS_TIME"))
        XCTAssertTrue(messages[3].contains("Input/output error"))
        XCTAssertEqual(PPSDevice.ioctlError(path: "/x", operation: "PPS_GETCAP", errno: ENOTTY),
                       .notAPPSDevice(path: "/x", detail: "PPS_GETCAP: Inappropriate ioctl for device"))
        XCTAssertEqual(PPSDevice.openError(path: "/x", errno: ENXIO), .notFound(path: "/x"))
    }

    func testSimulatedSourceHonoursTheContract() throws {
        let source = SimulatedPPS(start: UnixTime(seconds: 1_767_323_045, nanoseconds: 17))
        let first = try source.fetch(timeout: .zero)
        XCTAssertEqual(first.sequence, 0, "no pulse yet")
        source.pulse()
        source.pulse()
        let pulse = try source.fetch(timeout: .seconds(1))
        XCTAssertEqual(pulse, PPSPulse(assert: UnixTime(seconds: 1_767_323_046, nanoseconds: 17), sequence: 2))
        XCTAssertThrowsError(try source.fetch(timeout: .milliseconds(20))) {
            XCTAssertEqual($0 as? PPSError, .timeout(path: "simulated"))
        }
    }
}

/// A PPSPulseSource for tests: pulses are made by `pulse()`; fetch with a timeout waits for a new one.
final class SimulatedPPS: PPSPulseSource {
    private let state: NIOLockedValueBox<(next: UnixTime, latest: PPSPulse, fetched: UInt32)>

    init(start: UnixTime) {
        state = NIOLockedValueBox((start, PPSPulse(assert: UnixTime(seconds: 0, nanoseconds: 0), sequence: 0), 0))
    }

    func pulse() {
        state.withLockedValue { state in
            state.latest = PPSPulse(assert: state.next, sequence: state.latest.sequence + 1)
            state.next = state.next.adding(nanoseconds: 1_000_000_000)
        }
    }

    func fetch(timeout: Duration) throws(PPSError) -> PPSPulse {
        let deadline = ContinuousClock.now + timeout
        while true {
            let fresh = state.withLockedValue { state -> PPSPulse? in
                guard timeout == .zero || state.latest.sequence != state.fetched else { return nil }
                state.fetched = state.latest.sequence
                return state.latest
            }
            if let fresh { return fresh }
            if ContinuousClock.now >= deadline { throw .timeout(path: "simulated") }
            usleep(1000)
        }
    }
}
