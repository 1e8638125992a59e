import ConfigFile
import ArgumentParser
import NodeModels
import FleetCrypto
import Foundation
import Logging
import Node

@main
struct FleetNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleetnode",
        abstract: "A GPS-disciplined, authenticated stratum-1 time server node.",
        version: ProductVersion.current,
        subcommands: [Run.self, CheckConfig.self, Status.self, ConfirmStep.self, Version.self, StoreExercise.self],
        defaultSubcommand: Run.self)

    /// OpenSSL's exit cleanup is off before anything uses OpenSSL (see OpenSSLExitCleanup).
    static func main() async {
        OpenSSLExitCleanup.disable()
        await main(nil)
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the node (SIGTERM stops it, SIGHUP reloads its configuration).")

    @Option(name: .shortAndLong, help: "Configuration file.")
    var config = "/etc/fleetnode/fleetnode.toml"

    @Option(name: .shortAndLong, help: "Started as root: run as this user once the ports are bound (overrides [node] user).")
    var user: String?

    func run() async throws {
        let level = LogLevelControl(.info)
        LoggingSystem.bootstrap { label in ControlledLogHandler(label: label, control: level) }
        let logger = Logger(label: "fleetnode")
        let registry = NodeMetrics.bootstrap()
        let daemon: NodeDaemon
        do {
            daemon = try NodeDaemon(configPath: config, logger: logger, logLevel: level, metrics: registry, user: user)
        } catch {
            FileHandle.standardError.write(Data("fleetnode: \(error)\n".utf8))
            throw ExitCode(1)
        }
        do {
            try await daemon.run()
        } catch let error as NodeStartError {
            // A listener that cannot bind or a privilege drop that failed: said plainly, exit 1.
            FileHandle.standardError.write(Data("fleetnode: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config", abstract: "Validate a configuration file without starting the node.")

    @Argument(help: "Configuration file.")
    var file: String

    @Flag(help: "Check the file alone, not the certificates, keys and servers it names (for examples whose files exist only on real nodes).")
    var syntaxOnly = false

    func run() throws {
        do {
            let config = try ConfigLoader.load(file: file)
            let problems = syntaxOnly ? [] : ConfigPreflight.problems(config)
            if !problems.isEmpty {
                FileHandle.standardError.write(Data(problems.map { "\(file): \($0)\n" }.joined().utf8))
                throw ExitCode(1)
            }
            print("\(file): OK (\(config.ntp.listen.count) NTP address(es), \(config.policy.access.rules.count) access rule(s), rate limiting \(config.policy.rateLimit == nil ? "off" : "on"), \(config.refclocks.count) refclock(s), \(config.servers.count) server(s), clock driver \(config.clock.driver.rawValue))")
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a running node's status from its local socket.")

    @Option(name: .shortAndLong, help: "Status socket.")
    var socket = "/run/fleetnode/status.sock"

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() async throws {
        do {
            let status = try await StatusClient.fetch(path: socket)
            print(json ? try StatusReport.json(status) : StatusReport.text(status))
        } catch {
            FileHandle.standardError.write(Data("fleetnode: \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}

struct ConfirmStep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Confirm a held first step (beyond max_first_step) or a reference clock's held jump: sends SIGUSR1 to the node.")

    @Argument(help: "The node's process id.")
    var pid: Int32

    func run() throws {
        guard pid > 1, kill(pid, SIGUSR1) == 0 else {
            FileHandle.standardError.write(Data("fleetnode: cannot signal process \(pid): \(String(cString: strerror(errno)))\n".utf8))
            throw ExitCode(2)
        }
        print("confirmation sent to \(pid); `fleetnode status` shows what the node did")
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the version and the linked system libraries.")

    func run() throws {
        let libraries = LibraryVersions.current()
        print("fleetnode \(ProductVersion.current)")
        print("  TLS:     \(libraries.openSSL)")
        print("  AES:     \(libraries.crypto)")
        print("  gpsd:    libgps API \(libraries.gpsdAPI)")
        print("  SQLite:  \(libraries.sqlite)")
    }
}

/// Hidden: drives a state database with key rotations and measurement batches, printing each write before
/// and after it commits; the kill -9 test runs it (see `StoreExerciser`).
struct StoreExercise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store-exercise", abstract: "Exercise a state database (tests).", shouldDisplay: false)

    @Option(help: "Database file.")
    var database: String

    @Option(help: "Key operations per kind (default: until killed).")
    var writes: Int?

    func run() throws {
        do {
            try StoreExerciser.run(path: database, writes: writes) { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }
        } catch {
            FileHandle.standardError.write(Data("fleetnode: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
