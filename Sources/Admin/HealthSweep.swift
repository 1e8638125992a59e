import Fleet
import Foundation

/// `fleetctl health`: every node of the inventory looked at in parallel (at most `sweep_concurrency` at
/// once, each within `sweep_deadline`), then judged together by `HealthRules`. One dead or hanging node
/// costs the sweep its deadline and never delays the verdict on the others beyond it.
public struct HealthSweep: Sendable {
    public var inventory: Inventory
    public var access: SweepAccess
    /// Which nodes (default: all of the inventory).
    public var nodes: [Inventory.Node]

    public init(inventory: Inventory, access: SweepAccess, nodes: [Inventory.Node]? = nil) {
        self.inventory = inventory
        self.access = access
        self.nodes = nodes ?? inventory.nodes
    }

    /// The observations, in inventory order.
    public func observe() async -> [NodeObservation] {
        let deadline = Duration.milliseconds(Int64(inventory.thresholds.sweepDeadline * 1000))
        let limit = max(1, inventory.thresholds.sweepConcurrency)
        var results: [Int: NodeObservation] = [:]
        await withTaskGroup(of: (Int, NodeObservation).self) { group in
            var next = 0
            func start() {
                let index = next
                let probe = NodeProbe(node: nodes[index], inventory: inventory, access: access, deadline: .now + deadline)
                group.addTask { (index, await probe.observe()) }
                next += 1
            }
            while next < min(limit, nodes.count) { start() }
            while let (index, observation) = await group.next() {
                results[index] = observation
                if next < nodes.count { start() }
            }
        }
        return nodes.indices.compactMap { results[$0] }
    }

    /// Observe and judge.
    public func run() async -> FleetHealth { await observeAndJudge().health }

    /// The verdicts and the observations behind them (the site report shows both).
    public func observeAndJudge() async -> (health: FleetHealth, observations: [NodeObservation]) {
        let started = Date()
        let clock = ContinuousClock.now
        let observations = await observe()
        let elapsed = ContinuousClock.now - clock
        let health = HealthRules.judge(
            inventory: inventory, observations: observations, now: started.timeIntervalSince1970,
            elapsed: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, only: nodes.map(\.name))
        return (health, observations)
    }
}
