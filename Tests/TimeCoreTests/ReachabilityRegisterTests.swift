import TimeCore
import XCTest

final class ReachabilityRegisterTests: XCTestCase {
    func testShiftsOnPollAndSetsBitZeroOnReceipt() {
        var register = ReachabilityRegister()
        XCTAssertFalse(register.isReachable)
        XCTAssertEqual(register.description, "0")
        for _ in 0..<8 {
            register.poll()
            register.received()
        }
        XCTAssertEqual(register.value, 0o377)
        XCTAssertEqual(register.description, "377")
        XCTAssertEqual(register.answeredPolls, 8)

        register.poll()  // unanswered
        XCTAssertEqual(register.value, 0o376)
        register.received()
        register.received()  // idempotent within a poll
        XCTAssertEqual(register.value, 0o377)
    }

    func testBecomesUnreachableAfterEightSilentPolls() {
        var register = ReachabilityRegister(value: 0o001)
        for poll in 1...8 {
            register.poll()
            XCTAssertEqual(register.isReachable, poll < 8, "after \(poll) silent polls")
        }
        XCTAssertEqual(register.value, 0)
    }

    func testRecoveryReadsLikeChronyc() {
        var register = ReachabilityRegister()
        for _ in 0..<4 {
            register.poll()
            register.received()
        }
        XCTAssertEqual(register.octal, "17")
        register.reset()
        XCTAssertEqual(register.value, 0)
    }
}
