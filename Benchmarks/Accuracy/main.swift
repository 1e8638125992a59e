import TimeCore
import TimeSimulation

// Accuracy benchmark (not a test): runs every simulation scenario through the node's TimeKeeper and prints
// its figures, so a change to filters, selection or discipline shows whether accuracy got better or worse.
// `make accuracy`; `accuracy SCENARIO...` runs only the named ones; `--trace N` prints every N seconds.
var arguments = Array(CommandLine.arguments.dropFirst())
var trace: Int?
if let index = arguments.firstIndex(of: "--trace"), index + 1 < arguments.count {
    trace = Int(arguments[index + 1])
    arguments.removeSubrange(index...(index + 1))
}
let names = Set(arguments)
for scenario in SimulationScenario.all where names.isEmpty || names.contains(scenario.name) {
    let start = ContinuousClock.now
    var runner = SimulationRunner(scenario: scenario)
    if let every = trace {
        runner.observer = { second, error, bound, keeper in
            guard Int(second) % every == 0 || (abs(error) > bound && keeper.isSynchronized(at: keeper.discipline.lastUpdate ?? 0)) else { return }
            let t = keeper.tracking(at: keeper.discipline.lastUpdate ?? 0, precision: -20)
            print("t=\(Int(second)) err=\(error * 1e9)ns bound=\(bound * 1e9)ns freq=\(t.frequencyPPM) skew=\(t.skewPPM) pts=\(keeper.discipline.points.count) sel=\(t.selected?.name ?? "-") rms=\(t.rmsOffset * 1e9)")
        }
    }
    let report = runner.run()
    print(report)
    print("  (simulated \(Int(scenario.duration)) s in \(ContinuousClock.now - start))\n")
}
// The regression discipline against an RFC 5905 PLL/FLL on the same pulses (`accuracy compare` runs only this).
if names.isEmpty || names.contains("compare") { DisciplineComparison.run() }
