import Fleet
import Foundation
import NodeModels

/// Gathers what `fleetctl report` shows: one health sweep (inside and outside), then each node's stored
/// clock history for the last `hours` through its admin API, in parallel.
public enum SiteReportCollector {
    public static func collect(inventory: Inventory, access: SweepAccess, hours: Double) async -> SiteReport {
        let (health, observations) = await HealthSweep(inventory: inventory, access: access).observeAndJudge()
        let started = health.time
        let since = started - hours * 3_600
        var histories: [String: Result<AdminHistory, ProbeFailure>] = [:]
        await withTaskGroup(of: (String, Result<AdminHistory, ProbeFailure>).self) { group in
            for node in inventory.nodes {
                group.addTask {
                    guard let credentials = access.admin else { return (node.name, .failure(ProbeFailure(.local, "no admin credentials"))) }
                    do throws(AdminClientError) {
                        let client = try AdminClient(
                            node: node.admin.description, credentials: credentials, serverName: node.adminServerName,
                            timeout: .milliseconds(Int64(inventory.thresholds.sweepDeadline * 1000)))
                        let path = "\(AdminPath.history)?since=\(Int(since))&until=\(Int(started) + 1)&limit=1500"
                        return (node.name, .success(try await client.get(path, as: AdminHistory.self)))
                    } catch {
                        return (node.name, .failure(ProbeFailure(error.kind, error.description)))
                    }
                }
            }
            for await (name, result) in group { histories[name] = result }
        }
        return SiteReport.make(health: health, observations: observations, histories: histories, generated: started, hours: hours)
    }
}
