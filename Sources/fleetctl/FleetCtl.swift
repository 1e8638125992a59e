import Admin
import ArgumentParser
import Fleet
import Foundation
import NTPCore

@main
struct FleetCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleetctl",
        abstract: "Look after a fleet of time servers.",
        version: ProductVersion.current,
        subcommands: [Query.self])
}

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask an NTP server for the time once and show offset, delay and what it says about itself.")

    @Argument(help: "Server as HOST, HOST:PORT or [IPv6]:PORT.")
    var server: String

    @Option(name: .shortAndLong, help: "Port, when SERVER does not give one.")
    var port: UInt16 = 123

    @Option(help: "Seconds to wait for the answer.")
    var timeout: Double = 2

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func validate() throws {
        guard timeout > 0, timeout <= 60 else { throw ValidationError("--timeout must be between 0 and 60 seconds") }
    }

    func run() throws {
        let endpoint: SocketEndpoint
        do {
            endpoint = try SocketEndpoint(parsing: server, defaultPort: port)
        } catch {
            throw ValidationError(error.description)
        }
        let client = NTPQueryClient(server: endpoint, timeoutMilliseconds: Int32(timeout * 1000))
        do {
            let measurement = try client.query()
            print(json ? try QueryReport.json(server: endpoint, measurement: measurement)
                       : QueryReport.text(server: endpoint, measurement: measurement))
        } catch {
            FileHandle.standardError.write(Data("fleetctl: \(endpoint): \(error)\n".utf8))
            throw ExitCode(2)
        }
    }
}
