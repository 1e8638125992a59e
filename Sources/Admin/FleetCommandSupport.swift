import Fleet
import Foundation

/// What fleetctl's fleet commands share, kept out of the executable: loading the inventory with every
/// problem reported, a sweep recorded in the admin host's database, the JSON fleetctl prints.
public enum FleetCommandSupport {
    /// The inventory at the located path, or its problems as lines (for stderr).
    public static func inventory(option: String?, syntaxOnly: Bool = false) -> Result<Inventory, InventoryProblems> {
        InventoryFile.load(path: InventoryFile.locate(option: option, environment: ProcessInfo.processInfo.environment), syntaxOnly: syntaxOnly)
    }

    /// The admin host database the inventory names, else the default place.
    public static func store(for inventory: Inventory) throws -> AdminHostStore {
        try AdminHostStore(path: inventory.database ?? AdminHostStore.defaultPath(environment: ProcessInfo.processInfo.environment))
    }

    public static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "{}"
    }

    /// One sweep: observed, judged, stored (a store that cannot be written is reported, the verdict stands).
    public static func sweep(inventory: Inventory, nodes: [Inventory.Node]) async throws -> (FleetHealth, storeProblem: String?) {
        let access = try InventoryFile.access(for: inventory)
        let health = await HealthSweep(inventory: inventory, access: access, nodes: nodes).run()
        do {
            try store(for: inventory).record(health)
            return (health, nil)
        } catch {
            return (health, "\(error)")
        }
    }
}
