import Foundation
import Node
import XCTest

/// Persistent chrony clients polling a FleetSite while it rotates: one NTS client per node (chrony knows a
/// source by address, and every node's NTS-KE is on 127.0.0.1), and one symmetric-key client polling all
/// three nodes with key 2 of the site's key file. Each runs as `chronyd -x -d` without CAP_SYS_TIME and is
/// stopped by PID. Failures are read from chrony itself: `ntpdata` (sent minus valid replies) and
/// `authdata` (NTS NAKs).
final class ChronyClients {
    struct Counters: Equatable {
        var sent = 0
        var valid = 0
        var naks = 0
        /// Exchanges without a valid reply (one may be in flight).
        var failed: Int { sent - valid }
    }

    let directory: URL
    private(set) var processes: [String: ChronyProcess] = [:]
    private let chronyc: String

    init(site: FleetSite, trust: String? = nil) async throws {
        chronyc = try ExternalTool.require("chronyc", package: "chrony")
        directory = site.directory.appendingPathComponent("chrony-clients")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for index in 0..<3 {
            guard let node = site.cluster.node(index) else { continue }
            try start("nts\(index + 1)", """
                server 127.0.0.1 nts ntsport \(try await node.ntsKEPort()) iburst minpoll -1 maxpoll -1
                ntstrustedcerts \(trust ?? site.siteCA.certificate)
                """)
        }
        let servers = SiblingClusterTests.addresses.map { "server \($0) port \(site.cluster.port) key 2 iburst minpoll -1 maxpoll -1" }
        try start("symmetric", servers.joined(separator: "\n") + "\nkeyfile \(site.cluster.keyFile)")
    }

    private func start(_ name: String, _ config: String) throws {
        let home = directory.appendingPathComponent(name)
        let sockets = home.appendingPathComponent("sock")
        try FileManager.default.createDirectory(at: sockets, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        processes[name] = try ChronyProcess(directory: home, config: config + """

            port 0
            cmdport 0
            bindcmdaddress \(sockets.path)/chronyd.sock
            """)
    }

    private func socket(_ name: String) -> String { directory.appendingPathComponent("\(name)/sock/chronyd.sock").path }

    /// Per client and source ("nts1 127.0.0.1", "symmetric 127.0.0.12").
    func counters() throws -> [String: Counters] {
        var result: [String: Counters] = [:]
        for name in processes.keys.sorted() {
            let ntpdata = try ExternalTool.run(chronyc, ["-h", socket(name), "ntpdata"], timeout: 5).stdout
            var source: String?
            for line in ntpdata.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2 else { continue }
                switch parts[0] {
                case "Remote address": source = "\(name) \(parts[1].split(separator: " ").first ?? "")"
                case "Total TX": if let source { result[source, default: .init()].sent = Int(parts[1]) ?? 0 }
                case "Total valid RX": if let source { result[source, default: .init()].valid = Int(parts[1]) ?? 0 }
                default: break
                }
            }
            if name.hasPrefix("nts") {
                let authdata = try ExternalTool.run(chronyc, ["-h", socket(name), "-c", "authdata"], timeout: 5).stdout
                for line in authdata.split(separator: "\n") {
                    let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                    guard fields.count >= 8 else { continue }
                    result["\(name) \(fields[0])", default: .init()].naks = Int(fields[7]) ?? 0
                }
            }
        }
        return result
    }

    /// Waits until every source has `replies` valid replies.
    func waitForReplies(_ replies: Int, seconds: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let now = try counters()
            if now.count >= 6, now.values.allSatisfy({ $0.valid >= replies }) { return }
            guard Date() < deadline else {
                throw NodeStartError(message: "chrony clients not answered: \(now)\n" + processes.map { "\($0.key): \($0.value.log)" }.joined(separator: "\n"))
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    /// New failures since `before`, per source (a reply still in flight forgiven).
    func failuresSince(_ before: [String: Counters]) throws -> [String: Int] {
        var failures: [String: Int] = [:]
        for (source, now) in try counters() {
            let then = before[source] ?? .init()
            let lost = max(0, (now.failed - then.failed) - 1) + (now.naks - then.naks)
            if lost > 0 { failures[source] = lost }
        }
        return failures
    }

    func stop() {
        for process in processes.values { process.stop() }
        processes = [:]
    }
}
