import ConfigFile
import Fleet

/// One libFuzzer input: the text of a TOML file, read as the node's configuration (`ConfigLoader.parse`,
/// what `fleetnode check-config --syntax-only` and `run` load) and as the fleet inventory
/// (`InventoryReader.read`, what fleetctl loads). Checks: nothing traps or hangs; each reader gives a value
/// or its typed error (`ConfigError`, `InventoryProblems` with at least one problem), every error naming the
/// file and, when it has one, a line of the file; reading is deterministic; what the node reads holds the
/// rules the loader promises (unique source names, minpoll <= maxpoll, absolute paths).
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: count), as: UTF8.self)
    let lines = text.utf8.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    func checkLocated(_ error: ConfigError, file: String) {
        precondition(error.file == file, "an error naming another file: \(error)")
        if let line = error.line { precondition((1...lines).contains(line), "an error on line \(line) of a \(lines)-line file: \(error)") }
        precondition(!error.message.isEmpty, "an error without a message")
    }

    let nodeFile = "/etc/fleetnode/fleetnode.toml"
    let node = Result { () throws(ConfigError) in try ConfigLoader.parse(text: text, file: nodeFile) }
    switch node {
    case .success(let config):
        let names = config.refclocks.map(\.name) + config.servers.map(\.name) + config.siblings.map(\.name)
        precondition(Set(names).count == names.count, "two sources with one name")
        precondition(config.servers.allSatisfy { $0.minPoll <= $0.maxPoll } && config.siblings.allSatisfy { $0.minPoll <= $0.maxPoll }, "minpoll above maxpoll")
        precondition(config.keyFile.map { $0.hasPrefix("/") } ?? true, "a relative key file path")
        precondition(config.nts.map { $0.certificate.hasPrefix("/") && $0.privateKey.hasPrefix("/") } ?? true, "a relative NTS path")
        precondition(!config.ntp.listen.isEmpty, "no NTP address")
        precondition(config.siblings.isEmpty || config.keyFile != nil, "siblings without a key file")
    case .failure(let error):
        checkLocated(error, file: nodeFile)
    }
    precondition(Result { () throws(ConfigError) in try ConfigLoader.parse(text: text, file: nodeFile) } == node, "reading the node's configuration twice differed")

    let inventoryFile = "/etc/fleet/fleet.toml"
    switch InventoryReader.read(text: text, file: inventoryFile) {
    case .success(let inventory):
        let names = inventory.nodes.map(\.name)
        precondition(Set(names).count == names.count, "two nodes with one name")
        precondition(inventory.credentials.certificate.map { $0.hasPrefix("/etc/fleet/") || $0.hasPrefix("/") } ?? true, "a credential path not resolved")
    case .failure(let problems):
        precondition(!problems.problems.isEmpty, "an inventory refused without a problem")
        for problem in problems.problems { checkLocated(problem, file: inventoryFile) }
    }
    return 0
}
