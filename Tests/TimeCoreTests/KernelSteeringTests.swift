import TimeCore
import XCTest

/// The system clock driver's plan, checked on a simulated kernel clock (no test touches the real one).
final class KernelSteeringTests: XCTestCase {
    func testStepsOnlyDuringTheFirstUpdates() {
        var steering = KernelSteering(stepThreshold: 0.1, stepLimit: 3)
        XCTAssertEqual(steering.plan(servedMinusSystem: 2.5, frequency: 0).step, 2.5)
        _ = steering.plan(servedMinusSystem: 0, frequency: 0)
        _ = steering.plan(servedMinusSystem: 0, frequency: 0)
        let late = steering.plan(servedMinusSystem: 2.5, frequency: 0)
        XCTAssertNil(late.step, "a running system is never stepped")
        XCTAssertEqual(late.frequencyPPM, 500, accuracy: 1e-9, "slewed at the maximum rate instead")
    }

    func testConvergesOnASimulatedKernel() {
        // The oscillator is 20 ppm slow; served time runs at the discipline's frequency (+20 ppm).
        var steering = KernelSteering(stepThreshold: 0.1, stepLimit: 1)
        let frequency = 20e-6
        var system = 0.05  // system clock 50 ms ahead of served time
        var kernelFrequency = 0.0
        for _ in 0..<600 {
            let plan = steering.plan(servedMinusSystem: -system, frequency: frequency)
            if let step = plan.step { system += step }
            kernelFrequency = plan.frequencyPPM * 1e-6
            // One second passes: served advances at (1 + frequency), the kernel at (1 + kernel frequency).
            system += kernelFrequency - frequency
        }
        XCTAssertLessThan(abs(system), 1e-9)
        XCTAssertEqual(kernelFrequency, frequency, accuracy: 1e-9)
    }

    func testNonFiniteInputChangesNothing() {
        var steering = KernelSteering()
        XCTAssertEqual(steering.plan(servedMinusSystem: .nan, frequency: 0), .init(step: nil, frequencyPPM: 0))
    }
}
